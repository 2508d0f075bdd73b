/**
 * `nn.Linear` with OLMo's weight layout: `y = x·Wᵀ + b`, W stored as [out, in].
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Applies a linear layer to `x` of shape (..., in) with `weight` (out, in) and optional `bias`
 * (out,), returning (..., out). The matmul runs on a 2-D view with `transposeB`, which the wasm
 * backend helper routes to its fast non-transposed kernel.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => {
    const [out, inp] = weight.shape;
    const lead = x.shape.slice(0, -1);
    if (x.shape[x.shape.length - 1] !== inp) {
      throw new Error(`linear: input width ${x.shape[x.shape.length - 1]} != weight in ${inp}`);
    }
    let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, inp]), weight, false, true); // (N, out)
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [...lead, out]);
  });
}
