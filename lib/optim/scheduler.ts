/**
 * Learning-rate schedulers, exactly OLMo's (`olmo/optim.py`). Every warmup starts at
 * 10% of the LR: `warm(s) = lr·(0.1 + 0.9·min(s, w)/w)`, or (OLMo later) at `warmup_min_lr`:
 * `m + (lr − m)·min(s, w)/w`. `step` is the 1-based global step and `maxSteps` is
 * `max_duration` (with OLMo later's `units: tokens`, tokens seen and the token budget).
 *
 * @module
 */
import type { SchedulerSettings } from "./settings.ts";
import { SCHEDULER_NAMES } from "./settings.ts";

/** A learning-rate schedule. */
export interface Scheduler {
  /** The LR at `step` for base LR `initialLr` and a run of `maxSteps` steps. */
  getLr(initialLr: number, step: number, maxSteps: number): number;
}

/** OLMo's linear warmup from 10% of the LR, or from `minLr` (`warmup_min_lr`) when set. */
function linearWarmup(
  initialLr: number,
  step: number,
  warmupSteps: number,
  minLr: number | null,
): number {
  if (minLr === null) return initialLr * (0.1 + (0.9 * Math.min(step, warmupSteps)) / warmupSteps);
  if (!(minLr >= 0 && minLr < initialLr)) {
    throw new Error(
      `scheduler.warmup_min_lr (${minLr}) must be in [0, learning_rate ${initialLr})`,
    );
  }
  return minLr + ((initialLr - minLr) * Math.min(step, warmupSteps)) / warmupSteps;
}

/**
 * Linear warmup, then a decay from the LR to `alpha_f·lr` over steps `[warmupSteps, t_max)`
 * (`t_max` defaults to `maxSteps`); the subclass gives the decay's shape.
 */
abstract class DecayWithWarmup implements Scheduler {
  /** Warmup steps, final-LR fraction and optional decay end. */
  constructor(
    readonly warmupSteps: number,
    readonly alphaF = 0.1,
    readonly tMax: number | null = null,
    readonly warmupMinLr: number | null = null,
  ) {}
  /** See `Scheduler.getLr`. */
  getLr(initialLr: number, step: number, maxSteps: number): number {
    const end = this.tMax ?? maxSteps;
    const etaMin = initialLr * this.alphaF;
    if (step < this.warmupSteps) {
      return linearWarmup(initialLr, step, this.warmupSteps, this.warmupMinLr);
    }
    if (step >= end) return etaMin;
    return this.decay(initialLr, etaMin, step - this.warmupSteps, end - this.warmupSteps);
  }
  /** The LR `s` steps into a decay of `span` steps from `initialLr` to `etaMin`. */
  protected abstract decay(initialLr: number, etaMin: number, s: number, span: number): number;
}

/** Cosine decay to `alpha_f·lr` at `t_max` (default `maxSteps`) after warmup. */
export class CosWithWarmup extends DecayWithWarmup {
  /** Half a cosine period from `initialLr` down to `etaMin`. */
  protected decay(initialLr: number, etaMin: number, s: number, span: number): number {
    return etaMin + ((initialLr - etaMin) * (1 + Math.cos((Math.PI * s) / span))) / 2;
  }
}

/** Linear decay to `alpha_f·lr` at `t_max` (default `maxSteps`) after warmup. */
export class LinearWithWarmup extends DecayWithWarmup {
  /** A straight line from `initialLr` down to `etaMin`. */
  protected decay(initialLr: number, etaMin: number, s: number, span: number): number {
    return initialLr - (initialLr - etaMin) * (s / span);
  }
}

/**
 * OLMo later's `cosine_linear_envelope`: after warmup, `eta_min + (1 − s/span)·cos_part` where
 * `cos_part` is the cosine decay's `(lr − eta_min)(1 + cos(π·s/span))/2`; useful for annealing.
 */
export class CosLinearEnvelope extends DecayWithWarmup {
  /** The cosine decay times a linear envelope from 1 to 0. */
  protected decay(initialLr: number, etaMin: number, s: number, span: number): number {
    const envelope = 1 - s / span;
    return etaMin + (envelope * (initialLr - etaMin) * (1 + Math.cos((Math.PI * s) / span))) / 2;
  }
}

/** OLMo later's `constant` (no warmup) and `constant_with_warmup` schedules. */
export class ConstantWithWarmup implements Scheduler {
  /** Warmup steps (0 for `constant`) and the warmup's start LR (null: 10% of the LR). */
  constructor(readonly warmupSteps: number, readonly warmupMinLr: number | null = null) {}
  /** See `Scheduler.getLr`. */
  getLr(initialLr: number, step: number, _maxSteps: number): number {
    if (step < this.warmupSteps) {
      return linearWarmup(initialLr, step, this.warmupSteps, this.warmupMinLr);
    }
    return initialLr;
  }
}

/** `lr·sqrt(w / max(w, step))` after warmup. */
export class InvSqrtWithWarmup implements Scheduler {
  /** Warmup steps and the warmup's start LR (null: 10% of the LR). */
  constructor(readonly warmupSteps: number, readonly warmupMinLr: number | null = null) {}
  /** See `Scheduler.getLr`. */
  getLr(initialLr: number, step: number, _maxSteps: number): number {
    if (step < this.warmupSteps) {
      return linearWarmup(initialLr, step, this.warmupSteps, this.warmupMinLr);
    }
    return initialLr * Math.sqrt(this.warmupSteps / Math.max(this.warmupSteps, step));
  }
}

/** The larger of two schedules' LRs. */
export class MaxScheduler implements Scheduler {
  /** The two schedules. */
  constructor(readonly sched1: Scheduler, readonly sched2: Scheduler) {}
  /** See `Scheduler.getLr`. */
  getLr(initialLr: number, step: number, maxSteps: number): number {
    return Math.max(
      this.sched1.getLr(initialLr, step, maxSteps),
      this.sched2.getLr(initialLr, step, maxSteps),
    );
  }
}

/**
 * Zero before `warmupStart`, a linear ramp from 0 to `inner(warmupEnd)` until `warmupEnd`, then
 * `inner`. OLMo wraps the scheduler in it when `reset_optimizer_state` is set, with
 * `start = global_step` and `end = global_step + t_warmup`.
 */
export class BoltOnWarmupScheduler implements Scheduler {
  /** The wrapped schedule and the ramp's [start, end) steps. */
  constructor(
    readonly inner: Scheduler,
    readonly warmupStart: number,
    readonly warmupEnd: number,
  ) {}
  /** See `Scheduler.getLr`. */
  getLr(initialLr: number, step: number, maxSteps: number): number {
    if (step < this.warmupStart) return 0;
    if (step < this.warmupEnd) {
      const atIntercept = this.inner.getLr(initialLr, this.warmupEnd, maxSteps);
      return (atIntercept * (step - this.warmupStart)) / (this.warmupEnd - this.warmupStart);
    }
    return this.inner.getLr(initialLr, step, maxSteps);
  }
}

/**
 * Builds the scheduler of `scheduler.*` as OLMo's `build_scheduler`.
 * @throws Error naming `scheduler.name` for an unknown scheduler, or a bad numeric field.
 */
export function buildScheduler(cfg: SchedulerSettings): Scheduler {
  if (!Number.isInteger(cfg.t_warmup) || cfg.t_warmup < 0) {
    throw new Error(`scheduler.t_warmup must be a non-negative integer, got ${cfg.t_warmup}`);
  }
  if (typeof cfg.alpha_f !== "number" || !Number.isFinite(cfg.alpha_f)) {
    throw new Error(`scheduler.alpha_f must be a number, got ${JSON.stringify(cfg.alpha_f)}`);
  }
  const tMax = cfg.t_max ?? null;
  const minLr = cfg.warmup_min_lr ?? null;
  switch (cfg.name) {
    case "cosine_with_warmup":
      return new CosWithWarmup(cfg.t_warmup, cfg.alpha_f, tMax, minLr);
    case "linear_with_warmup":
      return new LinearWithWarmup(cfg.t_warmup, cfg.alpha_f, tMax, minLr);
    case "inverse_sqrt_with_warmup":
      return new InvSqrtWithWarmup(cfg.t_warmup, minLr);
    case "max_scheduler":
      return new MaxScheduler(
        new CosWithWarmup(cfg.t_warmup, cfg.alpha_f, tMax, minLr),
        new InvSqrtWithWarmup(cfg.t_warmup, minLr),
      );
    case "constant":
      return new ConstantWithWarmup(0);
    case "cosine_linear_envelope":
      return new CosLinearEnvelope(cfg.t_warmup, cfg.alpha_f, tMax, minLr);
    case "constant_with_warmup":
      return new ConstantWithWarmup(cfg.t_warmup, minLr);
    default:
      throw new Error(
        `scheduler.name: unknown scheduler ${JSON.stringify(cfg.name)} (expected one of ${
          SCHEDULER_NAMES.join(", ")
        })`,
      );
  }
}
