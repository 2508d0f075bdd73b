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
  );
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
 * - parallel: `q, k, v, ff = split(fused_attn_ff_proj(norm(x)))`; `out = x + drop(ff_out(act(ff))) + drop(att)`
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
  const h = norm(x, p, "attn_norm", ctx);
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  if (config.block_type === "llama") {
    q = proj(h, p, "q_proj");
    k = proj(h, p, "k_proj");
    v = proj(h, p, "v_proj");
  } else {
    [q, k, v] = tf.split(proj(h, p, "att_proj"), [dims.d, dims.kvDim, dims.kvDim], -1);
  }
  const { att, present } = attention(q, k, v, p, layerPast, useCache, ctx);
  const afterAttn = leanAdd(x, drop(att));
  const ff = proj(norm(afterAttn, p, "ff_norm", ctx), p, "ff_proj");
  return { x: leanAdd(afterAttn, drop(mlpOut(ff, p, ctx))), present };
}
