/**
 * A whole training run from a loaded config, in OLMo's start-up order (`scripts/train.py`
 * `main`): world, backend, derived config, `save_folder/config.yaml`, tokenizer check, data,
 * evaluators, model, optimizer, scheduler, trainer; then the step-0 checkpoint, `load_path`,
 * `force_save_unsharded`, and `fit` unless `dry_run`. With several ranks the model is sharded
 * ZeRO-style (`ZeroDataParallel`: OLMo's FSDP) and its optimizer holds this rank's shard only.
 *
 * Differences from OLMo, all deliberate: restarting into the same `save_folder` (from one of its
 * checkpoints) works without `--save_overwrite`, and continues `metrics.jsonl` and
 * `data-indices/rank{r}.tsv.gz` from the restored step (`data_indices.ts`); W&B is not called
 * (metrics go to `metrics.jsonl`).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { type BackendName, initBackend } from "../backend/init.ts";
import { checkTrainConfig } from "../config/checks.ts";
import { isUrl } from "../util/url.ts";
import {
  ConfigError,
  deriveTrainConfig,
  saveTrainConfig,
  tfjsCompatibilityWarnings,
  type TrainConfig,
} from "../config/mod.ts";
import { LocalDataParallel } from "../distributed/data_parallel.ts";
import { type Communicator, initWorld } from "../distributed/world.ts";
import { ZeroDataParallel } from "../distributed/zero/data_parallel.ts";
import { MissingTokenDataError } from "../data/errors.ts";
import { Olmo } from "../model/olmo.ts";
import { createOptimizer } from "../optim/optimizer.ts";
import { BoltOnWarmupScheduler, buildScheduler } from "../optim/scheduler.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { pathExists } from "../util/fs.ts";
import { buildEvaluators } from "./evaluator.ts";
import { applyTryLoadLatestSave } from "./latest_save.ts";
import { consoleLogger, type TrainLogger } from "./log.ts";
import { MissingDataError, missingDataMessage } from "./missing_data.ts";
import { resolvePeakFlops } from "./peak_flops.ts";
import type { TrainProgressOptions } from "./progress.ts";
import { buildTrainDataset, TRAIN_DATA_DIR } from "./train_data.ts";
import { type FitResult, Trainer } from "./trainer.ts";

/** Options of `runTraining`. */
export interface RunTrainingOptions {
  /** The process group; default `initWorld()` (a single process without a launcher). */
  world?: Communicator;
  /** Log lines; default `consoleLogger(rank === 0)`. */
  logger?: TrainLogger;
  /** Progress display options. */
  progress?: TrainProgressOptions;
  /** Abort to save a checkpoint and stop after the current step (e.g. on Ctrl-C). */
  cancelSignal?: AbortSignal;
  /** The config file, named in error messages. Default "the config". */
  configPath?: string;
  /**
   * Called after every step's backward pass, before the gradients are synchronised
   * (`TrainStepContext.afterBackward`), with this process's rank; test entry scripts use it to
   * make a rank fail mid-step.
   */
  afterBackward?: (step: number, rank: number) => void;
  /** Download cache for a URL `load_path` (default `defaultCacheDir()`). */
  cacheDir?: string;
}

/** What `runTraining` did. */
export interface RunTrainingResult {
  /** The config as run (derived fields filled in). */
  cfg: TrainConfig;
  /** The active backend. */
  backend: string;
  /** `fit`'s result, or null for a dry run. */
  fit: FitResult | null;
}

/** True when `loadPath` is a checkpoint inside `saveFolder` (a restart of that run). */
function isRestartOf(loadPath: string | null, saveFolder: string): boolean {
  if (loadPath === null || isUrl(loadPath)) return false;
  return resolve(dirname(resolve(loadPath))) === resolve(saveFolder);
}

/** Rank 0 writes `save_folder/config.yaml` and checks `train_data/` (OLMo's rules, fixed). */
async function prepareSaveFolder(cfg: TrainConfig, world: Communicator): Promise<void> {
  if (world.rank !== 0) return;
  const restart = isRestartOf(cfg.load_path, cfg.save_folder);
  const configPath = `${cfg.save_folder}/config.yaml`;
  const hint = `to continue that run, pass --load_path=${cfg.save_folder}/latest; ` +
    "to replace it, pass --save_overwrite";
  if (!cfg.dry_run && !restart) {
    if (!cfg.save_overwrite && (await pathExists(configPath))) {
      throw new ConfigError(`${configPath} already exists (a run was saved there before): ${hint}`);
    }
    await Deno.mkdir(cfg.save_folder, { recursive: true });
    await saveTrainConfig(cfg, configPath);
  }
  const trainData = `${cfg.save_folder}/${TRAIN_DATA_DIR}`;
  if (!cfg.dry_run && !restart && !cfg.save_overwrite && (await pathExists(trainData))) {
    throw new ConfigError(`train data working directory ${trainData} already exists: ${hint}`);
  }
}

/**
 * Runs training for a loaded config (see the module doc for the order). `cfg.run_name` must be
 * set. Frees the model and optimizer at the end.
 * @throws ConfigError / Error with a message naming the setting, file or step at fault.
 *
 * @example 20 steps of the quick-start config, without the command line
 * ```ts
 * import { corpusResolvers, loadTrainConfig, runTraining } from "../../mod.ts";
 *
 * const cfg = await loadTrainConfig("configs/quickstart-brown.yaml", {
 *   overrides: ["run_name=tiny", "max_duration=20", "save_folder=runs/tiny"],
 *   resolvers: corpusResolvers(),
 * });
 * const { fit } = await runTraining(cfg, { progress: { tty: false } });
 * console.log(fit?.losses.at(-1), fit?.reason);
 * ```
 */
export async function runTraining(
  given: TrainConfig,
  opts: RunTrainingOptions = {},
): Promise<RunTrainingResult> {
  if (given.run_name === null || given.run_name === "") {
    throw new ConfigError("run_name is required (set it in the config or pass --run_name=NAME)");
  }
  const world = opts.world ?? (await initWorld());
  const log = opts.logger ?? consoleLogger(world.rank === 0);
  const input = await applyTryLoadLatestSave(given, log);
  checkTrainConfig(input, { worldSize: world.size, source: opts.configPath });
  if (input.reset_optimizer_state && input.load_path === null) {
    log.warn("reset_optimizer_state is set without load_path; it has no effect");
  }
  const backend = await initBackend(input.backend as BackendName, {
    quiet: world.rank !== 0,
    localRanks: world.localSize,
  });
  for (const w of tfjsCompatibilityWarnings(input)) log.warn(w);
  if (input.wandb !== null) {
    log.warn(
      "wandb: olmo-ts does not send metrics to Weights & Biases; every metric is in " +
        "save_folder/metrics.jsonl (wandb.log_interval still sets when optim/* metrics are collected)",
    );
  }
  if (input.remote_save_folder !== null) {
    log.warn(
      `remote_save_folder=${input.remote_save_folder}: uploads are not implemented; ` +
        "checkpoints stay in save_folder",
    );
  }
  const cfg = deriveTrainConfig(input, world.size);
  await prepareSaveFolder(cfg, world);
  await world.barrier();

  await Tokenizer.fromTrainConfig(cfg); // OLMo always checks the vocab size here
  const explain = (e: unknown, key: string): unknown =>
    e instanceof MissingTokenDataError
      ? new MissingDataError(missingDataMessage(e.message, {
        configPath: opts.configPath ?? "the config",
        tokenizer: cfg.tokenizer.identifier,
        key: e.configKey ?? key,
      }))
      : e;
  let trainDataset;
  try {
    trainDataset = buildTrainDataset(cfg);
    if (trainDataset.length === 0) {
      throw new MissingTokenDataError(
        `the token files hold no complete instance of max_sequence_length ` +
          `${cfg.model.max_sequence_length} tokens (${trainDataset.paths.join(", ")})`,
      );
    }
  } catch (e) {
    throw explain(e, "data.paths");
  }
  let evaluators;
  try {
    evaluators = await buildEvaluators(cfg, world, (m) => log.warn(m));
  } catch (e) {
    throw explain(e, "evaluators");
  }
  const model = new Olmo(cfg.model, { seed: cfg.seed });
  const zero = world.size > 1 ? await ZeroDataParallel.create(world, model, cfg) : null;
  const dataParallel = zero ??
    new LocalDataParallel(model, createOptimizer(cfg.optimizer, model.params, cfg));
  try {
    const total = model.numParams();
    const nonEmbedding = model.numParams({ includeEmbedding: false });
    log.info(
      `run ${cfg.run_name}: ${total.toLocaleString("en-US")} parameters ` +
        `(${nonEmbedding.toLocaleString("en-US")} non-embedding) on ${backend}, ` +
        `${trainDataset.length.toLocaleString("en-US")} training instances of ` +
        `${cfg.model.max_sequence_length} tokens, saving to ${cfg.save_folder}`,
    );
    const peak = cfg.dry_run
      ? null
      : await resolvePeakFlops(cfg.speed_monitor.gpu_flops_available, backend);
    if (peak !== null) log.info(`throughput/device/mfu is relative to ${peak.description}`);
    if (zero !== null) {
      const { numel, shardSize } = zero.layout;
      log.info(
        `data parallel over ${world.size} ranks (${world.backend}): ZeRO shards of ` +
          `${shardSize.toLocaleString("en-US")} of ${numel.toLocaleString("en-US")} parameter ` +
          `elements per rank, device batch ${cfg.device_train_batch_size} of ` +
          `${cfg.global_train_batch_size}`,
      );
    }
    const trainer = new Trainer({
      cfg,
      model,
      optimizer: dataParallel.optimizer,
      scheduler: buildScheduler(cfg.scheduler),
      trainDataset,
      evaluators,
      world,
      dataParallel,
      logger: log,
      progress: opts.progress,
      peakFlops: peak?.flops ?? null,
      cancelSignal: opts.cancelSignal,
      afterBackward: opts.afterBackward,
    });
    try {
      if (!cfg.dry_run && !cfg.no_pre_train_checkpoint && cfg.load_path === null) {
        const dir = await trainer.saveCheckpoint(cfg.save_num_checkpoints_to_keep !== 0);
        await trainer.restoreCheckpoint(dir, { loadOptimizerState: true, verifyOnly: true });
      }
      if (cfg.load_path !== null) {
        const loaded = await trainer.restoreCheckpoint(cfg.load_path, {
          loadOptimizerState: !cfg.reset_optimizer_state,
          resetTrainerState: cfg.reset_trainer_state,
          cacheDir: opts.cacheDir,
        });
        const step = trainer.counters.globalStep;
        log.info(
          `restored ${loaded.format} checkpoint ${loaded.dir} at step ${step}` +
            (cfg.reset_optimizer_state ? " (weights only: fresh optimizer)" : "") +
            (loaded.trainer === null || cfg.reset_trainer_state ? " (trainer state reset)" : ""),
        );
        if (cfg.reset_optimizer_state) {
          // In the schedule's units: steps, or tokens seen (OLMo later's `units: tokens`).
          const at = cfg.scheduler.units === "tokens"
            ? trainer.counters.globalTrainTokensSeen
            : step;
          trainer.scheduler = new BoltOnWarmupScheduler(
            trainer.scheduler,
            at,
            at + cfg.scheduler.t_warmup,
          );
        }
      }
      if (cfg.force_save_unsharded) await trainer.saveCheckpoint(false);
      const fit = cfg.dry_run ? null : await trainer.fit();
      if (cfg.dry_run) log.info("dry run: everything is built and loaded; not training");
      return { cfg, backend, fit };
    } finally {
      trainer.close();
    }
  } finally {
    dataParallel.dispose();
    model.dispose();
  }
}
