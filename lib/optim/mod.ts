/**
 * Optimizers (OLMo's AdamW and LionW), parameter groups, gradient clipping and LR schedulers.
 *
 * @module
 */
export type {
  ClippingSettings,
  OptimizerName,
  OptimizerSettings,
  SchedulerName,
  SchedulerSettings,
} from "./settings.ts";

export type { ParamClassifier, ParamGroup, ParamGroupOptions, ParamKind } from "./param_groups.ts";
export { buildParamGroups, classifyParam } from "./param_groups.ts";
export type { AdamWHyper, AdamWResult, AdamWScalars } from "./adamw.ts";
export { adamwScalars, adamwUpdate, adamwUpdateOps, disposeAdamWScalars } from "./adamw.ts";
export type { AdamWKernelAttrs } from "./adamw_kernel.ts";
export { fusedAdamWUpdate } from "./adamw_kernel.ts";
export type { LionWHyper, LionWResult, LionWScalars } from "./lionw.ts";

export type {
  ClipCoefficients,
  ClipCoefficientsInput,
  ClipContext,
  ClipResult,
} from "./clipping.ts";
export { clipCoefficients, tensorStats } from "./clipping.ts";
export type { OptimizerStateDict, ParsedParamState } from "./optimizer_state.ts";
export { ELEMENT_STATE_KEYS, GRAD_NORM_EMA_KEY, parseOptimizerState } from "./optimizer_state.ts";
export type { CreateOptimizerOptions } from "./optimizer.ts";
export { createOptimizer, Optimizer, updateCosSim } from "./optimizer.ts";
export type { Scheduler } from "./scheduler.ts";
export {
  BoltOnWarmupScheduler,
  buildScheduler,
  CosWithWarmup,
  InvSqrtWithWarmup,
  LinearWithWarmup,
  MaxScheduler,
} from "./scheduler.ts";
export type { ClipWarmupSettings } from "./clip_warmup.ts";
export { applyClipWarmup, clipThresholdAt } from "./clip_warmup.ts";
