/**
 * Layouts that must interchange with OLMo: parameter names, shapes and registration order
 * written out by hand from the spec's table (§2.2) for configurations the fixtures do not cover
 * (llama + MQA + QK-norm, parallel + block groups + QK-norm without affine, no LayerNorm affine),
 * and the KV-cache layout (§2.3-2.4): (B, n_heads or 1, S, hd) holding un-rotated keys.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { Olmo } from "../lib/model/mod.ts";
import { Rng } from "../lib/model/random.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";
import { tinyConfig } from "./_model_fixture.ts";
import { idsTensor, randomIds, randomizeParams } from "./_model_random.ts";

tf.env().set("PROD", true);

// tinyConfig: d_model 16, n_heads 2 (hd 8), mlp_ratio 2 (H 32), vocab 40, embedding_size 128,
// max_sequence_length 32.
const LAYOUTS: [string, Partial<ModelConfig>, [string, number[]][]][] = [
  [
    "llama, MQA, QK-norm with affine, biases but no LayerNorm bias, untied",
    {
      block_type: "llama",
      rope: true,
      multi_query_attention: true,
      attention_layer_norm: true,
      include_bias: true,
      bias_for_layer_norm: false,
      weight_tying: false,
      n_layers: 1,
    },
    [
      ["transformer.wte.weight", [128, 16]],
      ["transformer.ln_f.weight", [16]],
      ["transformer.blocks.0.k_norm.weight", [8]],
      ["transformer.blocks.0.q_norm.weight", [16]],
      ["transformer.blocks.0.attn_out.weight", [16, 16]],
      ["transformer.blocks.0.attn_out.bias", [16]],
      ["transformer.blocks.0.ff_out.weight", [16, 16]],
      ["transformer.blocks.0.ff_out.bias", [16]],
      ["transformer.blocks.0.attn_norm.weight", [16]],
      ["transformer.blocks.0.ff_norm.weight", [16]],
      ["transformer.blocks.0.q_proj.weight", [16, 16]],
      ["transformer.blocks.0.q_proj.bias", [16]],
      ["transformer.blocks.0.k_proj.weight", [8, 16]],
      ["transformer.blocks.0.k_proj.bias", [8]],
      ["transformer.blocks.0.v_proj.weight", [8, 16]],
      ["transformer.blocks.0.v_proj.bias", [8]],
      ["transformer.blocks.0.ff_proj.weight", [32, 16]],
      ["transformer.blocks.0.ff_proj.bias", [32]],
      ["transformer.ff_out.weight", [128, 16]],
      ["transformer.ff_out.bias", [128]],
    ],
  ],
  [
    "parallel, block groups of 2, QK-norm without affine, LayerNorm bias without include_bias",
    {
      block_type: "parallel",
      block_group_size: 2,
      attention_layer_norm: true,
      attention_layer_norm_with_affine: false,
      include_bias: false,
      bias_for_layer_norm: true,
      weight_tying: true,
    },
    [
      ["transformer.wte.weight", [128, 16]],
      ["transformer.ln_f.weight", [16]],
      ["transformer.ln_f.bias", [16]],
      ...[0, 1].flatMap((j): [string, number[]][] => [
        [`transformer.block_groups.0.${j}.attn_out.weight`, [16, 16]],
        [`transformer.block_groups.0.${j}.ff_out.weight`, [16, 16]],
        [`transformer.block_groups.0.${j}.norm.weight`, [16]],
        [`transformer.block_groups.0.${j}.norm.bias`, [16]],
        [`transformer.block_groups.0.${j}.fused_attn_ff_proj.weight`, [16 + 2 * 16 + 32, 16]],
      ]),
      ["transformer.wpe.weight", [32, 16]],
    ],
  ],
  [
    "sequential gelu, no LayerNorm affine, biases, tied, embedding_size null",
    {
      activation_type: "gelu",
      layer_norm_with_affine: false,
      include_bias: true,
      weight_tying: true,
      embedding_size: null,
      n_layers: 1,
    },
    [
      ["transformer.wte.weight", [40, 16]],
      ["transformer.blocks.0.attn_out.weight", [16, 16]],
      ["transformer.blocks.0.attn_out.bias", [16]],
      ["transformer.blocks.0.ff_out.weight", [16, 32]],
      ["transformer.blocks.0.ff_out.bias", [16]],
      ["transformer.blocks.0.att_proj.weight", [48, 16]],
      ["transformer.blocks.0.att_proj.bias", [48]],
      ["transformer.blocks.0.ff_proj.weight", [32, 16]],
      ["transformer.blocks.0.ff_proj.bias", [32]],
      ["transformer.wpe.weight", [32, 16]],
    ],
  ],
];

for (const [label, overrides, expected] of LAYOUTS) {
  Deno.test(`parameter names, shapes and order as OLMo's (§2.2): ${label}`, () => {
    const model = new Olmo(tinyConfig(overrides), { init: false });
    assert.deepEqual([...model.params].map(([name, v]) => [name, v.shape]), expected);
    model.dispose();
  });
}

/** LayerNorm over one vector (eps 1e-5), with optional affine. */
function layerNormRef(x: number[], w?: Float32Array, b?: Float32Array): number[] {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * (w?.[i] ?? 1) + (b?.[i] ?? 0));
}

for (const mqa of [false, true]) {
  Deno.test(`KV cache layout${mqa ? " (MQA)" : ""}: (B, heads, S, hd), keys not rotated`, async () => {
    const config = tinyConfig({ rope: true, multi_query_attention: mqa, n_layers: 1 });
    const model = new Olmo(config, { init: false });
    const state = randomizeParams(model, 17);
    const ids = randomIds(new Rng(2), 2, 5, config.vocab_size);
    const idsT = idsTensor(ids);
    const out = model.forward(idsT, { useCache: true });
    const [k, v] = out.attnKeyValues![0];
    const heads = mqa ? 1 : 2;
    assert.deepEqual(k.shape, [2, heads, 5, 8]);
    assert.deepEqual(v.shape, [2, heads, 5, 8]);
    const [gotK, gotV] = [await k.array(), await v.array()] as number[][][][][];
    // Layer 0 keys/values: att_proj(attn_norm(wte[id])) split as q | k | v, per head, no RoPE.
    const get = (n: string) => toFloat32(state.get(n)!);
    const wte = get("transformer.wte.weight");
    const nw = get("transformer.blocks.0.attn_norm.weight");
    const nb = get("transformer.blocks.0.attn_norm.bias");
    const w = get("transformer.blocks.0.att_proj.weight");
    const bias = get("transformer.blocks.0.att_proj.bias");
    const kv = heads * 8;
    let worst = 0;
    ids.forEach((row, b) =>
      row.forEach((id, t) => {
        const h = layerNormRef(Array.from(wte.subarray(id * 16, id * 16 + 16)), nw, nb);
        const proj = (r: number) => bias[r] + h.reduce((a, x, c) => a + w[r * 16 + c] * x, 0);
        for (let head = 0; head < heads; head++) {
          for (let c = 0; c < 8; c++) {
            const kRef = proj(16 + head * 8 + c);
            const vRef = proj(16 + kv + head * 8 + c);
            worst = Math.max(worst, Math.abs(gotK[b][head][t][c] - kRef));
            worst = Math.max(worst, Math.abs(gotV[b][head][t][c] - vRef));
          }
        }
      })
    );
    assert.ok(worst < 1e-4, `cached k/v differ from the un-rotated projections by ${worst}`);
    // A cache of another layout is refused rather than misread.
    const next = idsTensor([[1], [2]]);
    assert.throws(
      () => model.forward(next, { pastKeyValues: [] }),
      /pastKeyValues has 0 entries, expected 1/,
    );
    const wrongHeads = tf.tidy(() => mqa ? tf.concat([k, k], 1) : tf.slice(k, 0, [-1, 1]));
    const otherHeads = 3 - heads;
    const shapes = `\\[2,${otherHeads},5,8\\], expected \\[2,${heads},5,8\\]`;
    assert.throws(
      () => model.forward(next, { pastKeyValues: [[wrongHeads as tf.Tensor4D, v]] }),
      new RegExp(`pastKeyValues\\[0\\] key has shape ${shapes}`),
    );
    tf.dispose([next, wrongHeads]);
    tf.dispose([idsT, out.logits, ...out.attnKeyValues!.flat()]);
    model.dispose();
  });
}
