/**
 * When a run stops early (OLMo's `check_if_cancelled` and `stop_at` in `olmo/train.py`
 * `Trainer.fit`): `stop_at` is checked every step; the time limit, early stopping and a cancel
 * signal every `canceled_check_interval` steps (a single process also honours the signal on any
 * step). With several ranks the decision is all-reduced, so every rank stops at the same step. A
 * stopped run saves a sharded checkpoint and neither evaluates nor saves an unsharded one on that
 * step.
 *
 * @module
 */
import type { TrainConfig } from "../config/mod.ts";
import type { Communicator } from "../distributed/world.ts";

/** Why a run stops before `max_duration` or the end of its data. */
export type CancelReason = "stop_at" | "time_limit" | "early_stopping" | "canceled";

/** Everything the stop decision depends on besides the step. */
export interface StopConditions {
  /** `stop_at`, `time_limit`, `early_stopping_factor`, `canceled_check_interval`, t_warmup. */
  cfg: Pick<
    TrainConfig,
    "stop_at" | "time_limit" | "early_stopping_factor" | "canceled_check_interval" | "scheduler"
  >;
  /** The process group (the decision is the maximum over ranks). */
  world: Pick<Communicator, "size" | "allReduceMax">;
  /** Aborted by Ctrl-C (or a caller) to save a checkpoint and stop. */
  cancelSignal?: AbortSignal;
}

/** The state of the run at the end of a step. */
export interface StepState {
  /** The 1-based step just taken. */
  step: number;
  /** Its training loss. */
  loss: number;
  /** The lowest training loss so far (this one included). */
  minLoss: number;
  /** Seconds since `fit` started. */
  elapsedSeconds: number;
}

/** Why the run must stop after `s.step`, or null to go on. Every rank calls it. */
export async function cancelReason(
  c: StopConditions,
  s: StepState,
): Promise<CancelReason | null> {
  const cfg = c.cfg;
  if (cfg.stop_at !== null && s.step >= cfg.stop_at) return "stop_at";
  const single = c.world.size === 1;
  const checkStep = s.step % cfg.canceled_check_interval === 0;
  if (!single && !checkStep) return null;
  let code = 0;
  if (c.cancelSignal?.aborted) code = 1;
  else if (checkStep) {
    if (cfg.time_limit !== null && s.elapsedSeconds >= cfg.time_limit) code = 2;
    else if (
      cfg.early_stopping_factor !== null && s.step > cfg.scheduler.t_warmup &&
      s.loss > cfg.early_stopping_factor * s.minLoss
    ) code = 3;
  }
  if (!single) {
    const buf = Float64Array.of(code);
    await c.world.allReduceMax(buf);
    code = buf[0];
  }
  return ([null, "canceled", "time_limit", "early_stopping"] as const)[code];
}
