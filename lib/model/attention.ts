/**
 * Multi-head, grouped-query or multi-query self-attention with an additive bias, KV cache,
 * QK-norm and RoPE (OLMo `OlmoBlock.attention`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { attentionCore, scores, weightedValues } from "./attention_core.ts";
import type { BlockParams, ForwardContext } from "./context.ts";
import type { KeyValue } from "./types.ts";
import { leanReshape } from "./lean_ops.ts";
import { layerNorm } from "./layer_norm.ts";
import { linear } from "./linear.ts";
import { applyRope } from "./rope.ts";

/** Splits (B, T, heads·hd) into (B, heads, T, hd). */
function splitHeads(x: tf.Tensor, heads: number, headDim: number): tf.Tensor4D {
  const [b, t] = x.shape;
  if (heads === 1) return leanReshape(x, [b, 1, t, headDim]) as tf.Tensor4D;
  return tf.transpose(leanReshape(x, [b, t, heads, headDim]) as tf.Tensor4D, [0, 2, 1, 3]);
}

/**
 * Attention of one block, including the `attn_out` projection.
 * `q` is (B, T, d_model); `k`, `v` are (B, T, kv) with kv = kvHeads · hd. Query head h uses
 * key/value head `floor(h / (n_heads / kvHeads))` (torch's `repeat_interleave`).
 * Returns the (B, T, d_model) output and, when `useCache`, the block's present (k, v): the
 * past concatenated with the new keys/values **before** RoPE.
 */
export function attention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  p: BlockParams,
  layerPast: KeyValue | null,
  useCache: boolean,
  ctx: ForwardContext,
): { att: tf.Tensor; present: KeyValue | null } {
  const { config, dims } = ctx;
  const [b, t] = q.shape;
  if (config.attention_layer_norm) {
    const type = config.layer_norm_type;
    const eps = config.layer_norm_eps;
    const [qw, qb] = [p("q_norm.weight"), p("q_norm.bias")] as (tf.Tensor1D | undefined)[];
    const [kw, kb] = [p("k_norm.weight"), p("k_norm.bias")] as (tf.Tensor1D | undefined)[];
    q = layerNorm(q, type, qw, qb, eps); // over the whole d_model
    k = layerNorm(k, type, kw, kb, eps); // over the whole kv width
  }
  let qh = splitHeads(q, dims.nHeads, dims.headDim); // (B, nh, T, hd)
  let kh = splitHeads(k, dims.kvHeads, dims.headDim); // (B, kvh, T, hd)
  let vh = splitHeads(v, dims.kvHeads, dims.headDim); // (B, kvh, T, hd)
  if (layerPast) {
    kh = tf.concat([layerPast[0], kh], 2); // (B, kvh, K, hd)
    vh = tf.concat([layerPast[1], vh], 2);
  }
  const present: KeyValue | null = useCache ? [kh, vh] : null;
  if (ctx.rope) {
    qh = applyRope(qh, ctx.rope.qSin, ctx.rope.qCos);
    kh = applyRope(kh, ctx.rope.kSin, ctx.rope.kCos);
  }
  let out: tf.Tensor4D; // (B, nh, T, hd)
  if (ctx.training && config.attention_dropout > 0) {
    // softmax(q·kᵀ/√hd + bias) in float32; q is scaled first (fewer elements than the scores).
    const qScaled = tf.mul(qh, 1 / Math.sqrt(dims.headDim)) as tf.Tensor4D;
    const logits = tf.add(scores(qScaled, kh), ctx.bias) as tf.Tensor4D; // (B, nh, T, K)
    const probs = tf.softmax(logits) as tf.Tensor4D;
    out = weightedValues(ctx.dropout(probs, config.attention_dropout) as tf.Tensor4D, vh);
  } else {
    out = attentionCore(qh, kh, vh, ctx.bias); // the same computation with a lean gradient
  }
  const merged = leanReshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, dims.d]); // (B, T, C)
  const att = linear(
    merged,
    p("attn_out.weight") as tf.Tensor2D,
    p("attn_out.bias") as tf.Tensor1D | undefined,
  );
  return { att, present };
}
