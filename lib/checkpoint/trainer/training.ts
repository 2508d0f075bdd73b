/**
 * Checkpoints of a live training run (OLMo's `Trainer.save_checkpoint` / `restore_checkpoint`):
 * the model and optimizer state of the run's data-parallel strategy (`DataParallel`: local or
 * ZeRO) saved through a `CheckpointManager`, and a checkpoint read back from a folder, a
 * `latest` link or a URL and put into that strategy.
 *
 * The strategy decides what a rank stores: one process the full state (a sharded save is then a
 * one-rank checkpoint), ZeRO each rank its own shard (sharded) or the gathered full state
 * (unsharded, written by rank 0). A sharded checkpoint restores only at the world size that
 * wrote it: each rank reads its own file.
 *
 * @module
 */
import { dirname } from "node:path";
import type { DataParallel } from "../../distributed/data_parallel.ts";
import { resolveResource, ResourceNotFoundError } from "../remote.ts";
import { isUrl } from "../../util/url.ts";
import { loadCheckpoint, type LoadedCheckpoint } from "./load.ts";
import type { CheckpointManager } from "./manager.ts";
import type { TrainerState } from "./state.ts";

/** What a save stores besides the strategy's state. */
export interface SaveInputs {
  /** The trainer state to store (its checkpoint lists are filled in by the manager). */
  trainer: TrainerState;
  /** `config.yaml` text. */
  configYaml: string;
  /** A sharded save is an ephemeral checkpoint (OLMo later's `save_interval_ephemeral`). */
  ephemeral?: boolean;
}

/**
 * Saves `step{N}/` (sharded) or `step{N}-unsharded/` for the step in `inputs.trainer`; returns
 * the folder. Every rank calls it.
 * @throws Error "Checkpoint for step N already exists, use --save-overwrite to overwrite".
 */
export async function saveTrainingCheckpoint(
  manager: CheckpointManager,
  dataParallel: DataParallel,
  sharded: boolean,
  inputs: SaveInputs,
): Promise<string> {
  const step = inputs.trainer.global_step;
  const state = await dataParallel.checkpointState(sharded);
  const config = inputs.configYaml;
  const ephemeral = { ephemeral: inputs.ephemeral ?? false };
  if ("shard" in state) {
    const shard = { ...state.shard, trainer: inputs.trainer };
    return await manager.saveSharded(step, { layout: state.layout, shard, config }, ephemeral);
  }
  const full = { model: state.model, optim: state.optim, trainer: inputs.trainer, config };
  return sharded
    ? await manager.saveSharded(step, full, ephemeral)
    : await manager.saveUnsharded(step, full);
}

/** Files fetched from a remote unsharded checkpoint: required ones throw when missing. */
async function downloadUnsharded(
  url: string,
  loadOptimizerState: boolean,
  cacheDir: string | undefined,
): Promise<string> {
  const fetchOne = async (name: string, required: boolean): Promise<string | null> => {
    try {
      return await resolveResource(url, name, { progress: true, cacheDir });
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
 * `reset_optimizer_state` does, and is required for OLMo's `model.pt` folders.
 * @throws Error naming the folder when it cannot be restored (see `loadCheckpoint`).
 */
export async function readTrainingCheckpoint(
  path: string,
  opts: {
    rank: number;
    worldSize: number;
    loadOptimizerState: boolean;
    /** Download cache for URLs (default `defaultCacheDir()`). */
    cacheDir?: string;
  },
): Promise<LoadedCheckpoint> {
  const local = isUrl(path) && !path.toLowerCase().startsWith("file://")
    ? await downloadUnsharded(path, opts.loadOptimizerState, opts.cacheDir)
    : path.replace(/^file:\/\//i, "");
  return await loadCheckpoint(local, opts);
}

/**
 * Puts the weights of `loaded` and, when it holds optimizer state and `loadOptimizerState`,
 * that state into the run's strategy: the full state, or this rank's shard of a multi-rank
 * sharded checkpoint. Every rank calls it.
 * @throws Error naming the checkpoint folder when a tensor is missing or of the wrong shape.
 */
export async function applyTrainingCheckpoint(
  loaded: LoadedCheckpoint,
  dataParallel: DataParallel,
  loadOptimizerState: boolean,
): Promise<void> {
  if (loaded.model !== null) {
    await dataParallel.loadFullState(loaded.model, loaded.optim, loaded.dir);
  } else {
    await dataParallel.loadShardState(
      loaded.layout!,
      loaded.shard!,
      loaded.dir,
      loadOptimizerState,
    );
  }
}
