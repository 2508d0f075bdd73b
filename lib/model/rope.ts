/**
 * Rotary position embeddings, GPT-NeoX half-split style (OLMo `olmo/model.py` `RotaryEmbedding`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leanGradient } from "../util/lean_grad.ts";

/**
 * sin and cos of the rotation angles for positions `start .. start+count-1`, each (count, hd/2):
 * angle[p][i] = p · inv_freq[i] with `inv_freq[i] = 1 / theta^(2i/hd)` (theta: OLMo later's
 * `rope_theta`, 10000 before), rounded to float32 at each step as OLMo computes them in float32.
 * (OLMo's tables repeat these halves twice.)
 */
export function ropeTables(
  headDim: number,
  start: number,
  count: number,
  theta = 10_000,
): { sin: Float32Array; cos: Float32Array } {
  const half = headDim / 2;
  const f = Math.fround;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = f(1 / f(Math.pow(theta, f((2 * i) / headDim))));
  const sin = new Float32Array(count * half);
  const cos = new Float32Array(count * half);
  for (let p = 0; p < count; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f((start + p) * invFreq[i]);
      sin[p * half + i] = Math.sin(angle);
      cos[p * half + i] = Math.cos(angle);
    }
  }
  return { sin, cos };
}

/** Angle tensors for positions `start .. start+count-1`: sin and cos, each (count, hd/2). */
export function ropeAngles(
  headDim: number,
  start: number,
  count: number,
  theta = 10_000,
): { sin: tf.Tensor2D; cos: tf.Tensor2D } {
  const { sin, cos } = ropeTables(headDim, start, count, theta);
  return {
    sin: tf.tensor2d(sin, [count, headDim / 2]),
    cos: tf.tensor2d(cos, [count, headDim / 2]),
  };
}

/**
 * Rotates `t` (B, h, T, hd) with per-position `sin`/`cos` (T, hd/2):
 * `t·cos + rotate_half(t)·sin` where `rotate_half(x) = cat(-x[hd/2:], x[:hd/2])`, i.e.
 * `[x1·c - x2·s, x2·c + x1·s]`. A custom op: the gradient is the inverse rotation of the
 * incoming gradient, so only the (small) tables are kept for the backward pass.
 */
export function applyRope(t: tf.Tensor4D, sin: tf.Tensor2D, cos: tf.Tensor2D): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    save([sin, cos]);
    const [x1, x2] = tf.split(x, 2, -1); // each (B, h, T, hd/2)
    const first = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin));
    const second = tf.add(tf.mul(x2, cos), tf.mul(x1, sin));
    return {
      value: tf.concat([first, second], -1),
      gradFunc: leanGradient((dy, saved) => {
        const [s, c] = saved;
        const [d1, d2] = tf.split(dy, 2, -1);
        const dx1 = tf.add(tf.mul(d1, c), tf.mul(d2, s));
        const dx2 = tf.sub(tf.mul(d2, c), tf.mul(d1, s));
        return tf.concat([dx1, dx2], -1);
      }),
    };
  });
  return op(t) as tf.Tensor4D;
}
