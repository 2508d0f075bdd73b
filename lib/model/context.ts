/**
 * What every block needs besides its own parameters during one forward pass.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../config/model_config.ts";
import type { ModelDims } from "./dims.ts";

/** A block's parameter by its name relative to the block prefix (e.g. `att_proj.weight`). */
export type BlockParams = (suffix: string) => tf.Tensor | undefined;

/** Shared per-forward state. */
export interface ForwardContext {
  /** The model config. */
  config: ModelConfig;
  /** Derived sizes. */
  dims: ModelDims;
  /** Additive attention bias (1|B, 1|n_heads, Q, K) from `buildAttentionBias`. */
  bias: tf.Tensor4D;
  /** RoPE angles for queries (positions K-Q..K-1) and keys (0..K-1), each (len, hd/2). */
  rope: { qSin: tf.Tensor2D; qCos: tf.Tensor2D; kSin: tf.Tensor2D; kCos: tf.Tensor2D } | null;
  /** Training mode (dropout active). */
  training: boolean;
  /** Applies dropout with probability `rate` in training mode; the identity otherwise. */
  dropout: (x: tf.Tensor, rate: number) => tf.Tensor;
}
