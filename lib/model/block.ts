/**
 * Transformer blocks (OLMo `OlmoSequentialBlock`, `OlmoParallelBlock`, `OlmoLlamaBlock`):
 * sequential (the default), parallel (PaLM-style, one fused input projection) and llama
 * (sequential with separate q/k/v projections).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { activation } from "./activation.ts";
import { attention } from "./attention.ts";
import type { BlockParams, ForwardContext } from "./context.ts";
import type { KeyValue } from "./types.ts";
import { layerNorm } from "./layer_norm.ts";
import { leanAdd } from "./lean_ops.ts";
import { linear } from "./linear.ts";

function norm(x: tf.Tensor, p: BlockParams, name: string, ctx: ForwardContext): tf.Tensor {
  return layerNorm(
    x,
    ctx.config.layer_norm_type,
    p(`${name}.weight`) as tf.Tensor1D | undefined,
    p(`${name}.bias`) as tf.Tensor1D | undefined,
    ctx.config.layer_norm_eps,
  );
}

/**
 * OLMo later's `clip_qkv`: `x.clamp(-c, c)`. Like torch's clamp, the gradient passes where
 * `-c <= x <= c` and is zero where the value was clamped.
 */
function clipQkv(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
  const c = ctx.config.clip_qkv;
  return c === null ? x : tf.clipByValue(x, -c, c);
}

function proj(x: tf.Tensor, p: BlockParams, name: string): tf.Tensor {
  return linear(x, p(`${name}.weight`) as tf.Tensor2D, p(`${name}.bias`) as tf.Tensor1D);
}

/** `ff_out(act(h))` on the MLP hidden activations h (B, T, H) → (B, T, d_model). */
function mlpOut(h: tf.Tensor, p: BlockParams, ctx: ForwardContext): tf.Tensor {
  return proj(activation(h, ctx.config.activation_type), p, "ff_out");
}

/**
 * Runs block `p` on x (B, T, d_model) and returns the new x and, with `useCache`, the block's
 * (k, v) cache entry.
 * - sequential / llama: `h = x + drop(attn(attn_norm(x)))`; `out = h + drop(ff_out(act(ff_proj(ff_norm(h)))))`
 * - sequential with `norm_after` (OLMo 2): `h = x + drop(attn_norm(attn(x)))`;
 *   `out = h + drop(ff_norm(ff_out(act(ff_proj(h)))))`
 * - parallel: `q, k, v, ff = split(fused_attn_ff_proj(norm(x)))`; `out = x + drop(ff_out(act(ff))) + drop(att)`
 *
 * With `clip_qkv`, the fused q/k/v projection (sequential) or each of q, k, v (llama) is clamped.
 */
export function blockForward(
  x: tf.Tensor,
  p: BlockParams,
  layerPast: KeyValue | null,
  useCache: boolean,
  ctx: ForwardContext,
): { x: tf.Tensor; present: KeyValue | null } {
  const { config, dims } = ctx;
  const drop = (t: tf.Tensor) => ctx.dropout(t, config.residual_dropout);
  if (config.block_type === "parallel") {
    const fused = proj(norm(x, p, "norm", ctx), p, "fused_attn_ff_proj");
    const [q, k, v, ff] = tf.split(fused, [dims.d, dims.kvDim, dims.kvDim, dims.hidden], -1);
    const { att, present } = attention(q, k, v, p, layerPast, useCache, ctx);
    const out = leanAdd(leanAdd(x, drop(mlpOut(ff, p, ctx))), drop(att));
    return { x: out, present };
  }
  const after = config.norm_after;
  const h = after ? x : norm(x, p, "attn_norm", ctx);
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  if (config.block_type === "llama") {
    q = clipQkv(proj(h, p, "q_proj"), ctx);
    k = clipQkv(proj(h, p, "k_proj"), ctx);
    v = clipQkv(proj(h, p, "v_proj"), ctx);
  } else {
    const qkv = clipQkv(proj(h, p, "att_proj"), ctx); // (B, T, d + 2·kv)
    [q, k, v] = tf.split(qkv, [dims.d, dims.kvDim, dims.kvDim], -1);
  }
  const { att, present } = attention(q, k, v, p, layerPast, useCache, ctx);
  const afterAttn = leanAdd(x, drop(after ? norm(att, p, "attn_norm", ctx) : att));
  const ffIn = after ? afterAttn : norm(afterAttn, p, "ff_norm", ctx);
  const ff = mlpOut(proj(ffIn, p, "ff_proj"), p, ctx);
  return { x: leanAdd(afterAttn, drop(after ? norm(ff, p, "ff_norm", ctx) : ff)), present };
}
