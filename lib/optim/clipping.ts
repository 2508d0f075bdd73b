/**
 * Gradient clipping and optimizer metrics, as OLMo's `clip_grads_and_collect_metrics` (spec §4.3)
 * with the adaptive-clipping EMA fixed as upstream #371 did (it moves toward the *clipped* norm
 * `norm·coef`, not toward `ratio·ema`, which grew geometrically).
 *
 * Everything is computed on the device; the host reads one small vector per call (total norm,
 * and the per-parameter metrics on metric steps), so there is exactly one device sync per step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamGroup } from "./param_groups.ts";
import { lerpCoefficient, lerpTowards } from "./adamw.ts";

/** Added to norms before dividing (OLMo/torch). */
const CLIP_EPS = 1e-6;

/** Σ x² of a tensor, as a float32 scalar. */
export function squaredNorm(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(x)));
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
      tf.div(tf.sum(x), x.size),
      tf.sqrt(tf.sum(tf.square(x))),
    ]) as tf.Tensor1D;
  });
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
  const index = new Map(names.map((n, i) => [n, i]));
  const metricNames: string[] = ["total_grad_norm"];
  const metricValues: tf.Tensor[] = [];
  const clipped = new Map<string, tf.Tensor>();
  const newEmas: [string, tf.Scalar][] = [];

  // Per-parameter norms (OLMo's vector_norm), then the total over their squares.
  const norms = names.map((n) => tf.tidy(() => tf.sqrt(squaredNorm(grads.get(n)!))) as tf.Scalar);
  const total = tf.tidy(() =>
    norms.length === 0 ? tf.scalar(0) : tf.sqrt(tf.sum(tf.square(tf.stack(norms))))
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

  const clippedFlags: tf.Tensor[] = [];
  let eligible = 0;
  for (const group of ctx.groups) {
    const ratio = group.max_grad_norm_ratio;
    const maxNorm = group.max_grad_norm;
    const groupNames = group.param_names.filter((n) => grads.has(n));
    if (ratio === null && maxNorm === null) {
      for (const n of groupNames) clipped.set(n, tf.clone(grads.get(n)!));
      continue;
    }
    eligible += groupNames.length;
    if (ratio !== null) {
      const beta = Math.max(group.betas[0], group.betas[1]);
      for (const n of groupNames) {
        const stored = ctx.gradNormEma(n) ?? null;
        const { coef, ema } = adaptiveClip(norms[index.get(n)!], stored, ratio, beta);
        clipped.set(n, tf.tidy(() => tf.mul(grads.get(n)!, coef)));
        clippedFlags.push(tf.tidy(() => tf.cast(tf.less(coef, 1), "float32")));
        if (collect) {
          metricNames.push(`grad_norm_exp_avg/${n}`);
          metricValues.push(tf.clone(ema));
        }
        coef.dispose();
        if (stored !== null || globalStep > 1) newEmas.push([n, ema]);
        else ema.dispose();
      }
    } else {
      const coef = globalClipCoefficient(total, maxNorm!);
      for (const n of groupNames) clipped.set(n, tf.tidy(() => tf.mul(grads.get(n)!, coef)));
      clippedFlags.push(
        tf.tidy(() => tf.mul(tf.cast(tf.less(coef, 1), "float32"), groupNames.length)),
      );
      coef.dispose();
    }
  }
  if (collect) {
    metricNames.push("clipping_rate");
    metricValues.push(
      tf.tidy(() =>
        eligible === 0 ? tf.scalar(0) : tf.div(tf.addN([tf.scalar(0), ...clippedFlags]), eligible)
      ),
    );
  }

  const packed = tf.tidy(() =>
    tf.concat([...metricValues, ...extra].map((t) => tf.reshape(tf.cast(t, "float32"), [-1])))
  );
  tf.dispose([...norms, ...metricValues, ...clippedFlags]);
  for (const [n, ema] of newEmas) ctx.setGradNormEma(n, ema);
  const values = await packed.data();
  packed.dispose();
  const metrics: Record<string, number> = {};
  metricNames.forEach((name, i) => (metrics[name] = values[i]));
  const extraValues = Array.from(values.subarray(metricNames.length));
  return { grads: clipped, totalGradNorm: values[0], metrics, extra: extraValues };
}
