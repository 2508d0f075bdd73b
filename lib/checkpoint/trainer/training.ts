/**
 * The trainer's side of checkpointing: turning the live model, optimizer and counters into a
 * checkpoint through `CheckpointManager` (spec §6.6, §7.2), and reading one back from a folder,
 * a `latest` link or a URL (spec §6.7) as full host state dicts.
 *
 * With ZeRO data parallelism (`ZeroDataParallel`) each rank writes the shard it owns, an
 * unsharded save gathers the optimizer state for rank 0, and a sharded checkpoint restores from
 * this rank's own file. Without it every rank holds the full state: a sharded save cuts this
 * rank's shard out of it, and restoring a sharded checkpoint written by several ranks reads every
 * rank's file and reassembles the full state. `applyTrainingCheckpoint` puts what was read into
 * the live model and optimizer (or the ZeRO shards).
 *
 * @module
 */
import { dirname } from "node:path";
import type { CheckpointManager, ShardedSaveContents } from "../checkpoint/trainer_checkpoint.ts";
import { loadCheckpoint } from "../checkpoint/trainer_checkpoint.ts";
import type { TrainerState } from "../checkpoint/trainer_checkpoint_state.ts";
import {
  buildShardLayout,
  type RankShard,
  readRankShard,
  readShardMetadata,
  type ShardLayout,
  shardStateDicts,
  unshardRankShards,
} from "../checkpoint/trainer_checkpoint_sharded.ts";
import type { UnshardedContents } from "../checkpoint/trainer_checkpoint_unsharded.ts";
import { isUrl, resolveResource, ResourceNotFoundError } from "../checkpoint/remote.ts";
import type { Olmo } from "../model/olmo.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { OptimizerStateDict } from "../optim/optimizer_state.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";
import { zeroFullOptimizerState, zeroRankShard } from "./zero_checkpoint.ts";
import type { ZeroDataParallel } from "./zero_data_parallel.ts";

/** What a save needs. */
export interface SaveInputs {
  /** The model. */
  model: Olmo;
  /** The optimizer. */
  optimizer: Optimizer;
  /** The trainer state to store (its checkpoint lists are filled in by the manager). */
  trainer: TrainerState;
  /** `config.yaml` text. */
  configYaml: string;
  /** This rank and the world size. */
  rank: number;
  worldSize: number;
  /** ZeRO state of a multi-rank run (its optimizer is `optimizer`). */
  dataParallel?: ZeroDataParallel;
}

/**
 * Saves `step{N}/` (sharded) or `step{N}-unsharded/` for the step in `inputs.trainer`; returns
 * the folder. Every rank calls it.
 * @throws Error "Checkpoint for step N already exists, use --save-overwrite to overwrite".
 */
export async function saveTrainingCheckpoint(
  manager: CheckpointManager,
  sharded: boolean,
  inputs: SaveInputs,
): Promise<string> {
  const step = inputs.trainer.global_step;
  const zero = inputs.dataParallel;
  if (zero !== undefined && sharded) {
    const shard = await zeroRankShard(zero, inputs.trainer);
    return await manager.saveSharded(step, {
      layout: zero.checkpointLayout(),
      shard,
      config: inputs.configYaml,
    });
  }
  if (zero !== undefined) {
    // Rank 0 writes the files; every rank takes part in gathering the optimizer state.
    const optim = await zeroFullOptimizerState(zero);
    const model = inputs.rank === 0 ? await inputs.model.stateDict() : new Map();
    const contents = { model, optim, trainer: inputs.trainer, config: inputs.configYaml };
    return await manager.saveUnsharded(step, contents);
  }
  const full: UnshardedContents = {
    model: await inputs.model.stateDict(),
    optim: await inputs.optimizer.stateDict(),
    trainer: inputs.trainer,
    config: inputs.configYaml,
  };
  if (!sharded) return await manager.saveUnsharded(step, full);
  if (inputs.worldSize === 1) return await manager.saveSharded(step, full);
  const layout = buildShardLayout(full.model, inputs.worldSize);
  const shard = shardStateDicts(full.model, full.optim, layout, inputs.rank, full.trainer);
  const contents: ShardedSaveContents = { layout, shard, config: inputs.configYaml };
  return await manager.saveSharded(step, contents);
}

/** A checkpoint read back as full state. */
export interface RestoredCheckpoint {
  /** The local folder read (the download cache for URLs). */
  dir: string;
  /** `olmo-ts`, or `olmo-torch` for OLMo's own `model.pt` folders. */
  format: "olmo-ts" | "olmo-torch";
  /** True for a sharded checkpoint. */
  sharded: boolean;
  /** Parameters by OLMo name; null when `rankShard` holds this rank's shard instead. */
  model: NamedHostTensors | null;
  /** Optimizer state, or null when not requested. */
  optim: OptimizerStateDict | null;
  /** Trainer state, or null when the checkpoint has none (model-only, OLMo's). */
  trainer: TrainerState | null;
  /**
   * This rank's file of a sharded checkpoint of several ranks, when `keepRankShard` was asked
   * (a ZeRO run restores it directly); null otherwise.
   */
  rankShard: { layout: ShardLayout; shard: RankShard } | null;
}

/** Files fetched from a remote unsharded checkpoint: required ones throw when missing. */
async function downloadUnsharded(url: string, loadOptimizerState: boolean): Promise<string> {
  const fetchOne = async (name: string, required: boolean): Promise<string | null> => {
    try {
      return await resolveResource(url, name, { progress: true });
    } catch (e) {
      if (e instanceof ResourceNotFoundError && !required) return null;
      throw e;
    }
  };
  const weights = (await fetchOne("model.safetensors", false)) ??
    (await fetchOne("model.pt", false));
  if (weights === null) {
    throw new Error(
      `${url}: no model.safetensors or model.pt; only unsharded checkpoints load from URLs`,
    );
  }
  await fetchOne("config.yaml", false);
  await fetchOne("train.json", false);
  if (loadOptimizerState && weights.endsWith(".safetensors")) {
    await fetchOne("optim.json", true);
    await fetchOne("optim.safetensors", true);
  }
  return dirname(weights);
}

/**
 * Reads a checkpoint for this rank: a local folder (or `latest` link), or a URL of an unsharded
 * one (downloaded into the cache first). `loadOptimizerState: false` is what
 * `reset_optimizer_state` does, and is required for OLMo's `model.pt` folders. A sharded
 * checkpoint of several ranks is reassembled into the full state, unless `keepRankShard`: then
 * only this rank's file is read, into `rankShard`.
 * @throws Error naming the folder when it cannot be restored (see `loadCheckpoint`).
 */
export async function readTrainingCheckpoint(
  path: string,
  opts: { rank: number; worldSize: number; loadOptimizerState: boolean; keepRankShard?: boolean },
): Promise<RestoredCheckpoint> {
  const local = isUrl(path) && !path.toLowerCase().startsWith("file://")
    ? await downloadUnsharded(path, opts.loadOptimizerState)
    : path.replace(/^file:\/\//i, "");
  const loaded = await loadCheckpoint(local, opts);
  let model = loaded.model;
  let optim = loaded.optim;
  if (model === null && opts.keepRankShard && loaded.layout !== null && loaded.shard !== null) {
    return {
      dir: loaded.dir,
      format: loaded.format,
      sharded: true,
      model: null,
      optim: null,
      trainer: loaded.trainer,
      rankShard: { layout: loaded.layout, shard: loaded.shard },
    };
  }
  if (model === null) {
    // A sharded checkpoint of several ranks: every rank reassembles the full state.
    const meta = await readShardMetadata(loaded.dir);
    const shards = [];
    for (let r = 0; r < meta.worldSize; r++) shards.push(await readRankShard(loaded.dir, meta, r));
    if (!opts.loadOptimizerState) { for (const s of shards) s.paramGroups = null; }
    ({ model, optim } = unshardRankShards(meta.layout, shards));
  }
  return {
    dir: loaded.dir,
    format: loaded.format,
    sharded: loaded.sharded,
    model,
    optim: opts.loadOptimizerState ? optim : null,
    trainer: loaded.trainer,
    rankShard: null,
  };
}

/** What a restored checkpoint is put into. */
export interface RestoreTarget {
  /** The model. */
  model: Olmo;
  /** The optimizer (ZeRO's shard optimizer with `dataParallel`). */
  optimizer: Optimizer;
  /** ZeRO state of a multi-rank run. */
  dataParallel?: ZeroDataParallel;
}

/**
 * Loads the weights of `loaded` into the model and, when it holds optimizer state and
 * `loadOptimizerState`, that state into the optimizer; with ZeRO, this rank's shard (or its slice
 * of the full state).
 * @throws Error naming the checkpoint folder when a tensor is missing or of the wrong shape.
 */
export async function applyTrainingCheckpoint(
  loaded: RestoredCheckpoint,
  target: RestoreTarget,
  loadOptimizerState: boolean,
): Promise<void> {
  const zero = target.dataParallel;
  if (loaded.rankShard !== null) {
    if (zero === undefined) throw new Error(`${loaded.dir}: a rank shard needs ZeRO state`);
    const { layout, shard } = loaded.rankShard;
    await zero.loadRankShard(layout, shard, loaded.dir, loadOptimizerState);
    return;
  }
  try {
    target.model.loadStateDict(loaded.model!);
  } catch (e) {
    throw new Error(`${loaded.dir}: ${(e as Error).message}`);
  }
  if (zero !== undefined) {
    await zero.syncFromModel();
    if (loaded.optim !== null) zero.loadFullOptimizerState(loaded.optim, loaded.dir);
  } else if (loaded.optim !== null) target.optimizer.loadStateDict(loaded.optim, loaded.dir);
}
