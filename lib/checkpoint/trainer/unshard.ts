/**
 * Reading a whole sharded checkpoint in one process (OLMo's `scripts/unshard.py`): every rank
 * file of `step{N}/`, whatever world size wrote it, joined in memory into the state an unsharded
 * checkpoint holds. No MPI and no model code: `unshardCheckpoint` writes the result as `step{N}-unsharded/`, and
 * checkpoint conversion reads sharded inputs through it.
 *
 * Like OLMo's `scripts/unshard.py`, the trainer state is rank 0's without its RNG state (each
 * rank has its own, and none of them describes the joined checkpoint).
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { OptimizerStateDict } from "../../optim/optimizer_state.ts";
import { pathExists } from "../../util/fs.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import { detectCheckpointLayout } from "./detect.ts";
import { commitTmpDir, isNonEmptyDir, removeIfExists, TMP_SUFFIX } from "./run_folder.ts";
import { unshardRankShards } from "./shard_state.ts";
import {
  rankFileNames,
  type RankShard,
  readRankShard,
  readShardMetadata,
  SHARD_METADATA_FILE,
  type ShardMetadata,
} from "./sharded.ts";
import type { TrainerState } from "./state.ts";
import { CONFIG_FILE, MODEL_FILE, OLMO_MODEL_FILE, writeUnshardedFiles } from "./unsharded.ts";

/** Options of `readShardedCheckpoint` and `unshardCheckpoint`. */
export interface ReadShardedOptions {
  /** Skip the optimizer state (a weights-and-trainer-state checkpoint). Default false. */
  modelOnly?: boolean;
}

/** A sharded checkpoint joined in memory. */
export interface JoinedShardedCheckpoint {
  /** Processes that wrote the checkpoint. */
  worldSize: number;
  /** Full parameters by OLMo name, in the layout's order. */
  model: NamedHostTensors;
  /** Full optimizer state; null with `modelOnly` or when the checkpoint has none. */
  optim: OptimizerStateDict | null;
  /** Rank 0's trainer state without `rng`. */
  trainer: TrainerState;
  /** `config.yaml` text, or null when the folder has none. */
  configYaml: string | null;
}

/**
 * Checks that `dir` is a complete olmo-ts sharded checkpoint (`detectCheckpointLayout`):
 * `metadata.json` and both files of every rank it lists, and no rank files beyond its world
 * size. Returns the metadata.
 * @throws Error naming the folder and what is wrong: not a folder, an interrupted save (`-tmp`),
 *   an unsharded or OLMo (PyTorch) checkpoint, corrupt metadata, or the missing rank files.
 */
export async function checkShardedCheckpointFiles(dir: string): Promise<ShardMetadata> {
  if ((await detectCheckpointLayout(dir)) !== "olmo-ts-sharded") {
    for (const weights of [MODEL_FILE, OLMO_MODEL_FILE]) {
      if (await pathExists(join(dir, weights))) {
        throw new Error(`${dir} is already an unsharded checkpoint (it has ${weights})`);
      }
    }
    throw new Error(`${dir} is not a sharded olmo-ts checkpoint: it has no ${SHARD_METADATA_FILE}`);
  }
  const meta = await readShardMetadata(dir);
  const missing: string[] = [];
  for (let r = 0; r < meta.worldSize; r++) {
    const names = rankFileNames(r);
    for (const name of [names.json, names.tensors]) {
      if (!(await pathExists(join(dir, name)))) missing.push(name);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `${dir} is incomplete: ${missing.join(", ")} missing (${SHARD_METADATA_FILE} says ` +
        `${meta.worldSize} rank(s) wrote it, and every rank's files are needed to unshard)`,
    );
  }
  const stray: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = /^rank(\d+)\.(json|safetensors)$/.exec(entry.name);
    if (m && Number(m[1]) >= meta.worldSize) stray.push(entry.name);
  }
  if (stray.length > 0) {
    throw new Error(
      `${dir} mixes two saves: ${stray.sort().join(", ")} belong to no rank of its ` +
        `${meta.worldSize}-rank ${SHARD_METADATA_FILE}`,
    );
  }
  return meta;
}

/**
 * Reads every rank file of the sharded checkpoint `dir` (written at any world size) and joins
 * them into full state dicts. Peak memory is about three times the joined state (all rank
 * shards, the gathered flat vectors and the per-parameter tensors); `modelOnly` frees each
 * rank's optimizer slices as soon as they are read.
 * @throws Error naming the folder or file when the checkpoint is incomplete, inconsistent or
 *   corrupt (see `checkShardedCheckpointFiles`, `readRankShard`).
 */
export async function readShardedCheckpoint(
  dir: string,
  opts: ReadShardedOptions = {},
): Promise<JoinedShardedCheckpoint> {
  const meta = await checkShardedCheckpointFiles(dir);
  const shards: RankShard[] = [];
  for (let r = 0; r < meta.worldSize; r++) {
    const shard = await readRankShard(dir, meta, r);
    if (opts.modelOnly) {
      shard.optimElements.clear();
      shard.optimScalars = {};
      shard.optimElementParams = [];
      shard.paramGroups = null;
    }
    shards.push(shard);
  }
  const { model, optim } = unshardRankShards(meta.layout, shards);
  const { rng: _rng, ...trainer } = shards[0].trainer;
  const configPath = join(dir, CONFIG_FILE);
  const configYaml = (await pathExists(configPath)) ? await Deno.readTextFile(configPath) : null;
  return { worldSize: meta.worldSize, model, optim, trainer: trainer as TrainerState, configYaml };
}

/**
 * Converts the sharded checkpoint `inDir` (written at any world size) into an unsharded one at
 * `outDir` (name it `step{N}-unsharded`, `defaultUnshardedDir`, so restore and
 * `findLatestCheckpoint` recognise it), like OLMo's `scripts/unshard.py`: all ranks' shards are
 * joined, the trainer state is rank 0's without its RNG state, and `config.yaml` is copied;
 * `modelOnly` leaves the optimizer state out. Written to `outDir-tmp` first, then renamed.
 * @throws Error when `outDir` is `inDir` or exists and is not empty (unless `overwrite`), or a
 *   rank file is missing, inconsistent or corrupt (checked before anything is written).
 */
export async function unshardCheckpoint(
  inDir: string,
  outDir: string,
  overwrite = false,
  opts: ReadShardedOptions = {},
): Promise<void> {
  if (resolve(inDir) === resolve(outDir)) {
    throw new Error(`the unsharded output ${outDir} must differ from the input folder`);
  }
  if (!overwrite && (await isNonEmptyDir(outDir))) {
    throw new Error(`${outDir} exists and is not empty (pass overwrite to replace it)`);
  }
  const { model, optim, trainer, configYaml } = await readShardedCheckpoint(inDir, opts);
  const tmp = `${resolve(outDir)}${TMP_SUFFIX}`;
  await removeIfExists(tmp);
  await Deno.mkdir(tmp, { recursive: true });
  await writeUnshardedFiles(tmp, { model, optim, trainer, config: configYaml ?? undefined });
  await commitTmpDir(tmp, outDir);
}
