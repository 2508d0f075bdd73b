/**
 * LionW update (OLMo's `LionW.step` in `olmo/optim.py`) on tensors of any shape: a whole parameter
 * or a flat data-parallel shard of one. Same float32 operation order as OLMo's PyTorch code:
 *
 * ```
 * p ← p · (1 − lr·wd)            # skipped when wd = 0 (a multiply by 1)
 * u ← m·β1 + g·(1−β1)
 * p ← p + (−lr)·sign(u)          # sign(0) = 0
 * m ← m·β2 + (1−β2)·g
 * ```
 *
 * It also returns the pieces of OLMo's `update_cos_sim` metric for this tensor.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { accurateSum, accurateSumOfSquares } from "../backend/accurate_sum.ts";

/** LionW hyperparameters of one update. */
export interface LionWHyper {
  /** Learning rate. */
  lr: number;
  /** Interpolation weight of the update direction. */
  beta1: number;
  /** Momentum decay. */
  beta2: number;
  /** Decoupled weight decay. */
  weightDecay: number;
}

/** `LionWHyper` as float32 scalar tensors, shared by every parameter of a group. */
export interface LionWScalars {
  /** `1 − lr·wd`, or null when wd = 0. */
  decay: tf.Scalar | null;
  /** β1. */
  beta1: tf.Scalar;
  /** 1 − β1. */
  oneMinusBeta1: tf.Scalar;
  /** β2. */
  beta2: tf.Scalar;
  /** 1 − β2. */
  oneMinusBeta2: tf.Scalar;
  /** −lr. */
  negLr: tf.Scalar;
}

/** Builds the scalars of one LionW update; the caller disposes them (or uses `tf.tidy`). */
export function lionwScalars(hp: LionWHyper): LionWScalars {
  return {
    decay: hp.weightDecay === 0 ? null : tf.scalar(1 - hp.lr * hp.weightDecay),
    beta1: tf.scalar(hp.beta1),
    oneMinusBeta1: tf.scalar(1 - hp.beta1),
    beta2: tf.scalar(hp.beta2),
    oneMinusBeta2: tf.scalar(1 - hp.beta2),
    negLr: tf.scalar(-hp.lr),
  };
}

/** Disposes the tensors of a `LionWScalars`. */
export function disposeLionWScalars(s: LionWScalars): void {
  tf.dispose([
    ...(s.decay ? [s.decay] : []),
    s.beta1,
    s.oneMinusBeta1,
    s.beta2,
    s.oneMinusBeta2,
    s.negLr,
  ]);
}

/**
 * `sign(x)` with `sign(0) = 0`, exact for every float. Not `tf.sign`: the wasm backend's Sign
 * kernel (tfjs 4.22) returns 0 for |x| below about 1e-6, which silently skips LionW updates of
 * parameters with small gradients.
 */
export function exactSign(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.sub(tf.cast(tf.greater(x, 0), "float32"), tf.cast(tf.less(x, 0), "float32"))
  );
}

/** New values of one LionW update plus this tensor's share of the cosine-similarity metric. */
export interface LionWResult {
  /** Updated parameter. */
  param: tf.Tensor;
  /** Updated momentum. */
  expAvg: tf.Tensor;
  /** Σ u·sign(u) = Σ|u| (scalar). */
  updateDotSigned: tf.Scalar;
  /** Σ u² (scalar). */
  updateSquaredNorm: tf.Scalar;
  /** Σ sign(u)², the number of non-zero update elements (scalar). */
  signedSquaredNorm: tf.Scalar;
}

/**
 * One LionW update of `param` given its gradient and momentum (same shape, float32).
 * Returns new tensors and leaves the inputs untouched; call inside `tf.tidy` and assign.
 */
export function lionwUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  expAvg: tf.Tensor,
  s: LionWScalars,
): LionWResult {
  const decayed = s.decay ? tf.mul(param, s.decay) : param;
  const update = tf.add(tf.mul(expAvg, s.beta1), tf.mul(grad, s.oneMinusBeta1));
  const signed = exactSign(update);
  const p = tf.add(decayed, tf.mul(s.negLr, signed));
  const m = tf.add(tf.mul(expAvg, s.beta2), tf.mul(s.oneMinusBeta2, grad));
  return {
    param: p,
    expAvg: m,
    updateDotSigned: accurateSum(tf.abs(update)),
    updateSquaredNorm: accurateSumOfSquares(update),
    signedSquaredNorm: accurateSum(tf.abs(signed)),
  };
}
