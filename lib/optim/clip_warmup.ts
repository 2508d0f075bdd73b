/**
 * OLMo later's warmup of the clipping thresholds (`scheduler.grad_clip_warmup_steps` and
 * `grad_clip_warmup_factor`, its `Scheduler._get_max_grad_norm_coeff`): until the schedule
 * passes `grad_clip_warmup_steps`, `max_grad_norm` and `max_grad_norm_ratio` are multiplied by
 * the factor. OLMo sets the thresholds after each step's clipping, so the value computed at step
 * k clips step k + 1 (the first step clips with the configured thresholds).
 *
 * @module
 */
import type { ParamGroup } from "./param_groups.ts";

/** The warmup settings (`scheduler.*`); both must be set for a warmup. */
export interface ClipWarmupSettings {
  /** Steps (or tokens, with `units: tokens`) of the warmup; null: none. */
  grad_clip_warmup_steps: number | null;
  /** Threshold factor during the warmup; null: none. */
  grad_clip_warmup_factor: number | null;
}

/** OLMo's `_get_max_grad_norm_coeff`: `initial`, or `factor · initial` during the warmup. */
export function clipThresholdAt(
  initial: number | null,
  current: number,
  warmup: ClipWarmupSettings,
): number | null {
  if (initial === null) return null;
  const steps = warmup.grad_clip_warmup_steps;
  const factor = warmup.grad_clip_warmup_factor;
  if (steps === null || factor === null || current > steps) return initial;
  return factor * initial;
}

/** Sets every group's thresholds for schedule position `current` (after a step, as OLMo). */
export function applyClipWarmup(
  groups: ParamGroup[],
  thresholds: { max_grad_norm: number | null; max_grad_norm_ratio: number | null },
  current: number,
  warmup: ClipWarmupSettings,
): void {
  for (const g of groups) {
    g.max_grad_norm = clipThresholdAt(thresholds.max_grad_norm, current, warmup);
    g.max_grad_norm_ratio = clipThresholdAt(thresholds.max_grad_norm_ratio, current, warmup);
  }
}
