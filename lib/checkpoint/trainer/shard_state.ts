/**
 * Cutting one rank's shard out of full host state dicts, and joining every rank's shard back
 * into them: the host-side counterpart of ZeRO's flat layout, for a single process saving a
 * sharded checkpoint and for unsharding one.
 *
 * @module
 */
import type { FlatLayout } from "../../distributed/zero/layout.ts";
import { type OptimizerStateDict, splitStateName } from "../../optim/optimizer_state.ts";
import { type HostTensor, type NamedHostTensors, toFloat32 } from "../../util/host_tensor.ts";
import type { RankShard } from "./sharded.ts";
import type { TrainerState } from "./state.ts";

/** Per-element optimizer state keys present in `optim` (tensors with their parameter's shape). */
function elementKeysOf(optim: OptimizerStateDict | null, shapes: Map<string, number[]>): string[] {
  const keys = new Set<string>();
  for (const [name, t] of optim?.state ?? []) {
    const [param, key] = splitStateName(name);
    if (t.shape.length > 0 && JSON.stringify(t.shape) === JSON.stringify(shapes.get(param))) {
      keys.add(key);
    }
  }
  return [...keys].sort();
}

/**
 * Cuts rank `rank`'s shard out of full state dicts (a single process saving a sharded
 * checkpoint, or tests). Parameters must be float32 and listed by `layout`.
 * @throws Error naming the tensor for a missing parameter or a shape mismatch.
 */
export function shardStateDicts(
  model: NamedHostTensors,
  optim: OptimizerStateDict | null,
  layout: FlatLayout,
  rank: number,
  trainer: TrainerState,
): RankShard {
  const { start, end } = layout.ranks[rank];
  const shapes = new Map(layout.params.map((p) => [p.name, p.shape]));
  const flatSlice = (get: (name: string) => HostTensor | undefined, what: string) => {
    const out = new Float32Array(end - start);
    layout.params.forEach((p) => {
      const lo = Math.max(start, p.offset);
      const hi = Math.min(end, p.offset + p.size);
      if (lo >= hi) return;
      const t = get(p.name);
      if (!t) return;
      if (JSON.stringify(t.shape) !== JSON.stringify(p.shape)) {
        throw new Error(
          `${what} "${p.name}" has shape ${JSON.stringify(t.shape)}, layout says ${
            JSON.stringify(p.shape)
          }`,
        );
      }
      out.set(toFloat32(t).subarray(lo - p.offset, hi - p.offset), lo - start);
    });
    return out;
  };
  for (const p of layout.params) {
    if (!model.has(p.name)) throw new Error(`model state has no parameter "${p.name}"`);
  }
  const params = flatSlice((n) => model.get(n), "parameter");
  const optimElements = new Map<string, Float32Array>();
  for (const key of elementKeysOf(optim, shapes)) {
    optimElements.set(key, flatSlice((n) => optim!.state.get(`${n}.${key}`), `optimizer ${key}`));
  }
  const optimScalars: Record<string, Record<string, number>> = {};
  const withElements = new Set<string>();
  for (const [name, t] of optim?.state ?? []) {
    const [param, key] = splitStateName(name);
    if (!shapes.has(param)) throw new Error(`optimizer state "${name}" names no parameter`);
    if (t.shape.length === 0) (optimScalars[param] ??= {})[key] = toFloat32(t)[0];
    else withElements.add(param);
  }
  return {
    rank,
    params,
    optimElements,
    optimScalars,
    optimElementParams: layout.params.map((p) => p.name).filter((n) => withElements.has(n)),
    paramGroups: optim ? optim.paramGroups : null,
    trainer,
  };
}

/**
 * Reassembles full state dicts from every rank's shard (in rank order).
 * @throws Error when a shard's size does not match the layout.
 */
export function unshardRankShards(
  layout: FlatLayout,
  shards: readonly RankShard[],
): { model: NamedHostTensors; optim: OptimizerStateDict | null } {
  const gather = (get: (s: RankShard) => Float32Array | undefined, what: string) => {
    const flat = new Float32Array(layout.numel);
    shards.forEach((s, r) => {
      const { start, end } = layout.ranks[r];
      const part = get(s);
      if (!part || part.length !== end - start) {
        throw new Error(
          `rank ${r} shard: ${what} has ${part?.length ?? 0} elements, expected ${end - start}`,
        );
      }
      flat.set(part, start);
    });
    return flat;
  };
  const split = (flat: Float32Array, i: number): HostTensor => {
    const { shape, offset, size } = layout.params[i];
    return { dtype: "float32", shape: [...shape], data: flat.slice(offset, offset + size) };
  };
  const flatParams = gather((s) => s.params, "params");
  const model: NamedHostTensors = new Map();
  layout.params.forEach((p, i) => model.set(p.name, split(flatParams, i)));
  const first = shards[0];
  if (first.paramGroups === null) return { model, optim: null };
  const state: NamedHostTensors = new Map();
  const elements = new Map(
    [...first.optimElements.keys()].map((k) => [k, gather((s) => s.optimElements.get(k), k)]),
  );
  const withElements = new Set(first.optimElementParams);
  layout.params.forEach((p, i) => {
    if (withElements.has(p.name)) {
      for (const [key, flat] of elements) state.set(`${p.name}.${key}`, split(flat, i));
    }
    for (const [key, v] of Object.entries(first.optimScalars[p.name] ?? {})) {
      state.set(`${p.name}.${key}`, { dtype: "float32", shape: [], data: Float32Array.of(v) });
    }
  });
  return { model, optim: { state, paramGroups: first.paramGroups } };
}
