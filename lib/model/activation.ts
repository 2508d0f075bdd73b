/**
 * MLP activations (spec §2.6): exact GELU, ReLU and SwiGLU.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationType } from "../config/model_config.ts";

/** Exact (erf-based) GELU: `0.5·x·(1 + erf(x/√2))`, PyTorch's `approximate="none"`. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/**
 * SwiGLU on the last axis of width H: the first half is the value, the second the gate:
 * `silu(gate) · value`, width H/2.
 */
export function swiglu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [value, gate] = tf.split(x, 2, -1);
    return tf.mul(tf.mul(gate, tf.sigmoid(gate)), value);
  });
}

/** Applies the configured activation (`activation_type`). */
export function activation(x: tf.Tensor, type: ActivationType): tf.Tensor {
  switch (type) {
    case "gelu":
      return geluExact(x);
    case "relu":
      return tf.relu(x);
    case "swiglu":
      return swiglu(x);
    default:
      throw new Error(`model config: unknown activation_type ${JSON.stringify(type)}`);
  }
}
