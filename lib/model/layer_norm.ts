/**
 * OLMo's LayerNorm variants (spec §2.6), all computed in float32 with eps = 1e-5.
 *
 * `default`, `low_precision` and `amd_compatible` are the same function here: they differ in
 * OLMo only in autocast handling and kernel choice, and `amd_compatible` is tested equal to
 * `F.layer_norm` upstream. `rms` scales by the root mean square without centring.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LayerNormType } from "../config/model_config.ts";

/** LayerNorm epsilon used by every OLMo norm. */
export const LAYER_NORM_EPS = 1e-5;

/**
 * Normalises `x` over its last axis and applies the optional affine `weight` and `bias`
 * (each of shape (C,)). Returns the same shape as `x`.
 */
export function layerNorm(
  x: tf.Tensor,
  type: LayerNormType,
  weight?: tf.Tensor1D,
  bias?: tf.Tensor1D,
): tf.Tensor {
  return tf.tidy(() => {
    let y: tf.Tensor;
    if (type === "rms") {
      const meanSquare = tf.mean(tf.square(x), -1, true); // (..., 1)
      y = tf.mul(x, tf.rsqrt(tf.add(meanSquare, LAYER_NORM_EPS)));
    } else {
      const mean = tf.mean(x, -1, true); // (..., 1)
      const centred = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centred), -1, true); // biased, as F.layer_norm
      y = tf.mul(centred, tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)));
    }
    if (weight) y = tf.mul(y, weight);
    if (bias) y = tf.add(y, bias);
    return y;
  });
}
