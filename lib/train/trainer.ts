/**
 * `Trainer`: OLMo's training loop (`olmo/train.py` `Trainer.fit`, spec §6.2–§6.7) on tfjs.
 *
 * Per step: take the next device batch, advance the 1-based counters, set the LR from the
 * scheduler, run the step (micro-batches, gradient sync, clipping, update; one device read),
 * record metrics (`metrics.jsonl` every step, the console every `console_log_interval`), decide
 * whether to stop (`stop_at`, `time_limit`, `early_stopping_factor`, a cancel signal), save
 * checkpoints at their intervals, and evaluate every `eval_interval` steps. Training ends exactly
 * at `max_duration` (steps, or a token budget like `"2e9T"`) or when the data runs out.
 *
 * @module
 */
import { type TrainConfig, trainConfigToYaml } from "../config/mod.ts";
import { durationToSteps } from "../config/duration.ts";
import { checkWasmMemory } from "../backend/memory_guard.ts";
import { CheckpointManager } from "../checkpoint/trainer_checkpoint.ts";
import type { MemMapDataset } from "../data/memmap_dataset.ts";
import type { Communicator } from "../distributed/world.ts";
import type { Olmo } from "../model/olmo.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { Scheduler } from "../optim/scheduler.ts";
import { readTrainingCheckpoint, type RestoredCheckpoint } from "./checkpointing.ts";
import { saveTrainingCheckpoint } from "./checkpointing.ts";
import type { LmEvaluator } from "./evaluator.ts";
import { formatMetricsBlock } from "./format.ts";
import { type GradientSync, LOCAL_GRADIENT_SYNC } from "./gradient_sync.ts";
import { SILENT_LOGGER, type TrainLogger } from "./log.ts";
import { MetricsSink } from "./metrics_sink.ts";
import { TrainProgress, type TrainProgressOptions } from "./progress.ts";
import { SpeedMonitor } from "./speed_monitor.ts";
import {
  advanceCounters,
  countersFromState,
  dropoutSeed,
  initialCounters,
  type TrainCounters,
  trainerStateOf,
} from "./state.ts";
import { TrainBatches } from "./train_data.ts";
import { runTrainStep, type TrainStepContext } from "./train_step.ts";
import type { ZeroDataParallel } from "./zero_data_parallel.ts";

/** Everything the trainer is built from (see `buildTrainer` in `run.ts` for the usual way). */
export interface TrainerOptions {
  /** The run config, after `deriveTrainConfig` (run_name set). */
  cfg: TrainConfig;
  /** The model. */
  model: Olmo;
  /** The optimizer over `model.params`, or `dataParallel.optimizer` with ZeRO. */
  optimizer: Optimizer;
  /** The LR schedule (replace `trainer.scheduler` for the bolt-on warmup). */
  scheduler: Scheduler;
  /** Training instances (`buildTrainDataset`). */
  trainDataset: MemMapDataset;
  /** In-loop evaluators. */
  evaluators?: LmEvaluator[];
  /** The process group (a `SingleProcessWorld` for one process). */
  world: Communicator;
  /** ZeRO data parallelism (sharded optimizer state); runs every multi-rank step it is given. */
  dataParallel?: ZeroDataParallel;
  /** Plain gradient averaging across ranks (a multi-rank run needs it or `dataParallel`). */
  gradientSync?: GradientSync;
  /** Log lines (rank 0's are printed by `consoleLogger`). Default: silent. */
  logger?: TrainLogger;
  /** Progress display options. */
  progress?: TrainProgressOptions;
  /** Peak FLOP/s for `throughput/device/mfu`; null or absent leaves MFU out. */
  peakFlops?: number | null;
  /** When aborted, the run saves a sharded checkpoint and stops after the current step. */
  cancelSignal?: AbortSignal;
}

/** Why `fit` returned. */
export type StopReason =
  | "max_duration"
  | "stop_at"
  | "time_limit"
  | "early_stopping"
  | "canceled"
  | "data_exhausted";

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
  readonly evaluators: LmEvaluator[];
  /** Saves checkpoints and keeps `latest` and the keep-N lists. */
  readonly checkpoints: CheckpointManager;
  /** Progress counters (1-based steps). */
  counters: TrainCounters = initialCounters();
  readonly #opts: TrainerOptions;
  readonly #world: Communicator;
  readonly #progress: TrainProgress;
  readonly #configYaml: string;
  readonly #speed: SpeedMonitor;
  #sink: MetricsSink | null = null;
  #restoredStep: number | null = null;
  #minLoss = Infinity;
  #peakRssMb = 0;

  /**
   * @throws Error when the world has several ranks but neither `dataParallel` nor
   * `gradientSync`, or when `dataParallel` is given with another optimizer than its own.
   */
  constructor(opts: TrainerOptions) {
    if (opts.cfg.device_train_batch_size === null) {
      throw new Error("Trainer: derive the config first (deriveTrainConfig)");
    }
    const zero = opts.dataParallel;
    if (
      opts.world.size > 1 && zero === undefined &&
      (opts.gradientSync ?? LOCAL_GRADIENT_SYNC) === LOCAL_GRADIENT_SYNC
    ) {
      throw new Error(
        `Trainer: ${opts.world.size} ranks need data parallelism: pass dataParallel ` +
          "(ZeroDataParallel.create, as runTraining does) or a gradientSync",
      );
    }
    if (zero !== undefined && (zero.optimizer !== opts.optimizer || zero.world !== opts.world)) {
      throw new Error("Trainer: with dataParallel, pass its optimizer and its world");
    }
    this.cfg = opts.cfg;
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.scheduler = opts.scheduler;
    this.evaluators = opts.evaluators ?? [];
    this.#opts = opts;
    this.#world = opts.world;
    this.#progress = new TrainProgress(opts.logger ?? SILENT_LOGGER, {
      ...opts.progress,
      silent: opts.progress?.silent || opts.world.rank !== 0,
    });
    this.#configYaml = trainConfigToYaml(opts.cfg);
    this.#speed = new SpeedMonitor(opts.cfg.speed_monitor.window_size);
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

  /** The learning rate of `step` from the config's base LR (OLMo re-derives it on restart). */
  lrAt(step: number): number {
    return this.scheduler.getLr(this.cfg.optimizer.learning_rate, step, this.maxSteps());
  }

  /**
   * Restores model weights, optimizer state (unless `loadOptimizerState` is false) and trainer
   * state (unless absent or `resetTrainerState`) from a checkpoint folder, `latest` link or URL,
   * then resets every group's LR from the config (OLMo's restart rule). `metrics.jsonl` then
   * keeps its lines up to the restored step, unless `verifyOnly` (the read-back of the step-0
   * checkpoint of a new run).
   */
  async restoreCheckpoint(
    path: string,
    opts: { loadOptimizerState: boolean; resetTrainerState?: boolean; verifyOnly?: boolean },
  ): Promise<RestoredCheckpoint> {
    const zero = this.#opts.dataParallel;
    const loaded = await readTrainingCheckpoint(path, {
      rank: this.#world.rank,
      worldSize: this.#world.size,
      loadOptimizerState: opts.loadOptimizerState,
      keepRankShard: zero !== undefined,
    });
    if (loaded.rankShard !== null) {
      const { layout, shard } = loaded.rankShard;
      await zero!.loadRankShard(layout, shard, loaded.dir, opts.loadOptimizerState);
    } else {
      try {
        this.model.loadStateDict(loaded.model!);
      } catch (e) {
        throw new Error(`${loaded.dir}: ${(e as Error).message}`);
      }
      if (zero !== undefined) {
        await zero.syncFromModel();
        if (loaded.optim !== null) zero.loadFullOptimizerState(loaded.optim, loaded.dir);
      } else if (loaded.optim !== null) this.optimizer.loadStateDict(loaded.optim, loaded.dir);
    }
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
    if (!opts.verifyOnly) this.#restoredStep = this.counters.globalStep;
    return loaded;
  }

  /** Saves a sharded (`step{N}/`) or unsharded (`step{N}-unsharded/`) checkpoint now. */
  async saveCheckpoint(sharded: boolean): Promise<string> {
    const dir = await saveTrainingCheckpoint(this.checkpoints, sharded, {
      model: this.model,
      optimizer: this.optimizer,
      trainer: trainerStateOf(this.counters, this.#world.size, this.cfg.seed),
      configYaml: this.#configYaml,
      rank: this.#world.rank,
      worldSize: this.#world.size,
      dataParallel: this.#opts.dataParallel,
    });
    this.#progress.info(`saved ${sharded ? "sharded" : "unsharded"} checkpoint to ${dir}`);
    await this.#sink?.writePlot();
    this.#speed.reset();
    return dir;
  }

  /** Runs every evaluator; logs, records and returns their metrics. */
  async eval(): Promise<Record<string, number>> {
    const all: Record<string, number> = {};
    for (const evaluator of this.evaluators) {
      const every = this.cfg.console_log_interval;
      const metrics = await evaluator.evaluate(this.model, (i, n) => {
        if (i === n || i % every === 0) this.#progress.info(`[eval_step=${i}/${n}]`);
      });
      this.#progress.info(formatMetricsBlock(evaluator.label, metrics));
      Object.assign(all, metrics);
    }
    if (Object.keys(all).length > 0) await this.#sink?.record(this.counters.globalStep, all);
    this.#speed.reset();
    return all;
  }

  async #openSink(): Promise<void> {
    if (this.#sink !== null || this.#world.rank !== 0) return;
    this.#sink = new MetricsSink(this.cfg.save_folder, this.cfg.run_name ?? "loss");
    await this.#sink.open(this.#restoredStep);
  }

  #stepContext(): TrainStepContext {
    return {
      model: this.model,
      optimizer: this.optimizer,
      gradientSync: this.#opts.gradientSync ?? LOCAL_GRADIENT_SYNC,
      dataParallel: this.#opts.dataParallel,
      microBatchSize: this.cfg.device_train_microbatch_size,
      zLoss: this.cfg.softmax_auxiliary_loss,
      dropoutSeed: (micro) =>
        dropoutSeed(this.cfg.seed, this.counters.globalStep, this.#world.rank, micro),
    };
  }

  /** OLMo's `should_log_optim_metrics_this_step`: per-parameter metrics only with W&B set. */
  #collectOptimMetrics(step: number): boolean {
    const w = this.cfg.wandb;
    if (w === null) return false;
    const interval = Math.max(
      this.cfg.optimizer.metrics_log_interval ?? w.log_interval,
      w.log_interval,
    );
    return step % interval === 0;
  }

  /** Trains until `max_duration`, `stop_at`, a cancel or the end of the data. */
  async fit(): Promise<FitResult> {
    const cfg = this.cfg;
    await this.#openSink();
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
        this.#speed.batchStart(this.counters.globalTrainTokensSeen, deviceBatch * seqLen);
        const lr = this.lrAt(step);
        const result = await runTrainStep(ctx, batch, step, lr, this.#collectOptimMetrics(step));
        checkWasmMemory();
        const metrics = await this.#stepMetrics(step, result);
        losses.push(result.ce);
        this.#minLoss = Math.min(this.#minLoss, result.ce);
        await this.#sink?.record(step, metrics);
        if (step % cfg.console_log_interval === 0) {
          this.#progress.info(formatMetricsBlock(`step=${step}/${maxSteps}`, metrics));
        }
        this.#progress.update(step, {
          loss: result.ce,
          tokensPerSecond: metrics["throughput/device/tokens_per_second"],
        });
        const cancel = await this.#cancelReason(step, result.ce, started);
        if (
          cancel !== null ||
          (step % cfg.save_interval === 0 && cfg.save_num_checkpoints_to_keep !== 0)
        ) {
          await this.saveCheckpoint(true);
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
      const savedNow = lastUnsharded?.endsWith(`step${this.counters.globalStep}-unsharded`);
      if (done && cfg.save_interval_unsharded !== null && !savedNow && losses.length > 0) {
        await this.saveCheckpoint(false);
      }
    } finally {
      this.#progress.stop();
      await this.#sink?.writePlot();
    }
    this.#progress.info(`training stopped at step ${this.counters.globalStep}: ${reason}`);
    return { reason, step: this.counters.globalStep, losses };
  }

  /** OLMo's per-step metrics (§6.3) plus MFU and memory. */
  async #stepMetrics(
    step: number,
    r: { ce: number; z: number | null; gradNorm: number; optimMetrics: Record<string, number> },
  ): Promise<Record<string, number>> {
    let ce = r.ce, z = r.z;
    // With ZeRO the step's loss is already the mean over ranks (on every step).
    const localLoss = this.#opts.dataParallel === undefined;
    if (this.#world.size > 1 && localLoss && step % this.cfg.console_log_interval === 0) {
      const buf = Float64Array.of(ce, z ?? 0);
      await this.#world.allReduceSum(buf);
      ce = buf[0] / this.#world.size;
      z = z === null ? null : buf[1] / this.#world.size;
    }
    const m: Record<string, number> = {
      "train/CrossEntropyLoss": ce,
      "train/Perplexity": Math.exp(ce),
    };
    if (z !== null) m["train/ZLoss"] = z;
    Object.assign(m, this.#speed.metrics());
    const tps = m["throughput/device/tokens_per_second"];
    const peak = this.#opts.peakFlops ?? null;
    if (tps !== undefined && peak !== null && peak > 0) {
      m["throughput/device/mfu"] = (tps * this.model.trainFlopsPerToken()) / peak;
    }
    this.#peakRssMb = Math.max(this.#peakRssMb, Deno.memoryUsage().rss / 2 ** 20);
    if (step < 3 || step % 10 === 0) m["System/Peak Memory (MB)"] = this.#peakRssMb;
    this.optimizer.paramGroups.forEach((g, i) => (m[`optim/learning_rate_group${i}`] = g.lr));
    for (const [k, v] of Object.entries(r.optimMetrics)) m[`optim/${k}`] = v;
    if (this.#collectOptimMetrics(step)) {
      const post = this.#opts.dataParallel ?? this.optimizer;
      for (const [k, v] of Object.entries(await post.postStepMetrics())) {
        m[`optim/${k}`] = v;
      }
    }
    return m;
  }

  /** `stop_at` every step; time limit, early stopping and the cancel signal (spec §6.5). */
  async #cancelReason(step: number, loss: number, startedMs: number): Promise<StopReason | null> {
    const cfg = this.cfg;
    if (cfg.stop_at !== null && step >= cfg.stop_at) return "stop_at";
    const single = this.#world.size === 1;
    if (!single && step % cfg.canceled_check_interval !== 0) return null;
    let code = 0;
    if (this.#opts.cancelSignal?.aborted) code = 1;
    else if (step % cfg.canceled_check_interval === 0) {
      const elapsed = (performance.now() - startedMs) / 1000;
      if (cfg.time_limit !== null && elapsed > cfg.time_limit) code = 2;
      else if (
        cfg.early_stopping_factor !== null && step > cfg.scheduler.t_warmup &&
        loss > cfg.early_stopping_factor * this.#minLoss
      ) code = 3;
    }
    if (!single) {
      const buf = Float64Array.of(code);
      await this.#world.allReduceMax(buf);
      code = buf[0];
    }
    return ([null, "canceled", "time_limit", "early_stopping"] as const)[code];
  }

  /** Closes the metrics file. The model and optimizer belong to the caller. */
  close(): void {
    this.#sink?.close();
    this.#sink = null;
  }
}
