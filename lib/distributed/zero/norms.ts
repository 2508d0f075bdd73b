/**
 * Gradient clipping and optimizer metrics when every rank holds only a shard of each gradient
 * (ZeRO data parallelism): OLMo's `clip_grads_and_collect_metrics` (spec §4.3), where FSDP
 * all-reduces `[sums, norms², numels]` so every rank clips with the same global norm.
 *
 * Norms come from squared sums all-reduced over ranks, so every rank derives the same
 * coefficients and the same adaptive-clipping EMAs (which are replicated). The scalar math is
 * `lib/optim/clipping.ts`'s own (`globalClipCoefficient`, `adaptiveClip`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ShardSegment } from "../distributed/flat_layout.ts";
import type { Communicator } from "../distributed/world.ts";
import { adaptiveClip, globalClipCoefficient } from "../optim/clipping.ts";
import type { ParamGroup } from "../optim/param_groups.ts";

/** What `zeroClipCoefficients` needs. */
export interface ZeroClipInput {
  /** Parameter groups with full parameter names (clipping settings, betas). */
  groups: readonly ParamGroup[];
  /** Global L2 norm of every parameter that has a gradient this step. */
  norms: ReadonlyMap<string, number>;
  /** Global L2 norm of all gradients. */
  totalNorm: number;
  /** The 1-based step (the adaptive EMA is first stored at step 2, as in OLMo). */
  globalStep: number;
  /** Collect `clipping_rate` and `grad_norm_exp_avg/*` (one device read). */
  collect: boolean;
  /** Adaptive-clipping EMAs by parameter, replicated on every rank; updated in place. */
  emas: Map<string, tf.Scalar>;
}

/** Result of `zeroClipCoefficients`. */
export interface ZeroClipResult {
  /** The factor of each clipped parameter (absent: not clipped). The caller disposes them. */
  coefficients: Map<string, tf.Scalar>;
  /** `clipping_rate` and `grad_norm_exp_avg/{n}` on collect steps, else empty. */
  metrics: Record<string, number>;
}

/**
 * The clipping factor of every parameter, per group as `clipGradients` decides it: adaptive
 * when `max_grad_norm_ratio` is set, global when `max_grad_norm` is set, none otherwise.
 */
export async function zeroClipCoefficients(input: ZeroClipInput): Promise<ZeroClipResult> {
  const coefficients = new Map<string, tf.Scalar>();
  const flags: tf.Tensor[] = [];
  const emaMetrics: [string, tf.Scalar][] = [];
  let eligible = 0;
  for (const group of input.groups) {
    const names = group.param_names.filter((n) => input.norms.has(n));
    const ratio = group.max_grad_norm_ratio;
    const maxNorm = group.max_grad_norm;
    if (ratio === null && maxNorm === null) continue;
    eligible += names.length;
    if (ratio !== null) {
      const beta = Math.max(group.betas[0], group.betas[1]);
      for (const n of names) {
        const stored = input.emas.get(n) ?? null;
        const norm = tf.scalar(input.norms.get(n)!);
        const { coef, ema } = adaptiveClip(norm, stored, ratio, beta);
        norm.dispose();
        coefficients.set(n, coef);
        if (input.collect) {
          flags.push(tf.tidy(() => tf.cast(tf.less(coef, 1), "float32")));
          emaMetrics.push([n, tf.clone(ema)]);
        }
        if (stored !== null || input.globalStep > 1) {
          stored?.dispose();
          input.emas.set(n, ema);
        } else ema.dispose();
      }
    } else {
      const coef = tf.tidy(() => globalClipCoefficient(tf.scalar(input.totalNorm), maxNorm!));
      for (const n of names) coefficients.set(n, tf.clone(coef));
      if (input.collect) {
        flags.push(tf.tidy(() => tf.mul(tf.cast(tf.less(coef, 1), "float32"), names.length)));
      }
      coef.dispose();
    }
  }
  if (!input.collect) return { coefficients, metrics: {} };
  const packed = tf.tidy(() =>
    tf.concat(
      [...emaMetrics, [, tf.addN([tf.scalar(0), ...flags])]].map(([, t]) => tf.reshape(t!, [1])),
    )
  );
  tf.dispose([...flags, ...emaMetrics.map(([, e]) => e)]);
  const values = await packed.data();
  packed.dispose();
  const metrics: Record<string, number> = {};
  emaMetrics.forEach(([n], i) => (metrics[`grad_norm_exp_avg/${n}`] = values[i]));
  metrics.clipping_rate = eligible === 0 ? 0 : values[emaMetrics.length] / eligible;
  return { coefficients, metrics };
}

/** Gradient norms and loss over all ranks (see `globalNormsAndLoss`). */
export interface GlobalNormsAndLoss {
  /** L2 norm of each parameter's whole gradient (parameters with a gradient only). */
  norms: Map<string, number>;
  /** L2 norm of all gradients. */
  totalNorm: number;
  /** The mean over ranks of their CE. */
  ce: number;
  /** The mean over ranks of their z-loss (0 without it). */
  z: number;
}

/**
 * One all-reduce of each parameter's Σg² over this rank's `segments` of `gradShard` (indexed
 * like the shard), together with this rank's `[ce, z]`. Every rank must call it.
 */
export async function globalNormsAndLoss(
  world: Communicator,
  segments: readonly ShardSegment[],
  gradShard: Float32Array,
  losses: ArrayLike<number>,
  hasGrad: ReadonlySet<string>,
): Promise<GlobalNormsAndLoss> {
  const names = [...hasGrad];
  const index = new Map(names.map((n, i) => [n, i]));
  const sums = new Float64Array(names.length + 2);
  for (const s of segments) {
    const i = index.get(s.name);
    if (i === undefined) continue;
    for (let k = s.shardStart; k < s.shardStart + s.paramEnd - s.paramStart; k++) {
      sums[i] += gradShard[k] * gradShard[k];
    }
  }
  sums[names.length] = losses[0];
  sums[names.length + 1] = losses[1];
  await world.allReduceSum(sums);
  const norms = new Map(names.map((n, i) => [n, Math.sqrt(sums[i])]));
  const squaredTotal = sums.subarray(0, names.length).reduce((a, b) => a + b, 0);
  return {
    norms,
    totalNorm: Math.sqrt(squaredTotal),
    ce: sums[names.length] / world.size,
    z: sums[names.length + 1] / world.size,
  };
}

/** One tensor of OLMo's per-parameter metrics, of which this rank holds `pieces`. */
export interface SplitTensor {
  /** Metric prefix, e.g. `grad/transformer.wte.weight`. */
  prefix: string;
  /** Elements of the whole tensor. */
  numel: number;
  /** This rank's parts of it (none when it owns no element). */
  pieces: Float32Array[];
}

/**
 * OLMo's `{prefix}.min`, `.max` (of |x|), `.avg` and `.norm` of tensors split across ranks, as
 * `tensorStats` gives for whole tensors. Every rank passes the same prefixes in the same order.
 */
export async function splitTensorMetrics(
  world: Communicator,
  tensors: readonly SplitTensor[],
): Promise<Record<string, number>> {
  const k = tensors.length;
  const mins = new Float64Array(k).fill(Infinity);
  const maxs = new Float64Array(k).fill(-Infinity);
  const sums = new Float64Array(2 * k); // [Σx, Σx²] per tensor
  tensors.forEach((t, i) => {
    for (const piece of t.pieces) {
      for (let j = 0; j < piece.length; j++) {
        const x = piece[j];
        const a = Math.abs(x);
        if (a < mins[i]) mins[i] = a;
        if (a > maxs[i]) maxs[i] = a;
        sums[2 * i] += x;
        sums[2 * i + 1] += x * x;
      }
    }
  });
  await Promise.all([world.allReduceMin(mins), world.allReduceMax(maxs), world.allReduceSum(sums)]);
  const metrics: Record<string, number> = {};
  tensors.forEach((t, i) => {
    metrics[`${t.prefix}.min`] = mins[i];
    metrics[`${t.prefix}.max`] = maxs[i];
    metrics[`${t.prefix}.avg`] = sums[2 * i] / t.numel;
    metrics[`${t.prefix}.norm`] = Math.sqrt(sums[2 * i + 1]);
  });
  return metrics;
}
