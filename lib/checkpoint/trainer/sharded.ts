/**
 * Sharded checkpoints (`step{N}/`): each rank writes its own slice of the state, ZeRO style.
 *
 * All parameters are flattened, in `layout.params` order (a ZeRO `FlatLayout`), into one float32
 * vector; rank r owns the contiguous range `layout.ranks[r]` of it, and the per-element optimizer state
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
import { type FlatLayout, flatLayout, type ShardRange } from "../../distributed/zero/layout.ts";
import type { ShardState } from "../../distributed/zero/state.ts";
import type { ParamGroup } from "../../optim/param_groups.ts";
import { writeFileAtomic } from "../../util/fs.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import type { TrainerState } from "./state.ts";
import { parseTrainerState } from "./state.ts";
import { CHECKPOINT_FORMAT_VERSION } from "./unsharded.ts";

/** `format` of `metadata.json`. */
export const SHARDED_FORMAT = "olmo-ts-sharded";
/** Sharded checkpoint metadata file. */
export const SHARD_METADATA_FILE = "metadata.json";

/** One rank's part of a sharded checkpoint: its `ShardState` and its own trainer state. */
export interface RankShard extends ShardState {
  /** This rank's trainer state (its own RNG state included). */
  trainer: TrainerState;
}

/** The `layout` of `metadata.json`: parameter names and shapes, and each rank's range. */
function layoutJson(layout: FlatLayout): unknown {
  return {
    params: layout.params.map((p) => ({ name: p.name, shape: p.shape })),
    ranks: layout.ranks.map((r) => ({ start: r.start, end: r.end })),
  };
}

/**
 * Checks a `layout` read from disk: the parameters, and rank ranges that are exactly the even
 * split `flatLayout` makes over as many ranks. @throws Error naming `source` and the problem.
 */
export function parseShardLayout(json: unknown, source: string): FlatLayout {
  const l = json as { params?: { name?: unknown; shape?: unknown }[]; ranks?: unknown[] } | null;
  const ok = l !== null && typeof l === "object" && Array.isArray(l.params) &&
    Array.isArray(l.ranks) && l.ranks.length > 0 &&
    l.params.every((p) =>
      typeof p?.name === "string" && Array.isArray(p.shape) &&
      p.shape.every((d) => Number.isInteger(d) && d >= 0)
    );
  if (!ok) throw new Error(`${source}: "layout" must be {params: [{name, shape}], ranks: [...]}`);
  const params = l!.params!.map((p) => [p.name as string, { shape: p.shape as number[] }] as const);
  let layout: FlatLayout;
  try {
    layout = flatLayout(params, l!.ranks!.length);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  const pairs = (ranks: readonly unknown[]) =>
    JSON.stringify(ranks.map((r) => [(r as ShardRange)?.start, (r as ShardRange)?.end]));
  if (pairs(l!.ranks!) !== pairs(layout.ranks)) {
    throw new Error(
      `${source}: rank ranges ${pairs(l!.ranks!)} are not the even split of ${layout.numel} ` +
        `parameter elements over ${layout.worldSize} ranks (${pairs(layout.ranks)})`,
    );
  }
  return layout;
}

/** `rank{r}.safetensors` and `rank{r}.json` names. */
export function rankFileNames(rank: number): { tensors: string; json: string } {
  return { tensors: `rank${rank}.safetensors`, json: `rank${rank}.json` };
}

/** Writes one rank's files into the (temporary) checkpoint folder `dir`. */
export async function writeRankShard(
  dir: string,
  layout: FlatLayout,
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
  layout: FlatLayout,
  optimElementKeys: readonly string[],
): Promise<void> {
  const meta = {
    format: SHARDED_FORMAT,
    format_version: CHECKPOINT_FORMAT_VERSION,
    world_size: layout.ranks.length,
    layout: layoutJson(layout),
    optim_element_keys: [...optimElementKeys],
  };
  await writeFileAtomic(join(dir, SHARD_METADATA_FILE), JSON.stringify(meta));
}

/** Parsed `metadata.json`. */
export interface ShardMetadata {
  /** Processes that wrote the checkpoint. */
  worldSize: number;
  /** The shard layout. */
  layout: FlatLayout;
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
  const layout = parseShardLayout(meta.layout, path);
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
