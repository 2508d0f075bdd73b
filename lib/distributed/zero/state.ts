/**
 * Optimizer state of a ZeRO rank: `ShardState` (the rank's range of the flattened parameters and
 * optimizer state, which a sharded checkpoint stores per rank), and its pieces (the parts of
 * each parameter inside the rank's shard, as `ShardSegment`s) cut out of a full optimizer state
 * or out of a `ShardState`, in the format `Optimizer.loadStateDict` reads (`{param}.{key}`,
 * piece shapes).
 *
 * @module
 */
import type { ParsedParamState } from "../../optim/optimizer_state.ts";
import type { ParamGroup } from "../../optim/param_groups.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import type { ShardSegment } from "./layout.ts";

/** One rank's range `layout.ranks[rank]` of the flattened parameters and optimizer state. */
export interface ShardState {
  /** The rank. */
  rank: number;
  /** Elements `layout.ranks[rank]` of the flattened parameters. */
  params: Float32Array;
  /** The same range of each per-element optimizer state (`exp_avg`, ...); empty if none. */
  optimElements: Map<string, Float32Array>;
  /** Scalar optimizer state by parameter (`step`, `grad_norm_exp_avg`); replicated on all ranks. */
  optimScalars: Record<string, Record<string, number>>;
  /** Parameters that have per-element optimizer state (the others' slices are zeros). */
  optimElementParams: string[];
  /** Optimizer param groups; null without optimizer state. */
  paramGroups: ParamGroup[] | null;
}

/** A scalar host tensor. */
function scalar(value: number) {
  return { dtype: "float32" as const, shape: [], data: Float32Array.of(value) };
}

/** A 1-D host tensor of a copy of `values`. */
function vector(values: Float32Array) {
  return { dtype: "float32" as const, shape: [values.length], data: values.slice() };
}

/**
 * The pieces' optimizer state (`{param}.step`, `{param}.{element key}` of the piece's length)
 * from a full, validated state (`parseOptimizerState`).
 */
export function pieceStateFromFull(
  parsed: ReadonlyMap<string, ParsedParamState>,
  segments: readonly ShardSegment[],
): NamedHostTensors {
  const state: NamedHostTensors = new Map();
  for (const seg of segments) {
    const entry = parsed.get(seg.name);
    if (entry === undefined) continue;
    if (entry.step !== null) state.set(`${seg.name}.step`, scalar(entry.step));
    for (const [key, data] of entry.elements) {
      state.set(`${seg.name}.${key}`, vector(data.subarray(seg.paramStart, seg.paramEnd)));
    }
  }
  return state;
}

/**
 * The pieces' optimizer state from this rank's `ShardState` of the same layout (a sharded
 * checkpoint's rank file; `shard.optimElements` are indexed like the shard, as `seg.shardStart`).
 */
export function pieceStateFromShard(
  shard: ShardState,
  segments: readonly ShardSegment[],
): NamedHostTensors {
  const state: NamedHostTensors = new Map();
  const withElements = new Set(shard.optimElementParams);
  for (const seg of segments) {
    const step = shard.optimScalars[seg.name]?.step;
    if (step !== undefined) state.set(`${seg.name}.step`, scalar(step));
    if (!withElements.has(seg.name)) continue;
    const length = seg.paramEnd - seg.paramStart;
    for (const [key, data] of shard.optimElements) {
      state.set(
        `${seg.name}.${key}`,
        vector(data.subarray(seg.shardStart, seg.shardStart + length)),
      );
    }
  }
  return state;
}

/** The adaptive-clipping EMAs stored in a full state or a `ShardState`, by parameter. */
export function gradNormEmasOf(
  source: ReadonlyMap<string, ParsedParamState> | ShardState,
): Map<string, number> {
  const out = new Map<string, number>();
  if (source instanceof Map) {
    for (const [name, entry] of source) {
      if (entry.gradNormEma !== null) out.set(name, entry.gradNormEma);
    }
  } else {
    for (const [name, scalars] of Object.entries((source as ShardState).optimScalars)) {
      const ema = scalars.grad_norm_exp_avg;
      if (ema === undefined) continue;
      if (!Number.isFinite(ema) || ema < 0) {
        throw new Error(`grad_norm_exp_avg of parameter "${name}" must be finite and >= 0`);
      }
      out.set(name, ema);
    }
  }
  return out;
}
