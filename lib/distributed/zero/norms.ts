/**
 * Gradient norms, loss and optimizer metrics when every rank holds only a shard of each gradient
 * (ZeRO data parallelism), as FSDP gives OLMo's `clip_grads_and_collect_metrics`: squared sums,
 * minima and maxima are all-reduced over ranks, so every rank clips with the same global norms
 * (`clipCoefficients` of `lib/optim/clipping.ts`) and reports the same metrics.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { clipCoefficients } from "../../optim/clipping.ts";
import { ELEMENT_STATE_KEYS } from "../../optim/optimizer_state.ts";
import type { ParamGroup } from "../../optim/param_groups.ts";
import type { Communicator } from "../world.ts";
import { globalStateFlags, type ZeroShardView } from "./gather.ts";
import type { ShardSegment } from "./layout.ts";

/** What `clipWithGlobalNorms` needs. */
export interface GlobalClipInput {
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

/**
 * OLMo's clipping rule (`clipCoefficients`) on globally all-reduced norms: the factor of every
 * clipped parameter (the caller disposes them) and, when `collect`, `clipping_rate` and
 * `grad_norm_exp_avg/{n}`. Stores the new adaptive EMAs in `input.emas`.
 */
export async function clipWithGlobalNorms(
  input: GlobalClipInput,
): Promise<{ coefficients: Map<string, tf.Scalar>; metrics: Record<string, number> }> {
  const norms = new Map([...input.norms].map(([n, v]) => [n, tf.scalar(v)]));
  const total = tf.scalar(input.totalNorm);
  const plan = clipCoefficients({
    groups: input.groups,
    norms,
    totalNorm: total,
    gradNormEma: (n) => input.emas.get(n),
    globalStep: input.globalStep,
  });
  tf.dispose([...norms.values(), total]);
  const metrics: Record<string, number> = {};
  if (input.collect) {
    const read = [...plan.nextEmas.values(), plan.clippingRate];
    const packed = tf.tidy(() => tf.concat(read.map((t) => tf.reshape(t, [1]))));
    const values = await packed.data();
    packed.dispose();
    [...plan.nextEmas.keys()].forEach((n, i) => (metrics[`grad_norm_exp_avg/${n}`] = values[i]));
    metrics.clipping_rate = values[plan.nextEmas.size];
  }
  plan.clippingRate.dispose();
  for (const [n, ema] of plan.nextEmas) {
    if (plan.storeEmas.has(n)) {
      input.emas.get(n)?.dispose();
      input.emas.set(n, ema);
    } else ema.dispose();
  }
  return { coefficients: plan.coefficients, metrics };
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

/** This rank's buffers for `shardTensorMetrics`. */
export interface ShardBuffers {
  /** The parameters with a gradient this step, in group order. */
  names: readonly string[];
  /** The averaged, unclipped gradients of this rank's shard (indexed like the shard). */
  gradShard: Float32Array;
  /** The padded flat parameters before this step's update. */
  params: Float32Array;
}

/**
 * OLMo's per-parameter metrics (`grad/`, `param/`, `{state key}/` min, max, avg, norm) of the
 * averaged, unclipped gradients and the parameters and state before this step's update, from
 * every rank's shards. Every rank must call it.
 */
export async function shardTensorMetrics(
  zero: ZeroShardView,
  buffers: ShardBuffers,
): Promise<Record<string, number>> {
  const local = await zero.optimizer.stateDict();
  const flags = await globalStateFlags(zero.world, zero.layout, zero.optimizer.name, local);
  const bySegment = new Map(zero.segments.map((s) => [s.name, s]));
  const index = new Map(zero.layout.params.map((e, i) => [e.name, i]));
  const base = zero.world.rank * zero.layout.shardSize;
  const keys = [...ELEMENT_STATE_KEYS[zero.optimizer.name]].sort();
  const tensors: SplitTensor[] = [];
  for (const name of buffers.names) {
    const i = index.get(name)!;
    const numel = zero.layout.params[i].size;
    const s = bySegment.get(name);
    const span = (data: Float32Array, at: number) =>
      s === undefined
        ? []
        : [data.subarray(at + s.shardStart, at + s.shardStart + s.paramEnd - s.paramStart)];
    tensors.push({ prefix: `grad/${name}`, numel, pieces: span(buffers.gradShard, 0) });
    tensors.push({ prefix: `param/${name}`, numel, pieces: span(buffers.params, base) });
    if (!flags.withElements[i]) continue;
    for (const key of keys) {
      const t = local.state.get(`${name}.${key}`);
      tensors.push({ prefix: `${key}/${name}`, numel, pieces: t ? [t.data as Float32Array] : [] });
    }
  }
  return await splitTensorMetrics(zero.world, tensors);
}
