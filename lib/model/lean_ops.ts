/**
 * Reshape and add with gradients that keep no tensor alive.
 *
 * tfjs' own gradients of `Reshape`, `Add` and `Sub` save their inputs only to read their
 * shapes, which keeps every reshaped or added activation alive until backprop ends. These
 * versions capture the shapes instead; the model uses them on its training path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leanGradient } from "../util/lean_grad.ts";

/** Sums `dy` down to `shape` (reverses broadcasting); leading axes go through a ones matmul. */
export function sumToShape(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const lead = dy.rank - shape.length;
  const padded = [...new Array(lead).fill(1), ...shape];
  const axes = padded.flatMap((d, i) => (d === 1 && dy.shape[i] !== 1 ? [i] : []));
  if (axes.length === 0) return tf.reshape(dy, shape);
  const leadingOnly = axes.every((a, i) => a === i);
  if (leadingOnly) {
    // (R, rest) column sums as one matmul: wasm's reduction over a leading axis transposes first.
    const rows = axes.reduce((p, a) => p * dy.shape[a], 1);
    const rest = dy.size / rows;
    const summed = tf.matMul(tf.ones([1, rows]), tf.reshape(dy, [rows, rest]));
    return tf.reshape(summed, shape);
  }
  return tf.reshape(tf.sum(dy, axes, true), shape);
}

/** `tf.reshape` whose gradient remembers the input shape instead of saving the input. */
export function leanReshape(x: tf.Tensor, shape: number[]): tf.Tensor {
  const inShape = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.reshape(args[0] as tf.Tensor, shape),
    gradFunc: leanGradient((dy) => tf.reshape(dy, inShape)),
  }));
  return op(x) as tf.Tensor;
}

/** `a + b` (broadcasting) whose gradient keeps neither input. */
export function leanAdd(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const aShape = a.shape;
  const bShape = b.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.add(args[0] as tf.Tensor, args[1] as tf.Tensor),
    gradFunc: leanGradient((dy) => [sumToShape(dy, aShape), sumToShape(dy, bShape)]),
  }));
  return op(a, b) as tf.Tensor;
}
