/**
 * Embedding lookup with a gradient that works on every backend.
 *
 * `tf.gather`'s gradient is `UnsortedSegmentSum`, which the wasm backend lacks and the cpu backend
 * runs pathologically slowly. The custom gradient scatters the incoming
 * gradient rows back with `scatterND`, which sums duplicate ids on every backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leanGradient } from "../util/lean_grad.ts";

/**
 * Returns `weight[ids]`: (..., D) rows of the (V, D) table for integer ids of any shape.
 * The gradient flows to `weight` only (ids are not differentiable).
 */
export function embedding(weight: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const idsInt = ids.dtype === "int32" ? ids : tf.cast(ids, "int32");
  const flatIds = tf.reshape(idsInt, [-1]); // (N,)
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const w = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    save([flatIds]);
    return {
      value: tf.reshape(tf.gather(w, flatIds), [...ids.shape, w.shape[1]]), // (..., D)
      gradFunc: leanGradient((dy, saved) => {
        const [vocab, dim] = w.shape;
        // (N, 1) indices into the (V, D) gradient; duplicates are summed.
        const rows = tf.reshape(dy, [-1, dim]); // (N, D)
        return tf.scatterND(tf.expandDims(saved[0], 1), rows, [vocab, dim]);
      }),
    };
  });
  return lookup(weight);
}
