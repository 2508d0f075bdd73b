/**
 * Optimizer state of a ZeRO rank: its pieces (the parts of each parameter inside the rank's
 * shard, as `ShardSegment`s) cut out of a full optimizer state or out of a sharded checkpoint's
 * rank file, in the format `Optimizer.loadStateDict` reads (`{param}.{key}`, piece shapes), and
 * the check that a sharded checkpoint was cut the way this run shards its parameters.
 *
 * @module
 */
import type { RankShard, ShardLayout } from "../checkpoint/trainer_checkpoint_sharded.ts";
import type { ShardSegment } from "../distributed/flat_layout.ts";
import type { ParsedParamState } from "../optim/optimizer_state.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";

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
 * The pieces' optimizer state from this rank's file of a sharded checkpoint with the same
 * layout (`shard.optimElements` are indexed like the shard, as `seg.shardStart` is).
 */
export function pieceStateFromRankShard(
  shard: RankShard,
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

/** The adaptive-clipping EMAs stored in a full state or a rank file, by parameter. */
export function gradNormEmasOf(
  source: ReadonlyMap<string, ParsedParamState> | RankShard,
): Map<string, number> {
  const out = new Map<string, number>();
  if (source instanceof Map) {
    for (const [name, entry] of source) {
      if (entry.gradNormEma !== null) out.set(name, entry.gradNormEma);
    }
  } else {
    for (const [name, scalars] of Object.entries((source as RankShard).optimScalars)) {
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

/**
 * Why a sharded checkpoint's layout cannot be restored by this run's ZeRO layout, or null when
 * they agree (same parameters, shapes and order, same rank ranges).
 */
export function layoutMismatch(expected: ShardLayout, found: ShardLayout): string | null {
  const names = (l: ShardLayout) => l.params.map((p) => `${p.name}[${p.shape.join(",")}]`);
  const want = names(expected);
  const got = names(found);
  const firstDiff = want.findIndex((n, i) => n !== got[i]);
  if (want.length !== got.length || firstDiff >= 0) {
    const at = firstDiff >= 0 ? firstDiff : Math.min(want.length, got.length);
    return `the checkpoint's parameters differ from this model's (entry ${at}: checkpoint has ` +
      `${got[at] ?? "nothing"}, the model has ${want[at] ?? "nothing"})`;
  }
  const ranges = (l: ShardLayout) => JSON.stringify(l.ranks.map((r) => [r.start, r.end]));
  if (ranges(expected) !== ranges(found)) {
    return `the checkpoint's rank ranges ${ranges(found)} differ from this run's ${
      ranges(expected)
    }`;
  }
  return null;
}
