/**
 * OLMo's LayerNorm variants (`olmo/model.py` `LayerNorm`, `RMSLayerNorm`, `AMDLayerNorm`), all
 * computed in float32 with eps = 1e-5 (OLMo later: `layer_norm_eps`).
 *
 * `default`, `low_precision` and `amd_compatible` are the same function here: they differ in
 * OLMo only in autocast handling and kernel choice, and `amd_compatible` is tested equal to
 * `F.layer_norm` upstream. `rms` scales by the root mean square without centring.
 *
 * The backward pass is written out (the standard LayerNorm gradient) so that a norm keeps only
 * its normalised input and the per-row scale for the gradient instead of every intermediate,
 * and its weight/bias gradients are matmuls with a ones row rather than slow column sums.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LayerNormType } from "../config/model_config.ts";
import { leanGradient } from "../util/lean_grad.ts";

/** LayerNorm epsilon of OLMo's norms (the default of OLMo later's `layer_norm_eps`). */
export const LAYER_NORM_EPS = 1e-5;

/** `(x̂, 1/σ)` of rows of x (N, C): x̂ = (x − mean)·rstd, or x·rstd for RMSNorm. */
function normalise(x: tf.Tensor2D, rms: boolean, eps: number): [tf.Tensor2D, tf.Tensor2D] {
  if (rms) {
    const meanSquare = tf.mean(tf.square(x), -1, true); // (N, 1)
    const rstd = tf.rsqrt(tf.add(meanSquare, eps)) as tf.Tensor2D;
    return [tf.mul(x, rstd), rstd];
  }
  const mean = tf.mean(x, -1, true); // (N, 1)
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true); // biased, as F.layer_norm
  const rstd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor2D;
  return [tf.mul(centred, rstd), rstd];
}

/** Column sums of (N, C) as a ones-row matmul: (C,). */
function columnSum(x: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, x.shape[0]]), x), [x.shape[1]]);
}

/**
 * Gradient of x̂ = norm(x) given dx̂ (N, C): rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) for
 * LayerNorm, without the `mean(dx̂)` term for RMSNorm.
 */
function normaliseGrad(dxHat: tf.Tensor2D, xHat: tf.Tensor2D, rstd: tf.Tensor2D, rms: boolean) {
  const proj = tf.mul(xHat, tf.mean(tf.mul(dxHat, xHat), -1, true)); // (N, C)
  const centred = rms ? dxHat : tf.sub(dxHat, tf.mean(dxHat, -1, true));
  return tf.mul(tf.sub(centred, proj), rstd);
}

/** The fused norm over the last axis, with optional affine weight and bias, as a custom op. */
function fusedNorm(rms: boolean, hasWeight: boolean, hasBias: boolean, eps: number) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor;
    const shape = input.shape;
    const x = tf.reshape(input, [-1, shape[shape.length - 1]]) as tf.Tensor2D; // (N, C)
    const weight = hasWeight ? args[1] as tf.Tensor1D : null;
    const bias = hasBias ? args[hasWeight ? 2 : 1] as tf.Tensor1D : null;
    const [xHat, rstd] = normalise(x, rms, eps);
    let y: tf.Tensor = xHat;
    if (weight) y = tf.mul(y, weight);
    if (bias) y = tf.add(y, bias);
    save(weight ? [xHat, rstd, weight] : [xHat, rstd]);
    return {
      value: tf.reshape(y, shape),
      gradFunc: leanGradient((dy, saved) => {
        const [xHatS, rstdS] = saved as tf.Tensor2D[];
        const dy2d = tf.reshape(dy, xHatS.shape) as tf.Tensor2D;
        const dxHat = hasWeight ? tf.mul(dy2d, saved[2]) as tf.Tensor2D : dy2d;
        const grads: tf.Tensor[] = [tf.reshape(normaliseGrad(dxHat, xHatS, rstdS, rms), shape)];
        if (hasWeight) grads.push(columnSum(tf.mul(dy2d, xHatS) as tf.Tensor2D));
        if (hasBias) grads.push(columnSum(dy2d));
        return grads;
      }),
    };
  });
}

/** The custom ops by (rms, weight, bias, eps), built once. */
const FUSED = new Map<string, ReturnType<typeof fusedNorm>>();

/**
 * Normalises `x` over its last axis and applies the optional affine `weight` and `bias`
 * (each of shape (C,)) with epsilon `eps`. Returns the same shape as `x`.
 */
export function layerNorm(
  x: tf.Tensor,
  type: LayerNormType,
  weight?: tf.Tensor1D,
  bias?: tf.Tensor1D,
  eps: number = LAYER_NORM_EPS,
): tf.Tensor {
  return tf.tidy(() => {
    const rms = type === "rms";
    const key = `${rms}${weight !== undefined}${bias !== undefined}${eps}`;
    let op = FUSED.get(key);
    if (!op) {
      FUSED.set(key, op = fusedNorm(rms, weight !== undefined, bias !== undefined, eps));
    }
    return op(x, ...(weight ? [weight] : []), ...(bias ? [bias] : []));
  });
}
