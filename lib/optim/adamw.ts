/**
 * AdamW update (torch `_single_tensor_adamw` semantics, amsgrad off, as OLMo `olmo/optim.py` builds
 * it with `torch.optim.AdamW`) on tensors of any shape: a whole parameter or a flat data-parallel
 * shard of one.
 *
 * The float32 operations and their order follow torch's CPU kernels so results agree to the last
 * bit where torch does not fuse (it uses an FMA inside `lerp_`, which differs by at most 1 ulp):
 *
 * ```
 * p    ← p · (1 − lr·wd)                           # skipped when wd = 0 (a multiply by 1)
 * m    ← m + (1−β1)·(g − m)                        # exp_avg.lerp_(g, 1−β1)
 * v    ← v·β2 + ((1−β2)·g)·g                       # exp_avg_sq.mul_(β2).addcmul_(g, g, 1−β2)
 * den  ← sqrt(v) / sqrt(1−β2^t) + eps
 * p    ← p + ((−lr/(1−β1^t))·m) / den              # p.addcdiv_(m, den, value=−step_size)
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type AdamWKernelAttrs, fusedAdamWUpdate } from "./adamw_kernel.ts";

/** AdamW hyperparameters of one update. */
export interface AdamWHyper {
  /** Learning rate. */
  lr: number;
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** Denominator epsilon (1e-5 in OLMo). */
  eps: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** The step number of this update, counting from 1 (bias corrections use it). */
  step: number;
}

/** `AdamWHyper` turned into float32 scalar tensors, shared by every parameter of a group. */
export interface AdamWScalars {
  /** `1 − lr·wd`, or null when wd = 0. */
  decay: tf.Scalar | null;
  /** Coefficient and form of `lerp_(g, 1−β1)` (torch switches form at weight 0.5). */
  lerpWeight: tf.Scalar;
  /** True when `1−β1 < 0.5`: `m + w·(g−m)`; otherwise `g − (g−m)·(1−w)`. */
  lerpSmall: boolean;
  /** β2. */
  beta2: tf.Scalar;
  /** 1 − β2. */
  oneMinusBeta2: tf.Scalar;
  /** sqrt(1 − β2^t). */
  biasCorrection2Sqrt: tf.Scalar;
  /** eps. */
  eps: tf.Scalar;
  /** −lr / (1 − β1^t). */
  negStepSize: tf.Scalar;
  /** The same scalars as numbers, for the fused kernel (`adamw_kernel.ts`). */
  values: AdamWKernelAttrs;
}

/** The weight a torch float32 `lerp_` applies, and its form (torch `is_lerp_weight_small`). */
export function lerpCoefficient(weight: number): { coefficient: number; small: boolean } {
  const w = Math.fround(weight);
  const small = Math.abs(w) < 0.5;
  return { coefficient: small ? w : Math.fround(1 - w), small };
}

/** `torch.lerp(self, end, w)` with a precomputed coefficient (see `lerpCoefficient`). */
export function lerpTowards(
  self: tf.Tensor,
  end: tf.Tensor,
  coefficient: tf.Scalar,
  small: boolean,
): tf.Tensor {
  return small
    ? tf.add(self, tf.mul(coefficient, tf.sub(end, self)))
    : tf.sub(end, tf.mul(tf.sub(end, self), coefficient));
}

/**
 * Builds the scalars of one AdamW update. Bias corrections are computed in float64 as torch does
 * in Python, then rounded to float32 when they meet the tensors. The caller disposes the result
 * (or builds it inside `tf.tidy`).
 */
export function adamwScalars(hp: AdamWHyper): AdamWScalars {
  if (!(hp.step >= 1)) throw new Error(`AdamW step must be >= 1, got ${hp.step}`);
  const bc1 = 1 - hp.beta1 ** hp.step;
  const bc2 = 1 - hp.beta2 ** hp.step;
  const lerp = lerpCoefficient(1 - hp.beta1);
  const values: AdamWKernelAttrs = {
    decay: hp.weightDecay === 0 ? null : 1 - hp.lr * hp.weightDecay,
    lerpWeight: lerp.coefficient,
    lerpSmall: lerp.small,
    beta2: hp.beta2,
    oneMinusBeta2: 1 - hp.beta2,
    biasCorrection2Sqrt: Math.sqrt(bc2),
    eps: hp.eps,
    negStepSize: -(hp.lr / bc1),
  };
  return {
    decay: values.decay === null ? null : tf.scalar(values.decay),
    lerpWeight: tf.scalar(values.lerpWeight),
    lerpSmall: values.lerpSmall,
    beta2: tf.scalar(values.beta2),
    oneMinusBeta2: tf.scalar(values.oneMinusBeta2),
    biasCorrection2Sqrt: tf.scalar(values.biasCorrection2Sqrt),
    eps: tf.scalar(values.eps),
    negStepSize: tf.scalar(values.negStepSize),
    values,
  };
}

/** Disposes the tensors of an `AdamWScalars`. */
export function disposeAdamWScalars(s: AdamWScalars): void {
  tf.dispose([
    ...(s.decay ? [s.decay] : []),
    s.lerpWeight,
    s.beta2,
    s.oneMinusBeta2,
    s.biasCorrection2Sqrt,
    s.eps,
    s.negStepSize,
  ]);
}

/** New values of one AdamW update. */
export interface AdamWResult {
  /** Updated parameter. */
  param: tf.Tensor;
  /** Updated first moment. */
  expAvg: tf.Tensor;
  /** Updated second moment. */
  expAvgSq: tf.Tensor;
}

/**
 * One AdamW update of `param` given its gradient and moments (all the same shape, float32).
 * Returns new tensors and leaves the inputs untouched; call inside `tf.tidy` and assign.
 * On cpu and wasm it runs as one fused kernel, bit-identical to {@link adamwUpdateOps}.
 */
export function adamwUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  expAvg: tf.Tensor,
  expAvgSq: tf.Tensor,
  s: AdamWScalars,
): AdamWResult {
  const fused = fusedAdamWUpdate(param, grad, expAvg, expAvgSq, s.values);
  if (fused) return { param: fused[0], expAvg: fused[1], expAvgSq: fused[2] };
  return adamwUpdateOps(param, grad, expAvg, expAvgSq, s);
}

/** {@link adamwUpdate} as a chain of tfjs ops (any backend). */
export function adamwUpdateOps(
  param: tf.Tensor,
  grad: tf.Tensor,
  expAvg: tf.Tensor,
  expAvgSq: tf.Tensor,
  s: AdamWScalars,
): AdamWResult {
  const decayed = s.decay ? tf.mul(param, s.decay) : param;
  const m = lerpTowards(expAvg, grad, s.lerpWeight, s.lerpSmall);
  const v = tf.add(tf.mul(expAvgSq, s.beta2), tf.mul(tf.mul(s.oneMinusBeta2, grad), grad));
  const denom = tf.add(tf.div(tf.sqrt(v), s.biasCorrection2Sqrt), s.eps);
  const p = tf.add(decayed, tf.div(tf.mul(s.negStepSize, m), denom));
  return { param: p, expAvg: m, expAvgSq: v };
}
