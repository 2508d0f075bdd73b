/**
 * `nn.Linear` with OLMo's weight layout: `y = x·Wᵀ + b`, W stored as [out, in].
 *
 * One custom op (reshapes included) whose gradient is written out as autodiff would compute
 * it, except that the bias gradient is a matmul with a ones row instead of tfjs' column sum
 * (slow on wasm, which transposes first), and that only the 2-D input and the weight are kept
 * for the backward pass, freed as soon as it has used them (`leanGradient`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leanGradient } from "../util/lean_grad.ts";

/** The linear op with or without a bias input, as a custom op over x of any rank. */
function linearOp(withBias: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const w = args[1] as tf.Tensor2D;
    const b = withBias ? args[2] as tf.Tensor1D : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [out, inp] = w.shape;
    const inShape = x.shape;
    const x2d = tf.reshape(x, [-1, inp]) as tf.Tensor2D; // (N, in)
    save([x2d, w]);
    let y: tf.Tensor = tf.matMul(x2d, w, false, true); // (N, out)
    if (b) y = tf.add(y, b);
    return {
      value: tf.reshape(y, [...inShape.slice(0, -1), out]),
      gradFunc: leanGradient((dy, saved) => {
        const [xs, ws] = saved as tf.Tensor2D[];
        const dy2d = tf.reshape(dy, [-1, out]) as tf.Tensor2D; // (N, out)
        const dx = tf.reshape(tf.matMul(dy2d, ws), inShape); // (N, in) → x's shape
        const dw = tf.matMul(dy2d, xs, true, false); // (out, in)
        if (!withBias) return [dx, dw];
        const db = tf.reshape(tf.matMul(tf.ones([1, dy2d.shape[0]]), dy2d), [out]); // (out,)
        return [dx, dw, db];
      }),
    };
  });
}

const linearNoBias = linearOp(false);
const linearWithBias = linearOp(true);

/**
 * Applies a linear layer to `x` of shape (..., in) with `weight` (out, in) and optional `bias`
 * (out,), returning (..., out). The matmul runs on a 2-D view with `transposeB`, which the wasm
 * and native backends run without materialising the transpose.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const inp = weight.shape[1];
  if (x.shape[x.shape.length - 1] !== inp) {
    throw new Error(`linear: input width ${x.shape[x.shape.length - 1]} != weight in ${inp}`);
  }
  return bias ? linearWithBias(x, weight, bias) : linearNoBias(x, weight);
}
