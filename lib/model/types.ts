/**
 * The model's public types: construction and forward-pass options, the forward pass's output,
 * the output head and a layer's key/value cache entry.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A (key, value) cache entry of one block, each (B, kv heads, S_total, hd); keys un-rotated. */
export type KeyValue = [tf.Tensor4D, tf.Tensor4D];

/** Construction options. */
export interface OlmoOptions {
  /** Seed for initialisation and dropout; random when omitted. */
  seed?: number;
  /** Draw initial weights (default true). `false` zero-fills them, e.g. before loading a state dict. */
  init?: boolean;
}

/** Options of `Olmo.forward` (OLMo's keyword arguments plus the training flag). */
export interface ForwardOptions {
  /** (B, S_total) padding mask, 1 = attend, 0 = masked; S_total = past + input length. */
  attentionMask?: tf.Tensor2D;
  /** Additive float bias, or bool/int32 allow-mask, (1|B, 1|n_heads, ≥S_total, ≥S_total) or 2-D. */
  attentionBias?: tf.Tensor;
  /** One (k, v) pair per layer from an earlier call with `useCache`. Not disposed here. */
  pastKeyValues?: KeyValue[];
  /** Return each layer's (k, v) (past + new, keys un-rotated). */
  useCache?: boolean;
  /** Compute logits for the last position only. */
  lastLogitsOnly?: boolean;
  /** Training mode: dropout active (OLMo `model.train()`). Default false (eval). */
  training?: boolean;
}

/** The output projection of `Olmo.outputHead`: `logits = (hidden · weightᵀ + bias) · scale`. */
export interface OutputHead {
  /** (embedding_size, d_model): `wte` when tied, else `ff_out`. */
  weight: tf.Tensor2D;
  /** (embedding_size,) `ff_out.bias`, when untied with biases. */
  bias?: tf.Tensor1D;
  /** `1/√d_model` under `scale_logits`, else 1. */
  scale: number;
}

/** Result of `Olmo.forward`; the caller owns (and disposes) every tensor. */
export interface OlmoOutput {
  /** (B, S or 1, embedding_size) unnormalised next-token scores. */
  logits: tf.Tensor3D;
  /** Per layer (k, v), each (B, kv heads, S_total, hd), or null without `useCache`. */
  attnKeyValues: KeyValue[] | null;
}
