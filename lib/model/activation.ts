/**
 * MLP activations (OLMo `olmo/model.py` `Activation`): exact GELU, ReLU and SwiGLU.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationType } from "../config/model_config.ts";
import { leanGradient } from "../util/lean_grad.ts";

/** Exact (erf-based) GELU: `0.5·x·(1 + erf(x/√2))`, PyTorch's `approximate="none"`. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/**
 * SwiGLU as a custom op whose gradient is written out: it keeps only the value and gate halves
 * for the backward pass (autodiff would keep the sigmoid and both products too).
 * d/d value = silu(gate); d/d gate = value · σ(gate) · (1 + gate · (1 − σ(gate))).
 */
const swigluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const [value, gate] = tf.split(x, 2, -1);
  save([value, gate]);
  return {
    value: tf.mul(tf.mul(gate, tf.sigmoid(gate)), value),
    gradFunc: leanGradient((dyT, saved) => {
      const [v, g] = saved;
      const sig = tf.sigmoid(g);
      const dValue = tf.mul(dyT, tf.mul(g, sig));
      const dSilu = tf.mul(sig, tf.add(tf.mul(g, tf.sub(1, sig)), 1));
      const dGate = tf.mul(tf.mul(dyT, v), dSilu);
      return tf.concat([dValue, dGate], -1);
    }),
  };
});

/**
 * SwiGLU on the last axis of width H: the first half is the value, the second the gate:
 * `silu(gate) · value`, width H/2.
 */
export function swiglu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => swigluOp(x));
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
