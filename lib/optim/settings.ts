/**
 * The configuration fields the optimizer, clipping and scheduler code reads, as structural types
 * with OLMo's snake_case names (`optimizer.*`, `scheduler.*`, `max_grad_norm*` of `TrainConfig` in
 * `olmo/config.py`). The config module's `OptimizerConfig`, `SchedulerConfig` and `TrainConfig`
 * satisfy them, so callers pass those objects directly; tests pass plain literals.
 *
 * @module
 */

/** Optimizer names (`OptimizerType`). */
export type OptimizerName = "adamw" | "lionw";
/** Scheduler names (`SchedulerType`). */
export type SchedulerName =
  | "cosine_with_warmup"
  | "linear_with_warmup"
  | "inverse_sqrt_with_warmup"
  | "max_scheduler"
  | "constant"
  | "cosine_linear_envelope"
  | "constant_with_warmup";

/** Every `OptimizerName`, for validation. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ["adamw", "lionw"];
/** Every `SchedulerName`, for validation. */
export const SCHEDULER_NAMES: readonly SchedulerName[] = [
  "cosine_with_warmup",
  "linear_with_warmup",
  "inverse_sqrt_with_warmup",
  "max_scheduler",
  // OLMo later
  "constant",
  "cosine_linear_envelope",
  "constant_with_warmup",
];

/** `optimizer.*` fields (OLMo `OptimizerConfig`). */
export interface OptimizerSettings {
  /** `adamw` or `lionw` (a string so config enums of any spelling type-check; validated at use). */
  name: string;
  /** Base learning rate, the scheduler's input. */
  learning_rate: number;
  /** Weight decay of the decay group. */
  weight_decay: number;
  /** `(beta1, beta2)`. */
  betas: readonly number[];
  /** AdamW's denominator epsilon (OLMo later's `optimizer.eps`); 1e-5 when absent. */
  eps?: number;
  /** Decay LayerNorm weights and all biases too. */
  decay_norm_and_bias?: boolean;
  /** Decay embedding weights too. */
  decay_embeddings?: boolean;
  /** Deprecated: when set, `decay_norm_and_bias = decay_embeddings = !value`. */
  no_decay_norm_and_bias?: boolean | null;
}

/** Gradient clipping fields of `TrainConfig`. */
export interface ClippingSettings {
  /** Global-norm clipping threshold; null/undefined disables it. */
  max_grad_norm?: number | null;
  /** Adaptive per-parameter clipping ratio; takes priority over `max_grad_norm`. */
  max_grad_norm_ratio?: number | null;
}

/** `scheduler.*` fields (OLMo `SchedulerConfig`). */
export interface SchedulerSettings {
  /** One of `SchedulerName` (validated at use). */
  name: string;
  /** Warmup steps. */
  t_warmup: number;
  /** End of the decay; null means `max_steps`. */
  t_max?: number | null;
  /** Final LR as a fraction of the base LR. */
  alpha_f: number;
  /** OLMo later: the LR warmups start from; null/absent means 10% of the base LR. */
  warmup_min_lr?: number | null;
}

/** Validates `optimizer.name`, naming the allowed values when it is wrong. */
export function optimizerName(settings: OptimizerSettings): OptimizerName {
  const name = settings.name as OptimizerName;
  if (!OPTIMIZER_NAMES.includes(name)) {
    throw new Error(
      `optimizer.name: unknown optimizer ${JSON.stringify(settings.name)} (expected one of ${
        OPTIMIZER_NAMES.join(", ")
      })`,
    );
  }
  return name;
}

/** Validates and returns `optimizer.betas` as a pair of numbers in [0, 1]. */
export function optimizerBetas(settings: OptimizerSettings): [number, number] {
  const b = settings.betas;
  if (
    !Array.isArray(b) || b.length !== 2 ||
    !b.every((x) => typeof x === "number" && x >= 0 && x <= 1)
  ) {
    throw new Error(
      `optimizer.betas: expected two numbers in [0, 1], got ${JSON.stringify(settings.betas)}`,
    );
  }
  return [b[0], b[1]];
}
