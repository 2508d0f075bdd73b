/**
 * `Trainer`: OLMo's training loop (`olmo/train.py` `Trainer.fit`) on tfjs.
 *
 * Per step: take the next device batch, advance the 1-based counters, record its dataset
 * indices (`data-indices/rank{r}.tsv.gz`), set the LR from the scheduler, run the step
 * (micro-batches, gradient sync, clipping, update; one device read), record metrics
 * (`metrics.jsonl` every step, the console every `console_log_interval`), decide whether to stop
 * (`stop_at`, `time_limit`, `early_stopping_factor`, a cancel signal; `stopping.ts`), save
 * checkpoints at their intervals, and evaluate every `eval_interval` steps. Training ends exactly
 * at `max_duration` (steps, or a token budget like `"2e9T"`) or when the data runs out.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { type TrainConfig, trainConfigToYaml } from "../config/mod.ts";
import { durationToSteps, parseDuration } from "../config/duration.ts";
import { checkWasmMemory } from "../backend/memory_guard.ts";
import type { LoadedCheckpoint } from "../checkpoint/trainer/load.ts";
import { CheckpointManager } from "../checkpoint/trainer/manager.ts";
import { checkpointDirName } from "../checkpoint/trainer/run_folder.ts";
import {
  applyTrainingCheckpoint,
  readTrainingCheckpoint,
  saveTrainingCheckpoint,
} from "../checkpoint/trainer/training.ts";
import type { MemMapDataset } from "../data/memmap_dataset.ts";
import { type DataParallel, LocalDataParallel } from "../distributed/data_parallel.ts";
import type { Communicator } from "../distributed/world.ts";
import type { Olmo } from "../model/olmo.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { Scheduler } from "../optim/scheduler.ts";
import { DataIndicesWriter } from "./data_indices.ts";
import type { InLoopEvaluator } from "./evaluator.ts";
import { formatMetricsBlock } from "./format.ts";
import { SILENT_LOGGER, type TrainLogger } from "./log.ts";
import { MetricsSink } from "./metrics_sink.ts";
import { TrainProgress, type TrainProgressOptions } from "./progress.ts";
import {
  advanceCounters,
  countersFromState,
  dropoutSeed,
  initialCounters,
  type TrainCounters,
  trainerStateOf,
} from "./state.ts";
import { StepMetrics } from "./step_metrics.ts";
import { type CancelReason, cancelReason } from "./stopping.ts";
import { TrainBatches } from "./train_data.ts";
import { runTrainStep, type TrainStepContext } from "./train_step.ts";
import { Z_LOSS_COEF } from "./loss.ts";
import { applyClipWarmup } from "../optim/clip_warmup.ts";

/** Everything the trainer is built from (`runTraining` in `run.ts` builds it the usual way). */
export interface TrainerOptions {
  /** The run config, after `deriveTrainConfig` (run_name set). */
  cfg: TrainConfig;
  /** The model. */
  model: Olmo;
  /** The optimizer over `model.params`, or `dataParallel.optimizer` with a strategy given. */
  optimizer: Optimizer;
  /** The LR schedule (replace `trainer.scheduler` for the bolt-on warmup). */
  scheduler: Scheduler;
  /** Training instances (`buildTrainDataset`). */
  trainDataset: MemMapDataset;
  /** In-loop evaluators. */
  evaluators?: InLoopEvaluator[];
  /** The process group (a `SingleProcessWorld` for one process). */
  world: Communicator;
  /**
   * The data-parallel strategy (`ZeroDataParallel` for several ranks); default
   * `LocalDataParallel` over `model` and `optimizer`, for one process.
   */
  dataParallel?: DataParallel;
  /** Log lines (rank 0's are printed by `consoleLogger`). Default: silent. */
  logger?: TrainLogger;
  /** Progress display options. */
  progress?: TrainProgressOptions;
  /** Peak FLOP/s for `throughput/device/mfu`; null or absent leaves MFU out. */
  peakFlops?: number | null;
  /** When aborted, the run saves a sharded checkpoint and stops after the current step. */
  cancelSignal?: AbortSignal;
  /**
   * Called after every step's backward pass with this process's rank
   * (`TrainStepContext.afterBackward`; for tests).
   */
  afterBackward?: (step: number, rank: number) => void;
}

/** Why `fit` returned. */
export type StopReason = "max_duration" | "data_exhausted" | CancelReason;

/** What `fit` did. */
export interface FitResult {
  /** Why training stopped. */
  reason: StopReason;
  /** The last step taken. */
  step: number;
  /** Training CE of each step this call ran, in order. */
  losses: number[];
}

/** OLMo's trainer. */
export class Trainer {
  /** The run config. */
  readonly cfg: TrainConfig;
  /** The model. */
  readonly model: Olmo;
  /** The optimizer. */
  readonly optimizer: Optimizer;
  /** The LR schedule; `run.ts` wraps it in `BoltOnWarmupScheduler` after a fresh-optimizer load. */
  scheduler: Scheduler;
  /** In-loop evaluators. */
  readonly evaluators: InLoopEvaluator[];
  /** Saves checkpoints and keeps `latest` and the keep-N lists. */
  readonly checkpoints: CheckpointManager;
  /** The data-parallel strategy every step and checkpoint runs through. */
  readonly dataParallel: DataParallel;
  /** Progress counters (1-based steps). */
  counters: TrainCounters = initialCounters();
  readonly #opts: TrainerOptions;
  readonly #world: Communicator;
  readonly #progress: TrainProgress;
  readonly #configYaml: string;
  readonly #metrics: StepMetrics;
  #sink: MetricsSink | null = null;
  #indices: DataIndicesWriter | null = null;
  /** The step of the restored checkpoint when it is one of this `save_folder`'s (a restart). */
  #continueFromStep: number | null = null;
  #minLoss = Infinity;

  /**
   * @throws Error when the world has several ranks but no `dataParallel`, or when
   * `dataParallel` is given with another optimizer than its own or for another world size.
   */
  constructor(opts: TrainerOptions) {
    if (opts.cfg.device_train_batch_size === null) {
      throw new Error("Trainer: derive the config first (deriveTrainConfig)");
    }
    if (opts.world.size > 1 && opts.dataParallel === undefined) {
      throw new Error(
        `Trainer: ${opts.world.size} ranks need data parallelism: pass dataParallel ` +
          "(ZeroDataParallel.create, as runTraining does)",
      );
    }
    const dp = opts.dataParallel ?? new LocalDataParallel(opts.model, opts.optimizer);
    if (dp.optimizer !== opts.optimizer || dp.worldSize !== opts.world.size) {
      throw new Error("Trainer: with dataParallel, pass its optimizer and its world");
    }
    this.cfg = opts.cfg;
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.scheduler = opts.scheduler;
    this.evaluators = opts.evaluators ?? [];
    this.dataParallel = dp;
    this.#opts = opts;
    this.#world = opts.world;
    this.#progress = new TrainProgress(opts.logger ?? SILENT_LOGGER, {
      ...opts.progress,
      silent: opts.progress?.silent || opts.world.rank !== 0,
    });
    this.#configYaml = trainConfigToYaml(opts.cfg);
    this.#metrics = new StepMetrics({
      cfg: opts.cfg,
      model: opts.model,
      optimizer: opts.optimizer,
      dataParallel: dp,
      peakFlops: opts.peakFlops ?? null,
    });
    this.checkpoints = new CheckpointManager({
      saveFolder: opts.cfg.save_folder,
      saveOverwrite: opts.cfg.save_overwrite,
      keepSharded: opts.cfg.save_num_checkpoints_to_keep,
      keepUnsharded: opts.cfg.save_num_unsharded_checkpoints_to_keep,
      rank: opts.world.rank,
      worldSize: opts.world.size,
      barrier: () => opts.world.barrier(),
    });
  }

  /** The step training ends at: `max_duration` in steps, or a token budget converted to steps. */
  maxSteps(): number {
    return durationToSteps(this.cfg.max_duration, {
      globalTrainBatchSize: this.cfg.global_train_batch_size,
      sequenceLength: this.cfg.model.max_sequence_length,
      globalStep: this.counters.globalStep,
      tokensSeen: this.counters.globalTrainTokensSeen,
    });
  }

  /**
   * The learning rate of `step` from the config's base LR (OLMo re-derives it on restart). With
   * OLMo later's `scheduler.units: tokens` the schedule runs on tokens seen (the counters') over
   * the run's token budget instead.
   */
  lrAt(step: number): number {
    const lr = this.cfg.optimizer.learning_rate;
    if (this.cfg.scheduler.units !== "tokens") {
      return this.scheduler.getLr(lr, step, this.maxSteps());
    }
    // OLMo later's max_tokens: the token budget itself, or max_duration steps of tokens.
    const duration = parseDuration(this.cfg.max_duration);
    const tokensPerStep = this.cfg.global_train_batch_size * this.cfg.model.max_sequence_length;
    const maxTokens = "tokens" in duration ? duration.tokens : duration.steps * tokensPerStep;
    return this.scheduler.getLr(lr, this.counters.globalTrainTokensSeen, maxTokens);
  }

  /**
   * Restores model weights, optimizer state (unless `loadOptimizerState` is false) and trainer
   * state (unless absent or `resetTrainerState`) from a checkpoint folder, `latest` link or URL,
   * then resets every group's LR from the config (OLMo's restart rule). When the checkpoint is
   * one of this `save_folder`'s, the run continues its history: `metrics.jsonl` and the
   * data-indices files keep their lines up to the restored step (not for `verifyOnly`, the
   * read-back of the step-0 checkpoint of a new run).
   */
  async restoreCheckpoint(
    path: string,
    opts: {
      loadOptimizerState: boolean;
      resetTrainerState?: boolean;
      verifyOnly?: boolean;
      /** Download cache for a URL `path` (default `defaultCacheDir()`). */
      cacheDir?: string;
    },
  ): Promise<LoadedCheckpoint> {
    const loaded = await readTrainingCheckpoint(path, {
      cacheDir: opts.cacheDir,
      rank: this.#world.rank,
      worldSize: this.#world.size,
      loadOptimizerState: opts.loadOptimizerState,
    });
    await applyTrainingCheckpoint(loaded, this.dataParallel, opts.loadOptimizerState);
    if (loaded.trainer !== null && !opts.resetTrainerState) {
      this.counters = countersFromState(loaded.trainer, {
        restoreDataloader: this.cfg.restore_dataloader,
        fastForwardBatches: this.cfg.fast_forward_batches,
        globalBatchSize: this.cfg.global_train_batch_size,
        seqLen: this.cfg.model.max_sequence_length,
      });
      await this.checkpoints.restoreLists(loaded.trainer);
    } else {
      this.counters = initialCounters();
    }
    this.optimizer.resetFromConfig(this.cfg.optimizer, this.lrAt(this.counters.globalStep));
    if (!opts.verifyOnly) {
      const inSaveFolder = await isChildOf(loaded.dir, this.cfg.save_folder);
      this.#continueFromStep = inSaveFolder ? this.counters.globalStep : null;
    }
    return loaded;
  }

  /**
   * Saves a sharded (`step{N}/`) or unsharded (`step{N}-unsharded/`) checkpoint now; with
   * `ephemeral`, a sharded one that replaces the previous ephemeral checkpoint.
   */
  async saveCheckpoint(sharded: boolean, opts: { ephemeral?: boolean } = {}): Promise<string> {
    await this.#indices?.flush(); // the indices of every step up to this checkpoint are on disk
    const dir = await saveTrainingCheckpoint(this.checkpoints, this.dataParallel, sharded, {
      ephemeral: opts.ephemeral,
      trainer: trainerStateOf(this.counters, this.#world.size, this.cfg.seed),
      configYaml: this.#configYaml,
    });
    const kind = opts.ephemeral ? "ephemeral" : sharded ? "sharded" : "unsharded";
    this.#progress.info(`saved ${kind} checkpoint to ${dir}`);
    await this.#sink?.writePlot();
    this.#metrics.speed.reset();
    return dir;
  }

  /** Runs every evaluator; logs, records and returns their metrics. */
  async eval(): Promise<Record<string, number>> {
    const all: Record<string, number> = {};
    for (const evaluator of this.evaluators) {
      const every = this.cfg.console_log_interval;
      this.#progress.info(`Running evaluation for '${evaluator.label}'...`);
      const metrics = await evaluator.evaluate(this.model, (i, n) => {
        if (i === n || i % every === 0) this.#progress.info(`[eval_step=${i}/${n}]`);
      });
      this.#progress.info(formatMetricsBlock(evaluator.label, metrics));
      Object.assign(all, metrics);
    }
    if (Object.keys(all).length > 0) await this.#sink?.record(this.counters.globalStep, all);
    this.#metrics.speed.reset();
    return all;
  }

  /** Opens `metrics.jsonl` (rank 0) and this rank's data-indices file (`save_data_indices`). */
  async #openRunFiles(): Promise<void> {
    const from = this.#continueFromStep;
    if (this.#sink === null && this.#world.rank === 0) {
      this.#sink = new MetricsSink(this.cfg.save_folder, this.cfg.run_name ?? "loss");
      await this.#sink.open(from);
    }
    if (this.#indices === null && this.cfg.save_data_indices) {
      this.#indices = new DataIndicesWriter(this.cfg.save_folder, this.#world.rank);
      await this.#indices.open({ continueFromStep: from, overwrite: this.cfg.save_overwrite });
    }
  }

  #stepContext(): TrainStepContext {
    return {
      model: this.model,
      dataParallel: this.dataParallel,
      microBatchSize: this.cfg.device_train_microbatch_size,
      zLoss: this.cfg.softmax_auxiliary_loss,
      zLossMultiplier: this.cfg.auxiliary_loss_multiplier ?? Z_LOSS_COEF,
      dropoutSeed: (micro) =>
        dropoutSeed(this.cfg.seed, this.counters.globalStep, this.#world.rank, micro),
      afterBackward: (step) => this.#opts.afterBackward?.(step, this.#world.rank),
    };
  }

  /** Trains until `max_duration`, `stop_at`, a cancel or the end of the data. */
  async fit(): Promise<FitResult> {
    const cfg = this.cfg;
    await this.#openRunFiles();
    if (cfg.eval_on_load && this.counters.globalStep > 0) await this.eval();
    const maxSteps = this.maxSteps();
    const losses: number[] = [];
    const batches = new TrainBatches(this.#opts.trainDataset, cfg, {
      startIndex: this.counters.globalTrainExamplesSeen,
      maxExamples: cfg.global_train_batch_size * maxSteps,
      world: this.#world,
      writeGlobalIndices: true,
    });
    const seqLen = cfg.model.max_sequence_length;
    const deviceBatch = cfg.device_train_batch_size!;
    const ctx = this.#stepContext();
    // OLMo later's stop_after: at most that many steps of this call, whatever stop_at says.
    const stopAt = cfg.stop_after === null
      ? cfg.stop_at
      : Math.min(cfg.stop_at ?? Infinity, this.counters.globalStep + cfg.stop_after);
    const stopConditions = { ...this.#opts, cfg: { ...cfg, stop_at: stopAt } };
    const started = performance.now();
    let reason: StopReason = "data_exhausted";
    this.#progress.start(this.counters.globalStep, maxSteps);
    try {
      if (this.counters.globalStep >= maxSteps) reason = "max_duration";
      for (const batch of reason === "max_duration" ? [] : batches) {
        const [b, s] = batch.inputIds.shape;
        if (s !== seqLen || b !== deviceBatch) {
          throw new Error(`batch of shape [${b}, ${s}], expected [${deviceBatch}, ${seqLen}]`);
        }
        this.counters = advanceCounters(this.counters, cfg.global_train_batch_size, seqLen);
        const step = this.counters.globalStep;
        if (batch.index !== undefined) await this.#indices?.record(step, batch.index);
        this.#metrics.speed.batchStart(this.counters.globalTrainTokensSeen, deviceBatch * seqLen);
        const lr = this.lrAt(step);
        const collect = this.#metrics.collectOptimMetrics(step);
        const result = await runTrainStep(ctx, batch, step, lr, collect);
        if (cfg.scheduler.grad_clip_warmup_steps !== null) {
          const current = cfg.scheduler.units === "tokens"
            ? this.counters.globalTrainTokensSeen
            : step;
          applyClipWarmup(this.optimizer.paramGroups, cfg, current, cfg.scheduler);
        }
        checkWasmMemory();
        const metrics = await this.#metrics.collect(step, result);
        losses.push(result.ce);
        this.#minLoss = Math.min(this.#minLoss, result.ce);
        await this.#sink?.record(step, metrics);
        if (step % cfg.console_log_interval === 0) {
          this.#progress.info(formatMetricsBlock(`[step=${step}/${maxSteps}]`, metrics));
        }
        this.#progress.update(step, {
          loss: result.ce,
          tokensPerSecond: metrics["throughput/device/tokens_per_second"],
        });
        const cancel = await cancelReason(stopConditions, {
          step,
          loss: result.ce,
          minLoss: this.#minLoss,
          elapsedSeconds: (performance.now() - started) / 1000,
        });
        const ephemeral = cfg.save_interval_ephemeral;
        if (
          cancel !== null ||
          (cfg.save_interval !== null && step % cfg.save_interval === 0 &&
            cfg.save_num_checkpoints_to_keep !== 0)
        ) {
          await this.saveCheckpoint(true);
          await this.checkpoints.removeEphemeralCheckpoints();
        } else if (ephemeral !== null && step % ephemeral === 0) {
          await this.saveCheckpoint(true, { ephemeral: true });
        }
        const unsharded = cfg.save_interval_unsharded;
        if (
          cancel === null && unsharded !== null && step % unsharded === 0 &&
          cfg.save_num_unsharded_checkpoints_to_keep !== 0
        ) {
          await this.saveCheckpoint(false);
        }
        if (cancel === null && this.evaluators.length > 0 && step % cfg.eval_interval === 0) {
          await this.eval();
        }
        if (cancel !== null) {
          reason = cancel;
          break;
        }
        if (step >= maxSteps) {
          reason = "max_duration";
          break;
        }
      }
      const done = reason === "max_duration" || reason === "data_exhausted";
      const lastUnsharded = this.checkpoints.unshardedCheckpoints.at(-1);
      const savedNow = lastUnsharded !== undefined &&
        basename(lastUnsharded) === checkpointDirName(this.counters.globalStep, false);
      if (done && cfg.save_interval_unsharded !== null && !savedNow && losses.length > 0) {
        await this.saveCheckpoint(false);
      }
    } finally {
      this.#progress.stop();
      await this.#indices?.flush();
      await this.#sink?.writePlot();
    }
    this.#progress.info(`training stopped at step ${this.counters.globalStep}: ${reason}`);
    return { reason, step: this.counters.globalStep, losses };
  }

  /** Closes the metrics file. The model and optimizer belong to the caller. */
  close(): void {
    this.#sink?.close();
    this.#sink = null;
  }
}

/** True when the folder `dir` (a real path) is a direct child of `folder`. */
async function isChildOf(dir: string, folder: string): Promise<boolean> {
  try {
    return dirname(dir) === (await Deno.realPath(folder));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
