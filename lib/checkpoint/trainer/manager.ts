/**
 * Saving and restoring training checkpoints in a run folder (spec §6.6, §6.7, §7.1–7.3).
 *
 * `CheckpointManager` implements OLMo's save protocol: refuse (or, with `save_overwrite`,
 * replace) an existing `step{N}`; write everything into `step{N}-tmp/`; rename it to `step{N}/`;
 * re-point `latest` (relative symlink, atomic); prune the oldest checkpoints beyond the keep
 * count. A save killed at any moment leaves the previous checkpoint and `latest` intact.
 *
 * `loadCheckpoint` restores either kind, and `unshardCheckpoint` turns a sharded checkpoint into
 * an unsharded one (which loads at any world size). No model or trainer code is involved: state
 * comes in and goes out as host tensors and JSON.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { pathExists } from "../util/fs.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";
import type { OptimizerStateDict } from "../optim/optimizer_state.ts";
import {
  checkpointDirName,
  commitTmpDir,
  existingCheckpointError,
  isCheckpointOf,
  isNonEmptyDir,
  linkLatest,
  parseCheckpointDirName,
  prepareTmpDir,
  removeCheckpoint,
  removeIfExists,
  TMP_SUFFIX,
} from "./run_folder.ts";
import type { TrainerState } from "./trainer_checkpoint_state.ts";
import type { RankShard, ShardLayout } from "./trainer_checkpoint_sharded.ts";
import {
  buildShardLayout,
  readRankShard,
  readShardMetadata,
  SHARD_METADATA_FILE,
  shardStateDicts,
  unshardRankShards,
  writeRankShard,
  writeShardMetadata,
} from "./trainer_checkpoint_sharded.ts";
import type { ReadShardedOptions } from "./trainer_checkpoint_unshard.ts";
import { readShardedCheckpoint } from "./trainer_checkpoint_unshard.ts";
import type { ConfigSource, UnshardedContents } from "./trainer_checkpoint_unsharded.ts";
import {
  CONFIG_FILE,
  readUnshardedFiles,
  writeCheckpointConfig,
  writeUnshardedFiles,
} from "./trainer_checkpoint_unsharded.ts";

/** Options of `CheckpointManager` (OLMo's `TrainConfig` fields in parentheses). */
export interface CheckpointManagerOptions {
  /** Run folder (`save_folder`). */
  saveFolder: string;
  /** Replace an existing checkpoint of the same step (`save_overwrite`). Default false. */
  saveOverwrite?: boolean;
  /** Sharded checkpoints to keep; ≤ 0 keeps all (`save_num_checkpoints_to_keep`). Default -1. */
  keepSharded?: number;
  /** Unsharded checkpoints to keep (`save_num_unsharded_checkpoints_to_keep`). Default -1. */
  keepUnsharded?: number;
  /** This process's rank. Default 0. */
  rank?: number;
  /** Number of processes. Default 1. */
  worldSize?: number;
  /** Waits for every rank (required when `worldSize > 1`). */
  barrier?: () => Promise<void>;
}

/** One rank's part of a sharded save: its shard of the `layout` (see `RankShard`). */
export interface ShardedSaveContents {
  /** How the flattened state is split across ranks (identical on every rank). */
  layout: ShardLayout;
  /** This rank's shard; its `trainer` state is written as is except for the checkpoint lists. */
  shard: RankShard;
  /** Run config for `config.yaml` (written by rank 0). */
  config?: ConfigSource;
}

/** The error for a sharded checkpoint restored at another world size. */
function worldSizeError(dir: string, saved: number, current: number): Error {
  const parsed = parseCheckpointDirName(basename(dir));
  const out = parsed
    ? join(dirname(dir), checkpointDirName(parsed.step, false))
    : `${dir}-unsharded`;
  return new Error(
    `${dir} is a sharded checkpoint written by ${saved} process(es) but this run has ${current}; ` +
      `sharded checkpoints restore only at the same world size. Unshard it first with ` +
      `\`deno run -A cli/unshard.ts ${dir} ${out}\` and load that folder instead`,
  );
}

/** Saves checkpoints into a run folder and keeps the `latest` links and keep-N pruning. */
export class CheckpointManager {
  /** The run folder. */
  readonly saveFolder: string;
  /** Sharded checkpoint folders of this run, oldest first (saved in the trainer state). */
  checkpoints: string[] = [];
  /** Unsharded checkpoint folders of this run, oldest first. */
  unshardedCheckpoints: string[] = [];
  readonly #opts: Required<Omit<CheckpointManagerOptions, "barrier">>;
  readonly #barrier: () => Promise<void>;

  /** @throws Error when `worldSize > 1` without a `barrier`, or the rank is out of range. */
  constructor(opts: CheckpointManagerOptions) {
    const worldSize = opts.worldSize ?? 1;
    const rank = opts.rank ?? 0;
    if (!Number.isInteger(worldSize) || worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new Error(`invalid rank ${rank} / world size ${worldSize}`);
    }
    if (worldSize > 1 && !opts.barrier) {
      throw new Error(`a barrier is required to save checkpoints with world size ${worldSize}`);
    }
    this.saveFolder = opts.saveFolder;
    this.#opts = {
      saveFolder: opts.saveFolder,
      saveOverwrite: opts.saveOverwrite ?? false,
      keepSharded: opts.keepSharded ?? -1,
      keepUnsharded: opts.keepUnsharded ?? -1,
      rank,
      worldSize,
    };
    this.#barrier = opts.barrier ?? (() => Promise.resolve());
  }

  /**
   * Takes the checkpoint lists of a restored trainer state, keeping only existing folders that
   * are direct children of this run folder (OLMo's restart rule).
   */
  async restoreLists(trainer: TrainerState): Promise<void> {
    const keep = async (paths: string[]) => {
      const out: string[] = [];
      for (const p of paths) if (await isCheckpointOf(this.saveFolder, p)) out.push(p);
      return out;
    };
    this.checkpoints = await keep(trainer.checkpoints);
    this.unshardedCheckpoints = await keep(trainer.unsharded_checkpoints);
  }

  /**
   * Saves an unsharded checkpoint `step{N}-unsharded/`. Every rank calls it; rank 0 writes (it
   * must hold the full state). Returns the folder path.
   * @throws Error "Checkpoint for step N already exists, use --save-overwrite to overwrite".
   */
  async saveUnsharded(step: number, contents: UnshardedContents): Promise<string> {
    return await this.#save(step, false, async (tmp, lists) => {
      if (this.#opts.rank !== 0) return;
      await writeUnshardedFiles(tmp, { ...contents, trainer: { ...contents.trainer, ...lists } });
    });
  }

  /**
   * Saves a sharded checkpoint `step{N}/`. Every rank calls it with its own shard; with one
   * process the full state (`UnshardedContents`) may be given instead. Returns the folder path.
   * @throws Error "Checkpoint for step N already exists, use --save-overwrite to overwrite".
   */
  async saveSharded(
    step: number,
    contents: ShardedSaveContents | UnshardedContents,
  ): Promise<string> {
    let save: ShardedSaveContents;
    if ("shard" in contents) {
      save = contents;
    } else {
      if (this.#opts.worldSize !== 1) {
        throw new Error("with world size > 1 each rank must pass its own shard and the layout");
      }
      const layout = buildShardLayout(contents.model, 1);
      const shard = shardStateDicts(contents.model, contents.optim, layout, 0, contents.trainer);
      save = { layout, shard, config: contents.config };
    }
    if (save.layout.ranks.length !== this.#opts.worldSize || save.shard.rank !== this.#opts.rank) {
      throw new Error(
        `shard of rank ${save.shard.rank} with a ${save.layout.ranks.length}-rank layout, but this ` +
          `is rank ${this.#opts.rank} of ${this.#opts.worldSize}`,
      );
    }
    return await this.#save(step, true, async (tmp, lists, isRank0) => {
      const trainer = { ...save.shard.trainer, ...lists };
      await writeRankShard(tmp, save.layout, { ...save.shard, trainer });
      if (isRank0) {
        await writeShardMetadata(tmp, save.layout, [...save.shard.optimElements.keys()]);
        await writeCheckpointConfig(tmp, save.config);
      }
    });
  }

  /** The save protocol shared by both kinds; `write` fills the temporary folder. */
  async #save(
    step: number,
    sharded: boolean,
    write: (
      tmp: string,
      lists: Pick<TrainerState, "checkpoints" | "unsharded_checkpoints">,
      isRank0: boolean,
    ) => Promise<void>,
  ): Promise<string> {
    const name = checkpointDirName(step, sharded);
    const final = join(this.saveFolder, name);
    const tmp = `${final}${TMP_SUFFIX}`;
    const isRank0 = this.#opts.rank === 0;
    const error = await existingCheckpointError(final, step, this.#opts.saveOverwrite);
    if (error) throw error;
    await this.#barrier(); // everyone has looked before rank 0 touches anything
    if (isRank0) await prepareTmpDir(this.saveFolder, tmp);
    await this.#barrier();
    const list = sharded ? this.checkpoints : this.unshardedCheckpoints;
    const newList = [...list.filter((p) => resolve(p) !== resolve(final)), final];
    const lists = sharded
      ? { checkpoints: newList, unsharded_checkpoints: [...this.unshardedCheckpoints] }
      : { checkpoints: [...this.checkpoints], unsharded_checkpoints: newList };
    await write(tmp, lists, isRank0);
    await this.#barrier();
    if (isRank0) {
      await commitTmpDir(tmp, final);
      await linkLatest(this.saveFolder, name, sharded);
    }
    // Prune only now that the new checkpoint is complete and `latest` points at it.
    const keep = sharded ? this.#opts.keepSharded : this.#opts.keepUnsharded;
    while (keep > 0 && newList.length > keep) {
      const oldest = newList.shift()!;
      if (isRank0) await removeCheckpoint(this.saveFolder, oldest, sharded);
    }
    if (sharded) this.checkpoints = newList;
    else this.unshardedCheckpoints = newList;
    await this.#barrier();
    return final;
  }
}

/** Options of `loadCheckpoint`. */
export interface LoadCheckpointOptions {
  /** This process's rank (which shard to read). Default 0. */
  rank?: number;
  /** Number of processes; a sharded checkpoint must have been written by as many. Default 1. */
  worldSize?: number;
  /** Read the optimizer state (false for `reset_optimizer_state`). Default true. */
  loadOptimizerState?: boolean;
}

/** A restored checkpoint. */
export interface LoadedCheckpoint {
  /** The checkpoint folder (symlinks such as `latest` resolved). */
  dir: string;
  /** True for a sharded checkpoint. */
  sharded: boolean;
  /** `olmo-ts`, or `olmo-torch` for OLMo's own unsharded folders (weights only). */
  format: "olmo-ts" | "olmo-torch";
  /** Full model state: unsharded checkpoints and 1-rank sharded ones; null otherwise. */
  model: NamedHostTensors | null;
  /** Full optimizer state (as `model`); null when not requested. */
  optim: OptimizerStateDict | null;
  /** Trainer state (this rank's for sharded checkpoints); null when the folder has none. */
  trainer: TrainerState | null;
  /** Shard layout (sharded checkpoints only). */
  layout: ShardLayout | null;
  /** This rank's shard (sharded checkpoints only). */
  shard: RankShard | null;
  /** `config.yaml` text, or null. */
  configYaml: string | null;
}

/**
 * Restores a checkpoint folder (or a `latest` link): sharded when it has `metadata.json` (and
 * its name does not end in `-unsharded`), unsharded otherwise, including OLMo's `model.pt`
 * folders (weights only: pass `loadOptimizerState: false`).
 * @throws Error naming the folder when it is missing, incomplete (`-tmp`), of an unknown layout,
 *   or sharded for another world size (the message says how to unshard it).
 */
export async function loadCheckpoint(
  path: string,
  opts: LoadCheckpointOptions = {},
): Promise<LoadedCheckpoint> {
  const rank = opts.rank ?? 0;
  const worldSize = opts.worldSize ?? 1;
  const loadOptim = opts.loadOptimizerState ?? true;
  let dir: string;
  try {
    dir = await Deno.realPath(path);
  } catch (e) {
    throw new Error(`checkpoint folder ${path} cannot be opened: ${(e as Error).message}`);
  }
  if (dir.endsWith(TMP_SUFFIX)) {
    throw new Error(`${dir} is an incomplete checkpoint (a save was interrupted); load another`);
  }
  const configPath = join(dir, CONFIG_FILE);
  const configYaml = (await pathExists(configPath)) ? await Deno.readTextFile(configPath) : null;
  if (!dir.endsWith("-unsharded") && (await pathExists(join(dir, SHARD_METADATA_FILE)))) {
    const meta = await readShardMetadata(dir);
    if (meta.worldSize !== worldSize) throw worldSizeError(dir, meta.worldSize, worldSize);
    const shard = await readRankShard(dir, meta, rank);
    if (!loadOptim) {
      shard.optimElements.clear();
      shard.optimScalars = {};
      shard.optimElementParams = [];
      shard.paramGroups = null;
    } else if (shard.paramGroups === null) {
      throw new Error(
        `${dir} has no optimizer state; load it with --reset_optimizer_state to start a fresh optimizer`,
      );
    }
    const full = worldSize === 1 ? unshardRankShards(meta.layout, [shard]) : null;
    return {
      dir,
      sharded: true,
      format: "olmo-ts",
      model: full?.model ?? null,
      optim: full?.optim ?? null,
      trainer: shard.trainer,
      layout: meta.layout,
      shard,
      configYaml,
    };
  }
  if (await pathExists(join(dir, "rank0.pt"))) {
    throw new Error(
      `${dir} is an OLMo (PyTorch) sharded checkpoint, which olmo-ts cannot read; unshard it ` +
        `with OLMo's scripts/unshard.py and load the resulting folder`,
    );
  }
  const read = await readUnshardedFiles(dir, loadOptim);
  return { dir, sharded: false, ...read, layout: null, shard: null };
}

/**
 * Converts the sharded checkpoint `inDir` (written at any world size) into an unsharded one at
 * `outDir` (name it `step{N}-unsharded` so restore and `findLatestCheckpoint` recognise it), like
 * OLMo's `scripts/unshard.py`: all ranks' shards are joined, the trainer state is rank 0's without
 * its RNG state, and `config.yaml` is copied; `modelOnly` leaves the optimizer state out. Written
 * to `outDir-tmp` first, then renamed.
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
