/**
 * Sharded checkpoints (`step{N}/`): each rank writes its own slice of the state, ZeRO style.
 *
 * All parameters are flattened, in `ShardLayout.params` order, into one float32 vector; rank r
 * owns the contiguous range `layout.ranks[r]` of it, and the per-element optimizer state
 * (`exp_avg`, `exp_avg_sq`) is sliced the same way. Files:
 *
 * | file | contents |
 * | --- | --- |
 * | `metadata.json` | `{format, format_version, world_size, layout, optim_element_keys}` (rank 0) |
 * | `rank{r}.safetensors` | `params` (n_r) and `optim.{key}` (n_r) for each per-element key |
 * | `rank{r}.json` | `{format_version, rank, world_size, start, end, trainer, optim}` where `optim` is
 * `{param_groups, element_params, scalars: {param: {step?, grad_norm_exp_avg?}}}` or null |
 * | `config.yaml` | the run's `TrainConfig` (rank 0) |
 *
 * A parameter has per-element optimizer state iff it is listed in `element_params`; its slices
 * are zeros otherwise. With one process the single shard is the whole state.
 * Restoring needs the same world size; `unshardCheckpoint` converts to the unsharded layout.
 *
 * @module
 */
import { join } from "node:path";
import type { HostTensor, NamedHostTensors } from "../util/host_tensor.ts";
import { numElements, toFloat32 } from "../util/host_tensor.ts";
import { writeFileAtomic } from "../util/fs.ts";
import type { OptimizerStateDict } from "../optim/optimizer_state.ts";
import { splitStateName } from "../optim/optimizer_state.ts";
import type { ParamGroup } from "../optim/param_groups.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import type { TrainerState } from "./trainer_checkpoint_state.ts";
import { parseTrainerState } from "./trainer_checkpoint_state.ts";
import { CHECKPOINT_FORMAT_VERSION } from "./trainer_checkpoint_unsharded.ts";

/** `format` of `metadata.json`. */
export const SHARDED_FORMAT = "olmo-ts-sharded";
/** Sharded checkpoint metadata file. */
export const SHARD_METADATA_FILE = "metadata.json";

/** How the flattened parameters are split across ranks. */
export interface ShardLayout {
  /** Parameters in flattening order, with their full shapes. */
  params: { name: string; shape: number[] }[];
  /** Each rank's `[start, end)` in the flattened vector: contiguous, covering all elements. */
  ranks: { start: number; end: number }[];
}

/** One rank's part of a sharded checkpoint. */
export interface RankShard {
  /** This rank. */
  rank: number;
  /** Elements `layout.ranks[rank]` of the flattened parameters. */
  params: Float32Array;
  /** The same range of each per-element optimizer state (`exp_avg`, ...); empty if none. */
  optimElements: Map<string, Float32Array>;
  /** Scalar optimizer state by parameter (`step`, `grad_norm_exp_avg`); replicated on all ranks. */
  optimScalars: Record<string, Record<string, number>>;
  /** Parameters that have per-element optimizer state (the others' slices are zeros). */
  optimElementParams: string[];
  /** Optimizer param groups; null for a checkpoint without optimizer state. */
  paramGroups: ParamGroup[] | null;
  /** This rank's trainer state (its own RNG state included). */
  trainer: TrainerState;
}

/** Element offset of each parameter in the flattened vector, and the total. */
export function layoutOffsets(layout: ShardLayout): { offsets: number[]; numel: number } {
  const offsets: number[] = [];
  let numel = 0;
  for (const p of layout.params) {
    offsets.push(numel);
    numel += numElements(p.shape);
  }
  return { offsets, numel };
}

/**
 * An even ZeRO-style split of `params` (flattened in the given order) over `worldSize` ranks:
 * rank r owns `[r·⌈n/w⌉, min((r+1)·⌈n/w⌉, n))`.
 */
export function buildShardLayout(
  params: Iterable<[string, { shape: readonly number[] }]>,
  worldSize: number,
): ShardLayout {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new Error(`world size must be a positive integer, got ${worldSize}`);
  }
  const list = [...params].map(([name, t]) => ({ name, shape: [...t.shape] }));
  const { numel } = layoutOffsets({ params: list, ranks: [] });
  const per = Math.ceil(numel / worldSize);
  const ranks = Array.from({ length: worldSize }, (_, r) => ({
    start: Math.min(r * per, numel),
    end: Math.min((r + 1) * per, numel),
  }));
  return { params: list, ranks };
}

/** Checks a layout read from disk. @throws Error naming `source` and the problem. */
export function validateShardLayout(layout: unknown, source: string): ShardLayout {
  const l = layout as ShardLayout;
  const ok = l !== null && typeof l === "object" && Array.isArray(l.params) &&
    Array.isArray(l.ranks) &&
    l.params.every((p) =>
      typeof p?.name === "string" && Array.isArray(p.shape) &&
      p.shape.every((d) => Number.isInteger(d) && d >= 0)
    );
  if (!ok) throw new Error(`${source}: "layout" must be {params: [{name, shape}], ranks: [...]}`);
  const { numel } = layoutOffsets(l);
  let at = 0;
  for (const [r, range] of l.ranks.entries()) {
    if (range?.start !== at || !Number.isInteger(range.end) || range.end < at) {
      throw new Error(
        `${source}: rank ${r}'s range ${JSON.stringify(range)} does not start at ${at}`,
      );
    }
    at = range.end;
  }
  if (at !== numel || l.ranks.length === 0) {
    throw new Error(`${source}: rank ranges cover ${at} of ${numel} parameter elements`);
  }
  return l;
}

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
  layout: ShardLayout,
  rank: number,
  trainer: TrainerState,
): RankShard {
  const { offsets } = layoutOffsets(layout);
  const { start, end } = layout.ranks[rank];
  const shapes = new Map(layout.params.map((p) => [p.name, p.shape]));
  const flatSlice = (get: (name: string) => HostTensor | undefined, what: string) => {
    const out = new Float32Array(end - start);
    layout.params.forEach((p, i) => {
      const lo = Math.max(start, offsets[i]);
      const hi = Math.min(end, offsets[i] + numElements(p.shape));
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
      out.set(toFloat32(t).subarray(lo - offsets[i], hi - offsets[i]), lo - start);
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
  layout: ShardLayout,
  shards: readonly RankShard[],
): { model: NamedHostTensors; optim: OptimizerStateDict | null } {
  const { offsets, numel } = layoutOffsets(layout);
  const gather = (get: (s: RankShard) => Float32Array | undefined, what: string) => {
    const flat = new Float32Array(numel);
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
    const shape = layout.params[i].shape;
    const data = flat.slice(offsets[i], offsets[i] + numElements(shape));
    return { dtype: "float32", shape: [...shape], data };
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

/** `rank{r}.safetensors` and `rank{r}.json` names. */
export function rankFileNames(rank: number): { tensors: string; json: string } {
  return { tensors: `rank${rank}.safetensors`, json: `rank${rank}.json` };
}

/** Writes one rank's files into the (temporary) checkpoint folder `dir`. */
export async function writeRankShard(
  dir: string,
  layout: ShardLayout,
  shard: RankShard,
): Promise<void> {
  const { start, end } = layout.ranks[shard.rank];
  if (shard.params.length !== end - start) {
    throw new Error(
      `rank ${shard.rank}: ${shard.params.length} parameter elements, layout says ${end - start}`,
    );
  }
  const tensors: NamedHostTensors = new Map([
    ["params", { dtype: "float32", shape: [end - start], data: shard.params }],
  ]);
  for (const [key, data] of shard.optimElements) {
    if (data.length !== end - start) {
      throw new Error(`rank ${shard.rank}: optimizer ${key} has ${data.length} elements`);
    }
    tensors.set(`optim.${key}`, { dtype: "float32", shape: [end - start], data });
  }
  const names = rankFileNames(shard.rank);
  await writeSafetensors(join(dir, names.tensors), tensors);
  const json = {
    format_version: CHECKPOINT_FORMAT_VERSION,
    rank: shard.rank,
    world_size: layout.ranks.length,
    start,
    end,
    trainer: shard.trainer,
    optim: shard.paramGroups === null ? null : {
      param_groups: shard.paramGroups,
      element_params: shard.optimElementParams,
      scalars: shard.optimScalars,
    },
  };
  await writeFileAtomic(join(dir, names.json), JSON.stringify(json, null, 1));
}

/** Writes `metadata.json` (rank 0's job). */
export async function writeShardMetadata(
  dir: string,
  layout: ShardLayout,
  optimElementKeys: readonly string[],
): Promise<void> {
  const meta = {
    format: SHARDED_FORMAT,
    format_version: CHECKPOINT_FORMAT_VERSION,
    world_size: layout.ranks.length,
    layout,
    optim_element_keys: [...optimElementKeys],
  };
  await writeFileAtomic(join(dir, SHARD_METADATA_FILE), JSON.stringify(meta));
}

/** Parsed `metadata.json`. */
export interface ShardMetadata {
  /** Processes that wrote the checkpoint. */
  worldSize: number;
  /** The shard layout. */
  layout: ShardLayout;
  /** Per-element optimizer state keys stored in every rank file. */
  optimElementKeys: string[];
}

/** Reads and validates `metadata.json` of a sharded checkpoint folder. */
export async function readShardMetadata(dir: string): Promise<ShardMetadata> {
  const path = join(dir, SHARD_METADATA_FILE);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`cannot read sharded checkpoint metadata ${path}: ${(e as Error).message}`);
  }
  if (meta?.format !== SHARDED_FORMAT || meta.format_version !== CHECKPOINT_FORMAT_VERSION) {
    throw new Error(
      `${path}: not an olmo-ts sharded checkpoint of format version ${CHECKPOINT_FORMAT_VERSION} ` +
        `(format ${JSON.stringify(meta?.format)}, version ${JSON.stringify(meta?.format_version)})`,
    );
  }
  const layout = validateShardLayout(meta.layout, path);
  const keys = meta.optim_element_keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
    throw new Error(`${path}: "optim_element_keys" must be a list of strings`);
  }
  if (meta.world_size !== layout.ranks.length) {
    throw new Error(
      `${path}: world_size ${meta.world_size} but ${layout.ranks.length} rank ranges`,
    );
  }
  return { worldSize: layout.ranks.length, layout, optimElementKeys: keys };
}

/**
 * Reads rank `rank`'s files of the sharded checkpoint `dir`.
 * @throws Error naming the file when it is missing, or disagrees with `meta`.
 */
export async function readRankShard(
  dir: string,
  meta: ShardMetadata,
  rank: number,
): Promise<RankShard> {
  const names = rankFileNames(rank);
  const jsonPath = join(dir, names.json);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (e) {
    throw new Error(`cannot read rank state ${jsonPath}: ${(e as Error).message}`);
  }
  const { start, end } = meta.layout.ranks[rank];
  if (json?.rank !== rank || json.start !== start || json.end !== end) {
    throw new Error(`${jsonPath}: rank/start/end disagree with metadata.json (rank ${rank})`);
  }
  const trainer = parseTrainerState(json.trainer, `${jsonPath} "trainer"`);
  const optim = json.optim as
    | { param_groups?: unknown; element_params?: unknown; scalars?: unknown }
    | null;
  if (
    optim !== null &&
    (!Array.isArray(optim?.param_groups) || optim.scalars === null ||
      typeof optim.scalars !== "object" || !Array.isArray(optim.element_params) ||
      !optim.element_params.every((n) => typeof n === "string"))
  ) {
    throw new Error(
      `${jsonPath}: "optim" must be null or {param_groups: [...], element_params: [...], scalars: {...}}`,
    );
  }
  const scalars = (optim?.scalars ?? {}) as Record<string, Record<string, unknown>>;
  for (const [param, entry] of Object.entries(scalars)) {
    const bad = entry === null || typeof entry !== "object" ||
      Object.values(entry).some((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad) {
      throw new Error(`${jsonPath}: optimizer scalars of "${param}" must map keys to numbers`);
    }
  }
  const tensorsPath = join(dir, names.tensors);
  const { tensors } = await readSafetensors(tensorsPath);
  const flat = (name: string) => {
    const t = tensors.get(name);
    if (!t || t.dtype !== "float32" || t.shape.length !== 1 || t.shape[0] !== end - start) {
      throw new Error(
        `${tensorsPath}: "${name}" must be float32 [${end - start}], got ${
          t ? `${t.dtype}${JSON.stringify(t.shape)}` : "nothing"
        }`,
      );
    }
    return t.data as Float32Array;
  };
  const optimElements = new Map<string, Float32Array>();
  if (optim !== null) {
    for (const key of meta.optimElementKeys) optimElements.set(key, flat(`optim.${key}`));
  }
  return {
    rank,
    params: flat("params"),
    optimElements,
    optimScalars: scalars as Record<string, Record<string, number>>,
    optimElementParams: (optim?.element_params ?? []) as string[],
    paramGroups: optim === null ? null : optim.param_groups as ParamGroup[],
    trainer,
  };
}
