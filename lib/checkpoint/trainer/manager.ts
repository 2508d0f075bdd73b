/**
 * Saving training checkpoints in a run folder, as OLMo's `olmo/checkpoint.py` and
 * `Trainer.save_checkpoint` do.
 *
 * `CheckpointManager` implements OLMo's save protocol: refuse (or, with `save_overwrite`,
 * replace) an existing `step{N}`; write everything into `step{N}-tmp/`; rename it to `step{N}/`;
 * re-point `latest` (relative symlink, atomic); prune the oldest checkpoints beyond the keep
 * count. A save killed at any moment leaves the previous checkpoint and `latest` intact. No
 * model or trainer code is involved: state comes in as host tensors and JSON.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { flatLayout } from "../../distributed/zero/layout.ts";
import type { FlatLayout } from "../../distributed/zero/layout.ts";
import {
  checkpointDirName,
  commitTmpDir,
  existingCheckpointError,
  isCheckpointOf,
  linkLatest,
  prepareTmpDir,
  removeCheckpoint,
  TMP_SUFFIX,
} from "./run_folder.ts";
import { checkpointSaveFailure } from "./save_failure.ts";
import { shardStateDicts } from "./shard_state.ts";
import { type RankShard, writeRankShard, writeShardMetadata } from "./sharded.ts";
import type { TrainerState } from "./state.ts";
import {
  type ConfigSource,
  type UnshardedContents,
  writeCheckpointConfig,
  writeUnshardedFiles,
} from "./unsharded.ts";

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
  layout: FlatLayout;
  /** This rank's shard; its `trainer` state is written as is except for the checkpoint lists. */
  shard: RankShard;
  /** Run config for `config.yaml` (written by rank 0). */
  config?: ConfigSource;
}

/** Saves checkpoints into a run folder and keeps the `latest` links and keep-N pruning. */
export class CheckpointManager {
  /** The run folder. */
  readonly saveFolder: string;
  /** Sharded checkpoint folders of this run, oldest first (saved in the trainer state). */
  checkpoints: string[] = [];
  /** Unsharded checkpoint folders of this run, oldest first. */
  unshardedCheckpoints: string[] = [];
  /**
   * OLMo later's ephemeral checkpoints (`save_interval_ephemeral`): sharded folders of which only
   * the newest is kept, all removed once a regular sharded checkpoint is saved.
   */
  ephemeralCheckpoints: string[] = [];
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
    const ephemeral = trainer.ephemeral_checkpoints;
    this.ephemeralCheckpoints = Array.isArray(ephemeral)
      ? await keep(ephemeral.filter((p): p is string => typeof p === "string"))
      : [];
  }

  /** Deletes every ephemeral checkpoint (after a regular sharded save, as OLMo does). */
  async removeEphemeralCheckpoints(): Promise<void> {
    while (this.ephemeralCheckpoints.length > 0) {
      const path = this.ephemeralCheckpoints.shift()!;
      if (this.#opts.rank === 0) await removeCheckpoint(this.saveFolder, path, true);
    }
    await this.#barrier();
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
   * With `ephemeral` it is an ephemeral checkpoint: the previous ephemeral one is deleted and the
   * regular list (and its keep-N pruning) is left alone.
   * @throws Error "Checkpoint for step N already exists, use --save-overwrite to overwrite".
   */
  async saveSharded(
    step: number,
    contents: ShardedSaveContents | UnshardedContents,
    opts: { ephemeral?: boolean } = {},
  ): Promise<string> {
    let save: ShardedSaveContents;
    if ("shard" in contents) {
      save = contents;
    } else {
      if (this.#opts.worldSize !== 1) {
        throw new Error("with world size > 1 each rank must pass its own shard and the layout");
      }
      const layout = flatLayout(contents.model, 1);
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
    }, opts.ephemeral ?? false);
  }

  /** The save protocol shared by both kinds; `write` fills the temporary folder. */
  async #save(
    step: number,
    sharded: boolean,
    write: (
      tmp: string,
      lists: Pick<TrainerState, "checkpoints" | "unsharded_checkpoints"> & {
        ephemeral_checkpoints?: string[];
      },
      isRank0: boolean,
    ) => Promise<void>,
    ephemeral = false,
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
    const list = ephemeral
      ? this.ephemeralCheckpoints
      : sharded
      ? this.checkpoints
      : this.unshardedCheckpoints;
    const newList = [...list.filter((p) => resolve(p) !== resolve(final)), final];
    const ephemeralList = ephemeral ? newList : [...this.ephemeralCheckpoints];
    const lists = {
      checkpoints: sharded && !ephemeral ? newList : [...this.checkpoints],
      unsharded_checkpoints: sharded ? [...this.unshardedCheckpoints] : newList,
      // Only runs with ephemeral checkpoints record the list (older states stay as they were).
      ...(ephemeralList.length > 0 ? { ephemeral_checkpoints: ephemeralList } : {}),
    };
    try {
      await write(tmp, lists, isRank0);
      await this.#barrier();
      if (isRank0) {
        await commitTmpDir(tmp, final);
        await linkLatest(this.saveFolder, name, sharded);
      }
    } catch (e) {
      throw await checkpointSaveFailure(e, { step, saveFolder: this.saveFolder, tmp });
    }
    // Prune only now that the new checkpoint is complete and `latest` points at it.
    const keep = ephemeral ? 1 : sharded ? this.#opts.keepSharded : this.#opts.keepUnsharded;
    while (keep > 0 && newList.length > keep) {
      const oldest = newList.shift()!;
      if (isRank0) await removeCheckpoint(this.saveFolder, oldest, sharded);
    }
    if (ephemeral) this.ephemeralCheckpoints = newList;
    else if (sharded) this.checkpoints = newList;
    else this.unshardedCheckpoints = newList;
    await this.#barrier();
    return final;
  }
}
