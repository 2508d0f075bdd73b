/**
 * An independent, deliberately naive OLMo forward pass in plain JavaScript (float64 arrays,
 * explicit loops), written from the spec (§2.3-2.6) for option tests. It supports every
 * architecture option but no cache: the cache is tested against full forwards.
 *
 * @module
 */
import type { ModelConfig } from "../lib/config/model_config.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";

type Vec = number[];

/** erf with |error| < 1e-12 (Taylor series near 0, continued fraction for the tail). */
export function erfReference(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    // erf z = 2/√π Σ (-1)^n z^(2n+1) / (n! (2n+1))
    let term = z;
    let sum = z;
    for (let n = 1; n < 100; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc z = exp(-z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...))))
    let frac = 0;
    for (let n = 60; n >= 1; n--) frac = (n / 2) / (z + frac);
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + frac);
  }
  return x < 0 ? -r : r;
}

function getter(state: NamedHostTensors) {
  return (name: string): { shape: number[]; data: Float32Array } | undefined => {
    const t = state.get(name);
    return t ? { shape: t.shape, data: toFloat32(t) } : undefined;
  };
}

/** y = W x + b for W (out, in) row-major. */
function linear(x: Vec, w: { shape: number[]; data: Float32Array }, b?: { data: Float32Array }) {
  const [out, inp] = w.shape;
  const y = new Array(out).fill(0);
  for (let o = 0; o < out; o++) {
    let s = b ? b.data[o] : 0;
    for (let i = 0; i < inp; i++) s += w.data[o * inp + i] * x[i];
    y[o] = s;
  }
  return y;
}

function norm(
  x: Vec,
  type: string,
  w?: { data: Float32Array },
  b?: { data: Float32Array },
  eps = 1e-5,
): Vec {
  const n = x.length;
  let y: Vec;
  if (type === "rms") {
    const ms = x.reduce((a, v) => a + v * v, 0) / n;
    y = x.map((v) => v / Math.sqrt(ms + eps));
  } else {
    const mean = x.reduce((a, v) => a + v, 0) / n;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
    y = x.map((v) => (v - mean) / Math.sqrt(variance + eps));
  }
  return y.map((v, i) => (w ? v * w.data[i] : v) + (b ? b.data[i] : 0));
}

function act(h: Vec, type: string): Vec {
  if (type === "relu") return h.map((v) => Math.max(0, v));
  if (type === "gelu") return h.map((v) => 0.5 * v * (1 + erfReference(v / Math.SQRT2)));
  const half = h.length / 2;
  return h.slice(0, half).map((v, i) => {
    const g = h[half + i];
    return v * (g / (1 + Math.exp(-g)));
  });
}

function rope(x: Vec, pos: number, theta: number): Vec {
  const hd = x.length;
  const half = hd / 2;
  const out = new Array(hd);
  for (let i = 0; i < half; i++) {
    const angle = pos / Math.pow(theta, (2 * i) / hd);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

/**
 * Logits [B][S][E] of the model described by `config` and `state` for `ids` [B][S], with an
 * optional padding `mask` [B][S] (1 = keep). Fully masked attention rows attend uniformly to
 * every position, as OLMo's float-min bias makes them. OLMo later's options: `n_kv_heads`
 * (query head h reads kv head `floor(h / (n_heads / kv))`), `clip_qkv`, `rope_theta`,
 * `layer_norm_eps`, `embedding_layer_norm` (before positions are added) and `norm_after`.
 */
export function referenceForward(
  config: ModelConfig,
  state: NamedHostTensors,
  ids: number[][],
  mask?: number[][],
): number[][][] {
  const p = getter(state);
  const need = (name: string) => {
    const t = p(name);
    if (!t) throw new Error(`reference: missing ${name}`);
    return t;
  };
  const d = config.d_model;
  const nh = config.n_heads;
  const hd = d / nh;
  const kvHeads = config.n_kv_heads ?? (config.multi_query_attention ? 1 : nh);
  const kv = kvHeads * hd;
  const eps = config.layer_norm_eps;
  const theta = config.rope_theta;
  const clip = (v: Vec) => {
    const c = config.clip_qkv;
    return c === null ? v : v.map((x) => Math.min(c, Math.max(-c, x)));
  };
  const hidden = config.mlp_hidden_size ?? config.mlp_ratio * d;
  const lnType = config.layer_norm_type;
  const wte = need("transformer.wte.weight");
  const E = wte.shape[0];
  const slopes = Array.from({ length: nh }, (_, h) => 2 ** (-(h + 1) * config.alibi_bias_max / nh));

  return ids.map((row, b) => {
    const S = row.length;
    let xs: Vec[] = row.map((id, t) => {
      let x = Array.from(wte.data.subarray(id * d, (id + 1) * d));
      if (config.embedding_layer_norm) {
        x = norm(x, lnType, p("transformer.emb_norm.weight"), p("transformer.emb_norm.bias"), eps);
      }
      if (!config.alibi && !config.rope) {
        const wpe = need("transformer.wpe.weight");
        for (let i = 0; i < d; i++) x[i] += wpe.data[t * d + i];
      }
      return x;
    });
    for (let layer = 0; layer < config.n_layers; layer++) {
      const g = config.block_group_size;
      const pre = g > 1
        ? `transformer.block_groups.${Math.floor(layer / g)}.${layer % g}.`
        : `transformer.blocks.${layer}.`;
      const P = (n: string) => p(pre + n);
      const attend = (qs: Vec[], ks: Vec[], vs: Vec[]): Vec[] => {
        if (config.attention_layer_norm) {
          qs = qs.map((q) => norm(q, lnType, P("q_norm.weight"), P("q_norm.bias"), eps));
          ks = ks.map((k) => norm(k, lnType, P("k_norm.weight"), P("k_norm.bias"), eps));
        }
        const outs: Vec[] = [];
        for (let i = 0; i < S; i++) {
          const o = new Array(d).fill(0);
          for (let h = 0; h < nh; h++) {
            const kh = Math.floor(h / (nh / kvHeads));
            let q = qs[i].slice(h * hd, (h + 1) * hd);
            if (config.rope) q = rope(q, i, theta);
            const logits: number[] = [];
            const allowed: boolean[] = [];
            for (let j = 0; j < S; j++) {
              let k = ks[j].slice(kh * hd, (kh + 1) * hd);
              if (config.rope) k = rope(k, j, theta);
              let s = q.reduce((a, v, c) => a + v * k[c], 0) / Math.sqrt(hd);
              if (config.alibi) s += -Math.abs(j - i) * slopes[h];
              logits.push(s);
              allowed.push(j <= i && (!mask || mask[b][j] !== 0));
            }
            const anyAllowed = allowed.some((a) => a);
            const m = Math.max(...logits.filter((_, j) => !anyAllowed || allowed[j]));
            const w = logits.map((s, j) => (!anyAllowed ? 1 : allowed[j] ? Math.exp(s - m) : 0));
            const z = w.reduce((a, v) => a + v, 0);
            for (let j = 0; j < S; j++) {
              for (let c = 0; c < hd; c++) o[h * hd + c] += (w[j] / z) * vs[j][kh * hd + c];
            }
          }
          outs.push(linear(o, P("attn_out.weight")!, P("attn_out.bias")));
        }
        return outs;
      };
      const mlp = (h: Vec) =>
        linear(act(h, config.activation_type), P("ff_out.weight")!, P("ff_out.bias"));
      if (config.block_type === "parallel") {
        const fused = xs.map((x) =>
          linear(
            norm(x, lnType, P("norm.weight"), P("norm.bias")),
            P("fused_attn_ff_proj.weight")!,
            P("fused_attn_ff_proj.bias"),
          )
        );
        const att = attend(
          fused.map((f) => f.slice(0, d)),
          fused.map((f) => f.slice(d, d + kv)),
          fused.map((f) => f.slice(d + kv, d + 2 * kv)),
        );
        xs = xs.map((x, t) => {
          const ff = mlp(fused[t].slice(d + 2 * kv, d + 2 * kv + hidden));
          return x.map((v, i) => v + ff[i] + att[t][i]);
        });
      } else {
        const after = config.norm_after;
        const attnNorm = (x: Vec) =>
          norm(x, lnType, P("attn_norm.weight"), P("attn_norm.bias"), eps);
        const ffNorm = (x: Vec) => norm(x, lnType, P("ff_norm.weight"), P("ff_norm.bias"), eps);
        const hs = after ? xs : xs.map(attnNorm);
        let qs: Vec[], ks: Vec[], vs: Vec[];
        if (config.block_type === "llama") {
          qs = hs.map((h) => clip(linear(h, P("q_proj.weight")!, P("q_proj.bias"))));
          ks = hs.map((h) => clip(linear(h, P("k_proj.weight")!, P("k_proj.bias"))));
          vs = hs.map((h) => clip(linear(h, P("v_proj.weight")!, P("v_proj.bias"))));
        } else {
          const qkv = hs.map((h) => clip(linear(h, P("att_proj.weight")!, P("att_proj.bias"))));
          qs = qkv.map((f) => f.slice(0, d));
          ks = qkv.map((f) => f.slice(d, d + kv));
          vs = qkv.map((f) => f.slice(d + kv, d + 2 * kv));
        }
        let att = attend(qs, ks, vs);
        if (after) att = att.map(attnNorm);
        xs = xs.map((x, t) => x.map((v, i) => v + att[t][i]));
        xs = xs.map((x) => {
          let ff = mlp(linear(after ? x : ffNorm(x), P("ff_proj.weight")!, P("ff_proj.bias")));
          if (after) ff = ffNorm(ff);
          return x.map((v, i) => v + ff[i]);
        });
      }
    }
    return xs.map((x) => {
      const h = norm(x, lnType, p("transformer.ln_f.weight"), p("transformer.ln_f.bias"), eps);
      const logits = config.weight_tying
        ? linear(h, wte)
        : linear(h, need("transformer.ff_out.weight"), p("transformer.ff_out.bias"));
      if (logits.length !== E) throw new Error("reference: logits width mismatch");
      return config.scale_logits ? logits.map((v) => v / Math.sqrt(d)) : logits;
    });
  });
}
