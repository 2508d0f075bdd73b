/**
 * The metrics of one training step under OLMo's names (`olmo/train.py` `Trainer.train_step`):
 * `train/CrossEntropyLoss`, `train/Perplexity`, `train/ZLoss` (means over ranks, as the
 * data-parallel strategy reports them), the speed monitor's `throughput/*`, `optim/learning_rate_group{i}`, and the `optim/*` metrics of the optimizer
 * (per parameter only when W&B settings ask for them, as OLMo's
 * `should_log_optim_metrics_this_step`).
 *
 * Two additions: `throughput/device/mfu` (tokens/s × training FLOPs per token ÷ the peak FLOP/s),
 * and `System/Peak Memory (MB)`, the process's peak resident memory, on the steps where OLMo
 * reports `System/Peak GPU Memory (MB)` (steps < 3 and every 10th), which has no meaning here.
 *
 * @module
 */
import type { TrainConfig } from "../config/mod.ts";
import type { DataParallel } from "../distributed/data_parallel.ts";
import type { Olmo } from "../model/olmo.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { SpeedMonitor } from "./speed_monitor.ts";
import type { TrainStepResult } from "./train_step.ts";

/** What the step metrics are computed from. */
export interface StepMetricsOptions {
  /** The run config (after `deriveTrainConfig`). */
  cfg: TrainConfig;
  /** The model (for the FLOPs per token of MFU). */
  model: Olmo;
  /** The optimizer (its groups' LRs). */
  optimizer: Optimizer;
  /** The data-parallel strategy (its step losses are already averaged over ranks). */
  dataParallel: DataParallel;
  /** Peak FLOP/s for `throughput/device/mfu`; null leaves MFU out. */
  peakFlops: number | null;
}

/** Collects OLMo's per-step metrics; owns the speed monitor. */
export class StepMetrics {
  /** Throughput over a window of steps (reset after checkpoints and evaluations). */
  readonly speed: SpeedMonitor;
  readonly #opts: StepMetricsOptions;
  #peakRssMb = 0;

  /** See `StepMetricsOptions`. */
  constructor(opts: StepMetricsOptions) {
    this.#opts = opts;
    this.speed = new SpeedMonitor(opts.cfg.speed_monitor.window_size);
  }

  /** OLMo's `should_log_optim_metrics_this_step`: per-parameter metrics only with W&B set. */
  collectOptimMetrics(step: number): boolean {
    const w = this.#opts.cfg.wandb;
    if (w === null) return false;
    const interval = Math.max(
      this.#opts.cfg.optimizer.metrics_log_interval ?? w.log_interval,
      w.log_interval,
    );
    return step % interval === 0;
  }

  /** The metrics of `step` from its result (every rank calls it: it may all-reduce). */
  async collect(step: number, r: TrainStepResult): Promise<Record<string, number>> {
    const { model, optimizer, dataParallel } = this.#opts;
    const { ce, z } = r;
    const m: Record<string, number> = {
      "train/CrossEntropyLoss": ce,
      "train/Perplexity": Math.exp(ce),
    };
    if (z !== null) m["train/ZLoss"] = z;
    Object.assign(m, this.speed.metrics());
    const tps = m["throughput/device/tokens_per_second"];
    const peak = this.#opts.peakFlops;
    if (tps !== undefined && peak !== null && peak > 0) {
      m["throughput/device/mfu"] = (tps * model.trainFlopsPerToken()) / peak;
    }
    this.#peakRssMb = Math.max(this.#peakRssMb, Deno.memoryUsage().rss / 2 ** 20);
    if (step < 3 || step % 10 === 0) m["System/Peak Memory (MB)"] = this.#peakRssMb;
    optimizer.paramGroups.forEach((g, i) => (m[`optim/learning_rate_group${i}`] = g.lr));
    for (const [k, v] of Object.entries(r.optimMetrics)) m[`optim/${k}`] = v;
    if (this.collectOptimMetrics(step)) {
      for (const [k, v] of Object.entries(await dataParallel.postStepMetrics())) {
        m[`optim/${k}`] = v;
      }
    }
    return m;
  }
}
