/**
 * The state of a ZeRO run gathered for checkpoints: each rank's `ShardState` (exactly the range
 * it owns, which a sharded checkpoint stores as `step{N}/rank{r}.*`) and the whole optimizer
 * state gathered for an unsharded one.
 *
 * A rank knows the optimizer state of its own pieces only, so the per-parameter scalars a
 * checkpoint replicates (AdamW's step counts, which parameters have moments) are all-reduced.
 *
 * @module
 */
import type { Optimizer } from "../../optim/optimizer.ts";
import {
  ELEMENT_STATE_KEYS,
  GRAD_NORM_EMA_KEY,
  type OptimizerStateDict,
} from "../../optim/optimizer_state.ts";
import type { ParamGroup } from "../../optim/param_groups.ts";
import type { OptimizerName } from "../../optim/settings.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import type { Communicator } from "../world.ts";
import { allGatherFlat } from "./flat_collectives.ts";
import type { FlatLayout, ShardSegment } from "./layout.ts";
import type { ShardState } from "./state.ts";

/** What gathering reads from a ZeRO rank (`ZeroDataParallel` is one). */
export interface ZeroShardView {
  /** The process group. */
  readonly world: Communicator;
  /** Every parameter in model order. */
  readonly layout: FlatLayout;
  /** The pieces of each parameter inside this rank's shard. */
  readonly segments: readonly ShardSegment[];
  /** The optimizer over this rank's pieces. */
  readonly optimizer: Optimizer;
  /** Largest collective call in bytes. */
  readonly maxBucketBytes: number;
  /** The adaptive-clipping EMAs by parameter (replicated on every rank). */
  gradNormEmas(): Promise<Map<string, number>>;
  /** A copy of this rank's range of the current parameters. */
  ownParams(): Float32Array;
  /** OLMo's groups with every parameter's name. */
  paramGroups(): ParamGroup[];
}

/** Per parameter (layout order): AdamW's step count (−1: none) and whether it has moments. */
export interface GlobalStateFlags {
  /** Step counts. */
  steps: Float64Array;
  /** True when the parameter has per-element state (`exp_avg`, ...). */
  withElements: boolean[];
}

/**
 * The flags of every parameter over all ranks, from this rank's piece state `local` (a rank
 * knows only its pieces'). Every rank must call it (one all-reduce).
 */
export async function globalStateFlags(
  world: Communicator,
  layout: FlatLayout,
  optimizer: OptimizerName,
  local: OptimizerStateDict,
): Promise<GlobalStateFlags> {
  const n = layout.params.length;
  const v = new Float64Array(2 * n).fill(-1, 0, n);
  const firstKey = ELEMENT_STATE_KEYS[optimizer][0];
  layout.params.forEach((e, i) => {
    const step = local.state.get(`${e.name}.step`);
    if (step !== undefined) v[i] = (step.data as Float32Array)[0];
    if (local.state.has(`${e.name}.${firstKey}`)) v[n + i] = 1;
  });
  await world.allReduceMax(v);
  return { steps: v.subarray(0, n), withElements: Array.from(v.subarray(n), (x) => x > 0) };
}

/** This rank's `ShardState` (its part of a sharded checkpoint). Every rank must call it. */
export async function zeroShardState(zero: ZeroShardView): Promise<ShardState> {
  const local = await zero.optimizer.stateDict();
  const flags = await globalStateFlags(zero.world, zero.layout, zero.optimizer.name, local);
  const { start, end } = zero.layout.ranks[zero.world.rank];
  const optimElements = new Map<string, Float32Array>();
  if (flags.withElements.some((has) => has)) {
    for (const key of ELEMENT_STATE_KEYS[zero.optimizer.name]) {
      const data = new Float32Array(end - start);
      for (const s of zero.segments) {
        const t = local.state.get(`${s.name}.${key}`);
        if (t !== undefined) data.set(t.data as Float32Array, s.shardStart);
      }
      optimElements.set(key, data);
    }
  }
  const emas = await zero.gradNormEmas();
  const optimScalars: Record<string, Record<string, number>> = {};
  zero.layout.params.forEach((e, i) => {
    const scalars: Record<string, number> = {};
    if (flags.steps[i] >= 0) scalars.step = flags.steps[i];
    const ema = emas.get(e.name);
    if (ema !== undefined) scalars[GRAD_NORM_EMA_KEY] = ema;
    if (Object.keys(scalars).length > 0) optimScalars[e.name] = scalars;
  });
  return {
    rank: zero.world.rank,
    params: zero.ownParams(),
    optimElements,
    optimScalars,
    optimElementParams: zero.layout.params.filter((_, i) => flags.withElements[i])
      .map((e) => e.name),
    paramGroups: zero.paramGroups(),
  };
}

/**
 * The whole optimizer state of `zero` (every rank's pieces gathered), e.g. for an unsharded
 * checkpoint. Every rank must call it, and each then holds the full state until it drops it.
 */
export async function zeroFullOptimizerState(zero: ZeroShardView): Promise<OptimizerStateDict> {
  const { world, layout } = zero;
  const local = await zero.optimizer.stateDict();
  const flags = await globalStateFlags(world, layout, zero.optimizer.name, local);
  const base = world.rank * layout.shardSize;
  const gathered = new Map<string, Float32Array>();
  if (flags.withElements.some((has) => has)) {
    for (const key of ELEMENT_STATE_KEYS[zero.optimizer.name]) {
      const flat = new Float32Array(layout.paddedNumel);
      for (const s of zero.segments) {
        const t = local.state.get(`${s.name}.${key}`);
        if (t !== undefined) flat.set(t.data as Float32Array, base + s.shardStart);
      }
      await allGatherFlat(world, flat, zero.maxBucketBytes);
      gathered.set(key, flat);
    }
  }
  const emas = await zero.gradNormEmas();
  const index = new Map(layout.params.map((e, i) => [e.name, i]));
  const groups = zero.paramGroups();
  const state: NamedHostTensors = new Map();
  const scalar = (v: number) => ({
    dtype: "float32" as const,
    shape: [],
    data: Float32Array.of(v),
  });
  for (const name of groups.flatMap((g) => g.param_names)) {
    const i = index.get(name)!;
    const { offset, size, shape } = layout.params[i];
    if (flags.steps[i] >= 0) state.set(`${name}.step`, scalar(flags.steps[i]));
    if (flags.withElements[i]) {
      for (const [key, flat] of gathered) {
        const data = flat.slice(offset, offset + size);
        state.set(`${name}.${key}`, { dtype: "float32", shape: [...shape], data });
      }
    }
    const ema = emas.get(name);
    if (ema !== undefined) state.set(`${name}.${GRAD_NORM_EMA_KEY}`, scalar(ema));
  }
  return { state, paramGroups: groups };
}
