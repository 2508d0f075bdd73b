/**
 * The string enums of OLMo's `olmo/config.py` plus olmo-ts's own (`MemmapDType`). Each enum is
 * one `as const` array of every value, and its type is derived from it
 * (`type X = typeof X_VALUES[number]`); the arrays drive validation and the "expected one of"
 * error messages. OLMo's `StrEnum`s are written and read by name, and name == value, so the YAML
 * spelling is the value here too. `ShardingStrategy` is torch's enum, which OLMo writes by name
 * (`FULL_SHARD`).
 *
 * The model enums (`LayerNormType`, `ActivationType`, `BlockType`, `InitFnType`) live in
 * `model_config.ts`; the backend names (`BACKEND_NAMES`) belong to `lib/backend/names.ts`.
 *
 * @module
 */

/** Every `OptimizerType`. */
export const OPTIMIZER_TYPES = ["lionw", "adamw"] as const;
/** Optimizer (`optimizer.name`). */
export type OptimizerType = typeof OPTIMIZER_TYPES[number];

/** Every `SchedulerType`. */
export const SCHEDULER_TYPES = [
  "cosine_with_warmup",
  "linear_with_warmup",
  "inverse_sqrt_with_warmup",
  "max_scheduler",
  // OLMo later
  "constant",
  "cosine_linear_envelope",
  "constant_with_warmup",
] as const;
/** Learning-rate schedule (`scheduler.name`). */
export type SchedulerType = typeof SCHEDULER_TYPES[number];

/** Every `PaddingDirection`. */
export const PADDING_DIRECTIONS = ["right", "left"] as const;
/** Side the collator pads on (`data.pad_direction`). */
export type PaddingDirection = typeof PADDING_DIRECTIONS[number];

/** Every `TruncationDirection`. */
export const TRUNCATION_DIRECTIONS = ["right", "left"] as const;
/** Side the tokenizer truncates on (`tokenizer.truncate_direction`). */
export type TruncationDirection = typeof TRUNCATION_DIRECTIONS[number];

/** Every `EvaluatorType`. */
export const EVALUATOR_TYPES = ["downstream", "lm"] as const;
/** Evaluator kind (`evaluators[i].type`). */
export type EvaluatorType = typeof EVALUATOR_TYPES[number];

/** Every `FSDPWrapStrategy`. */
export const FSDP_WRAP_STRATEGIES = [
  "by_block",
  "by_block_and_size",
  "by_block_group",
  "by_block_group_and_size",
  "size_based",
  // OLMo later
  "one_in_two",
  "one_in_three",
  "one_in_four",
  "one_in_five",
] as const;
/** FSDP auto-wrap policy (`fsdp.wrapping_strategy`); accepted and unused here. */
export type FSDPWrapStrategy = typeof FSDP_WRAP_STRATEGIES[number];

/** Every `FSDPPrecision`. */
export const FSDP_PRECISIONS = ["pure", "mixed"] as const;
/** FSDP mixed-precision policy (`fsdp.precision`); accepted and unused here. */
export type FSDPPrecision = typeof FSDP_PRECISIONS[number];

/** Every `CheckpointType`. */
export const CHECKPOINT_TYPES = ["sharded", "unsharded"] as const;
/** Checkpoint kind: one per rank (`sharded`) or one for the whole model (`unsharded`). */
export type CheckpointType = typeof CHECKPOINT_TYPES[number];

/** Every `ShardedCheckpointerType`. */
export const SHARDED_CHECKPOINTER_TYPES = [
  "torch_new",
  "torch_legacy",
  "local",
  "olmo_core", // OLMo later
] as const;
/**
 * OLMo's sharded checkpoint formats (`sharded_checkpointer`). olmo-ts accepts every value so
 * OLMo configs load, but writes and reads its own sharded format (one file per rank) for all.
 */
export type ShardedCheckpointerType = typeof SHARDED_CHECKPOINTER_TYPES[number];

/** Every `ActivationCheckpointingStrategy`. */
export const ACTIVATION_CHECKPOINTING_STRATEGIES = [
  "whole_layer",
  "one_in_two",
  "one_in_three",
  "one_in_four",
  "fine_grained",
  // OLMo later
  "one_in_eight",
  "two_in_three",
  "three_in_four",
] as const;
/** Which blocks recompute activations in the backward pass; accepted and unused here. */
export type ActivationCheckpointingStrategy = typeof ACTIVATION_CHECKPOINTING_STRATEGIES[number];

/** Every `ShardingStrategy` name. */
export const SHARDING_STRATEGIES = [
  "FULL_SHARD",
  "SHARD_GRAD_OP",
  "NO_SHARD",
  "HYBRID_SHARD",
  "_HYBRID_SHARD_ZERO2",
] as const;
/** torch's FSDP `ShardingStrategy`, by name (`fsdp.sharding_strategy`); accepted and unused here. */
export type ShardingStrategy = typeof SHARDING_STRATEGIES[number];

/** Every `DistributedStrategy` (OLMo later). */
export const DISTRIBUTED_STRATEGIES = ["ddp", "fsdp", "single"] as const;
/** OLMo later: how training is distributed (`distributed_strategy`); olmo-ts has its own. */
export type DistributedStrategy = typeof DISTRIBUTED_STRATEGIES[number];

/** Every `DDPGradSyncMode` (OLMo later). */
export const DDP_GRAD_SYNC_MODES = ["batch", "micro_batch"] as const;
/** OLMo later: when DDP syncs gradients (`ddp.grad_sync_mode`); accepted and unused here. */
export type DDPGradSyncMode = typeof DDP_GRAD_SYNC_MODES[number];

/** Every `SchedulerUnits` (OLMo later). */
export const SCHEDULER_UNITS = ["steps", "tokens"] as const;
/** OLMo later: what the scheduler's lengths count (`scheduler.units`). */
export type SchedulerUnits = typeof SCHEDULER_UNITS[number];

/** Every `MemmapDType`. */
export const MEMMAP_DTYPES = ["uint16", "uint32"] as const;
/** olmo-ts: element type of the token `.npy` files (`data.memmap_dtype`). */
export type MemmapDType = typeof MEMMAP_DTYPES[number];

/** Every `Precision`. */
export const PRECISIONS = ["amp_bf16", "amp_fp16", "fp32"] as const;
/** Values of `precision` that OLMo's `autocast_precision` accepts. */
export type Precision = typeof PRECISIONS[number];
