/**
 * How gradients are combined across data-parallel ranks before clipping (OLMo: FSDP's
 * reduce-scatter/all-reduce averages them). The trainer talks to this interface only, so a
 * data-parallel or ZeRO strategy plugs in without touching the training loop; with one process
 * gradients pass through unchanged.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Combines each rank's summed micro-batch gradients into the gradients every rank applies. */
export interface GradientSync {
  /** A short name for logs, e.g. `local`. */
  readonly name: string;
  /**
   * Returns the averaged gradients by parameter name. Takes ownership of `grads` (it may return
   * the same tensors, or new ones after disposing the inputs); the caller owns the result.
   */
  syncGradients(grads: Map<string, tf.Tensor>): Promise<Map<string, tf.Tensor>>;
}

/** One process: the gradients are already the world's. */
export const LOCAL_GRADIENT_SYNC: GradientSync = {
  name: "local",
  syncGradients: (grads) => Promise.resolve(grads),
};
