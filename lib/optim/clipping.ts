/**
 * Gradient clipping and optimizer metrics, as OLMo's `olmo/optim.py`
 * `Optimizer.clip_grads_and_collect_metrics`, with the adaptive-clipping EMA fixed as upstream
 * #371 did (it moves toward the *clipped* norm `norm·coef`, not toward `ratio·ema`, which grew
 * geometrically).
 *
 * `clipCoefficients` is the clipping rule itself, a pure computation on given norms that both the
 * local optimizer (`clipGradients`) and ZeRO data parallelism (with all-reduced norms) use.
 * Everything is computed on the device; `clipGradients` reads one small vector per call (total
 * norm, and the per-parameter metrics on metric steps), so there is one device sync per step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { accurateSum, accurateSumOfSquares } from "../backend/accurate_sum.ts";
import type { ParamGroup } from "./param_groups.ts";
import { lerpCoefficient, lerpTowards } from "./adamw.ts";

/** Added to norms before dividing (OLMo/torch). */
const CLIP_EPS = 1e-6;

/** Σ x² of a tensor, as a float32 scalar, accurately accumulated at any size. */
export function squaredNorm(x: tf.Tensor): tf.Scalar {
  return accurateSumOfSquares(x);
}

/** `clamp(maxNorm / (totalNorm + 1e-6), max=1)`: the global-norm clipping factor. */
export function globalClipCoefficient(totalNorm: tf.Scalar, maxNorm: number): tf.Scalar {
  return tf.tidy(() => tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(totalNorm, CLIP_EPS)), 1));
}

/**
 * Adaptive clipping of one parameter: `coef = clamp(ratio·ema / (norm + 1e-6), max=1)` and the
 * fixed EMA `ema ← lerp(ema, norm·coef, 1 − beta)`. `ema` null means "no history": start at norm.
 */
export function adaptiveClip(
  gradNorm: tf.Scalar,
  ema: tf.Scalar | null,
  ratio: number,
  beta: number,
): { coef: tf.Scalar; ema: tf.Scalar } {
  return tf.tidy(() => {
    const prev = ema ?? gradNorm;
    const maxAllowed = tf.mul(tf.scalar(ratio), prev);
    const coef = tf.minimum(tf.div(maxAllowed, tf.add(gradNorm, CLIP_EPS)), 1) as tf.Scalar;
    const w = lerpCoefficient(1 - beta);
    const next = lerpTowards(prev, tf.mul(gradNorm, coef), tf.scalar(w.coefficient), w.small);
    return { coef, ema: next as tf.Scalar };
  });
}

/** `[min |x|, max |x|, Σx / numel, ‖x‖₂]` of a tensor, as a (4,) float32 vector. */
export function tensorStats(x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const abs = tf.abs(x);
    return tf.stack([
      tf.min(abs),
      tf.max(abs),
      tf.div(accurateSum(x), x.size),
      tf.sqrt(accurateSumOfSquares(x)),
    ]) as tf.Tensor1D;
  });
}

/** What `clipCoefficients` decides from. */
export interface ClipCoefficientsInput {
  /** Parameter groups (clipping settings, betas, names). */
  groups: readonly ParamGroup[];
  /** The L2 norm of each parameter that has a gradient this step (others are skipped). */
  norms: ReadonlyMap<string, tf.Scalar>;
  /** The L2 norm of all gradients. */
  totalNorm: tf.Scalar;
  /** The stored adaptive-clipping EMA of a parameter, if any. */
  gradNormEma(name: string): tf.Scalar | undefined;
  /** The 1-based step (the adaptive EMA is first stored at step 2, as in OLMo). */
  globalStep: number;
}

/** What `clipCoefficients` decided; every tensor is new and belongs to the caller. */
export interface ClipCoefficients {
  /** The factor of each clipped parameter (absent: its group does not clip). */
  coefficients: Map<string, tf.Scalar>;
  /** The next adaptive-clipping EMA of each parameter of an adaptive group, in group order. */
  nextEmas: Map<string, tf.Scalar>;
  /** The parameters whose `nextEmas` entry is to be stored (not at step 1 without history). */
  storeEmas: Set<string>;
  /** OLMo's `clipping_rate`: the fraction of clipping-eligible parameters that were clipped. */
  clippingRate: tf.Scalar;
}

/**
 * OLMo's clipping rule, as a pure computation on the device shared by the local optimizer and
 * ZeRO (which passes globally all-reduced norms): per group, adaptive when
 * `max_grad_norm_ratio` is set, else global when `max_grad_norm` is set, else none. Reads
 * nothing from the device and changes no state; the caller scales the gradients, stores the
 * EMAs it is told to and disposes the rest.
 */
export function clipCoefficients(input: ClipCoefficientsInput): ClipCoefficients {
  const coefficients = new Map<string, tf.Scalar>();
  const nextEmas = new Map<string, tf.Scalar>();
  const storeEmas = new Set<string>();
  const clippedFlags: tf.Tensor[] = [];
  let eligible = 0;
  for (const group of input.groups) {
    const ratio = group.max_grad_norm_ratio;
    const maxNorm = group.max_grad_norm;
    const names = group.param_names.filter((n) => input.norms.has(n));
    if (ratio === null && maxNorm === null) continue;
    eligible += names.length;
    if (ratio !== null) {
      const beta = Math.max(group.betas[0], group.betas[1]);
      for (const n of names) {
        const stored = input.gradNormEma(n) ?? null;
        const { coef, ema } = adaptiveClip(input.norms.get(n)!, stored, ratio, beta);
        coefficients.set(n, coef);
        clippedFlags.push(tf.tidy(() => tf.cast(tf.less(coef, 1), "float32")));
        nextEmas.set(n, ema);
        if (stored !== null || input.globalStep > 1) storeEmas.add(n);
      }
    } else {
      const coef = globalClipCoefficient(input.totalNorm, maxNorm!);
      for (const n of names) coefficients.set(n, tf.clone(coef));
      clippedFlags.push(
        tf.tidy(() => tf.mul(tf.cast(tf.less(coef, 1), "float32"), names.length)),
      );
      coef.dispose();
    }
  }
  const clippingRate = tf.tidy(() =>
    eligible === 0 ? tf.scalar(0) : tf.div(tf.addN([tf.scalar(0), ...clippedFlags]), eligible)
  ) as tf.Scalar;
  tf.dispose(clippedFlags);
  return { coefficients, nextEmas, storeEmas, clippingRate };
}

/** What the clipping code needs from the optimizer. */
export interface ClipContext {
  /** The optimizer's parameter groups (clipping settings, betas, names). */
  groups: readonly ParamGroup[];
  /** Current parameter values, for `param/` metrics. */
  param(name: string): tf.Tensor;
  /** Per-element optimizer state of a parameter by key (`exp_avg`, ...), for metrics. */
  elementState(name: string): ReadonlyMap<string, tf.Tensor>;
  /** The stored adaptive-clipping EMA of a parameter (a scalar), if any. */
  gradNormEma(name: string): tf.Scalar | undefined;
  /** Stores a new EMA scalar (ownership passes to the optimizer, which disposes the old one). */
  setGradNormEma(name: string, value: tf.Scalar): void;
}

/** Result of `clipGradients`. */
export interface ClipResult {
  /** Clipped gradients (new tensors; the caller disposes them and the inputs). */
  grads: Map<string, tf.Tensor>;
  /** Global L2 norm of all gradients before clipping. */
  totalGradNorm: number;
  /**
   * Metrics, unprefixed (the trainer adds `optim/`): always `total_grad_norm`; on metric steps
   * also `grad/{n}.{min,max,avg,norm}`, `param/{n}.*`, `{state key}/{n}.*`, `clipping_rate`
   * and (adaptive clipping) `grad_norm_exp_avg/{n}`.
   */
  metrics: Record<string, number>;
  /** The values of the `extra` tensors, flattened in order (read in the same device sync). */
  extra: number[];
}

/**
 * Clips `grads` per group (adaptive when `max_grad_norm_ratio` is set, else global when
 * `max_grad_norm` is set, else not at all) and collects metrics. Parameters without a gradient
 * are skipped. `globalStep` is 1-based: the adaptive EMA is first stored at step 2, as in OLMo.
 * `extra` tensors (e.g. the step's loss) are read in the same device sync; they are not disposed.
 */
export async function clipGradients(
  ctx: ClipContext,
  grads: ReadonlyMap<string, tf.Tensor>,
  globalStep: number,
  collect: boolean,
  extra: readonly tf.Tensor[] = [],
): Promise<ClipResult> {
  const grouped = new Set(ctx.groups.flatMap((g) => g.param_names));
  for (const n of grads.keys()) {
    if (!grouped.has(n)) throw new Error(`gradient for "${n}", which is in no parameter group`);
  }
  const names = ctx.groups.flatMap((g) => g.param_names.filter((n) => grads.has(n)));
  const metricNames: string[] = ["total_grad_norm"];
  const metricValues: tf.Tensor[] = [];
  const clipped = new Map<string, tf.Tensor>();

  // Per-parameter norms (OLMo's vector_norm), then the total over their squares.
  const norms = names.map((n) => tf.tidy(() => tf.sqrt(squaredNorm(grads.get(n)!))) as tf.Scalar);
  const total = tf.tidy(() =>
    norms.length === 0 ? tf.scalar(0) : tf.sqrt(accurateSumOfSquares(tf.stack(norms)))
  ) as tf.Scalar;
  metricValues.push(total);

  if (collect) {
    for (const n of names) {
      const prefixes: [string, tf.Tensor][] = [[`grad/${n}`, grads.get(n)!], [
        `param/${n}`,
        ctx.param(n),
      ]];
      const state = ctx.elementState(n);
      for (const key of [...state.keys()].sort()) prefixes.push([`${key}/${n}`, state.get(key)!]);
      for (const [prefix, x] of prefixes) {
        metricNames.push(`${prefix}.min`, `${prefix}.max`, `${prefix}.avg`, `${prefix}.norm`);
        metricValues.push(tensorStats(x));
      }
    }
  }

  const plan = clipCoefficients({
    groups: ctx.groups,
    norms: new Map(names.map((n, i) => [n, norms[i]])),
    totalNorm: total,
    gradNormEma: (n) => ctx.gradNormEma(n),
    globalStep,
  });
  for (const n of names) {
    const coef = plan.coefficients.get(n);
    const g = grads.get(n)!;
    clipped.set(n, coef === undefined ? tf.clone(g) : tf.tidy(() => tf.mul(g, coef)));
  }
  if (collect) {
    for (const [n, ema] of plan.nextEmas) {
      metricNames.push(`grad_norm_exp_avg/${n}`);
      metricValues.push(tf.clone(ema));
    }
    metricNames.push("clipping_rate");
    metricValues.push(tf.clone(plan.clippingRate));
  }
  const packed = tf.tidy(() =>
    tf.concat([...metricValues, ...extra].map((t) => tf.reshape(tf.cast(t, "float32"), [-1])))
  );
  tf.dispose([...norms, ...metricValues, ...plan.coefficients.values(), plan.clippingRate]);
  for (const [n, ema] of plan.nextEmas) {
    if (plan.storeEmas.has(n)) ctx.setGradNormEma(n, ema);
    else ema.dispose();
  }
  const values = await packed.data();
  packed.dispose();
  const metrics: Record<string, number> = {};
  metricNames.forEach((name, i) => (metrics[name] = values[i]));
  const extraValues = Array.from(values.subarray(metricNames.length));
  return { grads: clipped, totalGradNorm: values[0], metrics, extra: extraValues };
}
