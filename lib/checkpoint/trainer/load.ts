/**
 * Restoring a training checkpoint folder of either kind (OLMo's `Trainer.restore_checkpoint`),
 * as host state: the folder's layout comes from `detectCheckpointLayout`; a sharded checkpoint
 * gives this rank's file (and the full state at world size 1), an unsharded one the full state.
 *
 * @module
 */
import { join } from "node:path";
import type { FlatLayout } from "../../distributed/zero/layout.ts";
import type { OptimizerStateDict } from "../../optim/optimizer_state.ts";
import { pathExists } from "../../util/fs.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import { readHfTransformersFolder } from "../hf_transformers/folder.ts";
import { detectCheckpointLayout } from "./detect.ts";
import { defaultUnshardedDir, UNSHARDED_SUFFIX } from "./run_folder.ts";
import { unshardRankShards } from "./shard_state.ts";
import { type RankShard, readRankShard, readShardMetadata } from "./sharded.ts";
import type { TrainerState } from "./state.ts";
import { CONFIG_FILE, readUnshardedFiles } from "./unsharded.ts";

/** The error for a sharded checkpoint restored at another world size. */
function worldSizeError(dir: string, saved: number, current: number): Error {
  const out = defaultUnshardedDir(dir) ?? `${dir}${UNSHARDED_SUFFIX}`;
  return new Error(
    `${dir} is a sharded checkpoint written by ${saved} process(es) but this run has ${current}; ` +
      `sharded checkpoints restore only at the same world size. Unshard it first with ` +
      `\`deno run -A cli/unshard.ts ${dir} ${out}\` and load that folder instead`,
  );
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
  /**
   * `olmo-ts`, `olmo-torch` for OLMo's own unsharded folders, or `hf-transformers` for a
   * transformers `Olmo2ForCausalLM` / `OlmoForCausalLM` folder (both weights only).
   */
  format: "olmo-ts" | "olmo-torch" | "hf-transformers";
  /** Full model state: unsharded checkpoints and 1-rank sharded ones; null otherwise. */
  model: NamedHostTensors | null;
  /** Full optimizer state (as `model`); null when not requested. */
  optim: OptimizerStateDict | null;
  /** Trainer state (this rank's for sharded checkpoints); null when the folder has none. */
  trainer: TrainerState | null;
  /** Shard layout (sharded checkpoints only). */
  layout: FlatLayout | null;
  /** This rank's shard (sharded checkpoints only). */
  shard: RankShard | null;
  /** `config.yaml` text, or null. */
  configYaml: string | null;
}

/**
 * Restores a checkpoint folder (or a `latest` link) of any layout `detectCheckpointLayout`
 * recognises: sharded, or unsharded including OLMo's `model.pt` folders and transformers OLMo
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
  const layout = await detectCheckpointLayout(dir);
  if (layout === "hf-olmo2" || layout === "hf-olmo") {
    if (loadOptim) {
      throw new Error(
        `${dir} is a Hugging Face transformers folder (${layout}): it holds weights only; load ` +
          "it with --reset_optimizer_state to fine-tune from them",
      );
    }
    const { state } = await readHfTransformersFolder(dir);
    return {
      dir,
      sharded: false,
      format: "hf-transformers",
      model: state,
      optim: null,
      trainer: null,
      layout: null,
      shard: null,
      configYaml: null,
    };
  }
  const configPath = join(dir, CONFIG_FILE);
  const configYaml = (await pathExists(configPath)) ? await Deno.readTextFile(configPath) : null;
  if (layout === "olmo-ts-sharded") {
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
  const read = await readUnshardedFiles(dir, loadOptim);
  return { dir, sharded: false, ...read, layout: null, shard: null };
}
