/**
 * Checkpoints of a ZeRO run: each rank's part of a sharded checkpoint (`step{N}/rank{r}.*`,
 * exactly the range it owns) and the whole optimizer state gathered for an unsharded one.
 *
 * A rank knows the optimizer state of its own pieces only, so the per-parameter scalars a
 * checkpoint replicates (AdamW's step counts, which parameters have moments) are all-reduced.
 *
 * @module
 */
import type { TrainerState } from "../checkpoint/trainer_checkpoint_state.ts";
import type { RankShard } from "../checkpoint/trainer_checkpoint_sharded.ts";
import type { FlatLayout } from "../distributed/flat_layout.ts";
import type { Communicator } from "../distributed/world.ts";
import { allGatherFlat } from "../distributed/zero_flat.ts";
import {
  ELEMENT_STATE_KEYS,
  GRAD_NORM_EMA_KEY,
  type OptimizerStateDict,
} from "../optim/optimizer_state.ts";
import type { OptimizerName } from "../optim/settings.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";
import type { ZeroDataParallel } from "./zero_data_parallel.ts";

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
  const n = layout.entries.length;
  const v = new Float64Array(2 * n).fill(-1, 0, n);
  const firstKey = ELEMENT_STATE_KEYS[optimizer][0];
  layout.entries.forEach((e, i) => {
    const step = local.state.get(`${e.name}.step`);
    if (step !== undefined) v[i] = (step.data as Float32Array)[0];
    if (local.state.has(`${e.name}.${firstKey}`)) v[n + i] = 1;
  });
  await world.allReduceMax(v);
  return { steps: v.subarray(0, n), withElements: Array.from(v.subarray(n), (x) => x > 0) };
}

/** This rank's part of a sharded checkpoint of `zero`. Every rank must call it. */
export async function zeroRankShard(
  zero: ZeroDataParallel,
  trainer: TrainerState,
): Promise<RankShard> {
  const local = await zero.optimizer.stateDict();
  const flags = await globalStateFlags(zero.world, zero.layout, zero.optimizer.name, local);
  const { start, end } = zero.shardRange;
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
  zero.layout.entries.forEach((e, i) => {
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
    optimElementParams: zero.layout.entries.filter((_, i) => flags.withElements[i])
      .map((e) => e.name),
    paramGroups: zero.paramGroups(),
    trainer,
  };
}

/**
 * The whole optimizer state of `zero` (every rank's pieces gathered), e.g. for an unsharded
 * checkpoint. Every rank must call it, and each then holds the full state until it drops it.
 */
export async function zeroFullOptimizerState(zero: ZeroDataParallel): Promise<OptimizerStateDict> {
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
  const shapes = new Map(zero.checkpointLayout().params.map((p) => [p.name, p.shape]));
  const index = new Map(layout.entries.map((e, i) => [e.name, i]));
  const groups = zero.paramGroups();
  const state: NamedHostTensors = new Map();
  const scalar = (v: number) => ({
    dtype: "float32" as const,
    shape: [],
    data: Float32Array.of(v),
  });
  for (const name of groups.flatMap((g) => g.param_names)) {
    const i = index.get(name)!;
    const { offset, size } = layout.entries[i];
    if (flags.steps[i] >= 0) state.set(`${name}.step`, scalar(flags.steps[i]));
    if (flags.withElements[i]) {
      for (const [key, flat] of gathered) {
        const data = flat.slice(offset, offset + size);
        state.set(`${name}.${key}`, { dtype: "float32", shape: [...shapes.get(name)!], data });
      }
    }
    const ema = emas.get(name);
    if (ema !== undefined) state.set(`${name}.${GRAD_NORM_EMA_KEY}`, scalar(ema));
  }
  return { state, paramGroups: groups };
}
