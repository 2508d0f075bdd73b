/**
 * The string enums of OLMo's `olmo/config.py` (spec §1.2) plus olmo-ts's own (`Backend`,
 * `MemmapDType`). Each enum is a string-literal type and a readonly array of every value; the
 * arrays drive validation and the "expected one of" error messages. OLMo's `StrEnum`s are written
 * and read by name, and name == value, so the YAML spelling is the value here too.
 * `ShardingStrategy` is torch's enum, which OLMo writes by name (`FULL_SHARD`).
 *
 * The model enums (`LayerNormType`, `ActivationType`, `BlockType`, `InitFnType`) live in
 * `model_config.ts`.
 *
 * @module
 */

/** Optimizer (`optimizer.name`). */
export type OptimizerType = "lionw" | "adamw";
/** Every `OptimizerType`. */
export const OPTIMIZER_TYPES: readonly OptimizerType[] = ["lionw", "adamw"];

/** Learning-rate schedule (`scheduler.name`). */
export type SchedulerType =
  | "cosine_with_warmup"
  | "linear_with_warmup"
  | "inverse_sqrt_with_warmup"
  | "max_scheduler";
/** Every `SchedulerType`. */
export const SCHEDULER_TYPES: readonly SchedulerType[] = [
  "cosine_with_warmup",
  "linear_with_warmup",
  "inverse_sqrt_with_warmup",
  "max_scheduler",
];

/** Side the collator pads on (`data.pad_direction`). */
export type PaddingDirection = "right" | "left";
/** Every `PaddingDirection`. */
export const PADDING_DIRECTIONS: readonly PaddingDirection[] = ["right", "left"];

/** Side the tokenizer truncates on (`tokenizer.truncate_direction`). */
export type TruncationDirection = "right" | "left";
/** Every `TruncationDirection`. */
export const TRUNCATION_DIRECTIONS: readonly TruncationDirection[] = ["right", "left"];

/** Evaluator kind (`evaluators[i].type`). */
export type EvaluatorType = "downstream" | "lm";
/** Every `EvaluatorType`. */
export const EVALUATOR_TYPES: readonly EvaluatorType[] = ["downstream", "lm"];

/** FSDP auto-wrap policy (`fsdp.wrapping_strategy`); accepted and unused here. */
export type FSDPWrapStrategy =
  | "by_block"
  | "by_block_and_size"
  | "by_block_group"
  | "by_block_group_and_size"
  | "size_based";
/** Every `FSDPWrapStrategy`. */
export const FSDP_WRAP_STRATEGIES: readonly FSDPWrapStrategy[] = [
  "by_block",
  "by_block_and_size",
  "by_block_group",
  "by_block_group_and_size",
  "size_based",
];

/** FSDP mixed-precision policy (`fsdp.precision`); accepted and unused here. */
export type FSDPPrecision = "pure" | "mixed";
/** Every `FSDPPrecision`. */
export const FSDP_PRECISIONS: readonly FSDPPrecision[] = ["pure", "mixed"];

/** Checkpoint kind: one per rank (`sharded`) or one for the whole model (`unsharded`). */
export type CheckpointType = "sharded" | "unsharded";
/** Every `CheckpointType`. */
export const CHECKPOINT_TYPES: readonly CheckpointType[] = ["sharded", "unsharded"];

/**
 * OLMo's sharded checkpoint formats (`sharded_checkpointer`). olmo-ts accepts every value so
 * OLMo configs load, but writes and reads its own sharded format (one file per rank) for all.
 */
export type ShardedCheckpointerType = "torch_new" | "torch_legacy" | "local";
/** Every `ShardedCheckpointerType`. */
export const SHARDED_CHECKPOINTER_TYPES: readonly ShardedCheckpointerType[] = [
  "torch_new",
  "torch_legacy",
  "local",
];

/** Which blocks recompute activations in the backward pass; accepted and unused here. */
export type ActivationCheckpointingStrategy =
  | "whole_layer"
  | "one_in_two"
  | "one_in_three"
  | "one_in_four"
  | "fine_grained";
/** Every `ActivationCheckpointingStrategy`. */
export const ACTIVATION_CHECKPOINTING_STRATEGIES: readonly ActivationCheckpointingStrategy[] = [
  "whole_layer",
  "one_in_two",
  "one_in_three",
  "one_in_four",
  "fine_grained",
];

/** torch's FSDP `ShardingStrategy`, by name (`fsdp.sharding_strategy`); accepted and unused here. */
export type ShardingStrategy =
  | "FULL_SHARD"
  | "SHARD_GRAD_OP"
  | "NO_SHARD"
  | "HYBRID_SHARD"
  | "_HYBRID_SHARD_ZERO2";
/** Every `ShardingStrategy` name. */
export const SHARDING_STRATEGIES: readonly ShardingStrategy[] = [
  "FULL_SHARD",
  "SHARD_GRAD_OP",
  "NO_SHARD",
  "HYBRID_SHARD",
  "_HYBRID_SHARD_ZERO2",
];

/** olmo-ts: the TensorFlow.js backend to compute on (`backend`). */
export type Backend = "auto" | "tensorflow" | "native" | "wasm" | "webgpu" | "cpu";
/** Every `Backend`. */
export const BACKENDS: readonly Backend[] = [
  "auto",
  "tensorflow",
  "native",
  "wasm",
  "webgpu",
  "cpu",
];

/** olmo-ts: element type of the token `.npy` files (`data.memmap_dtype`). */
export type MemmapDType = "uint16" | "uint32";
/** Every `MemmapDType`. */
export const MEMMAP_DTYPES: readonly MemmapDType[] = ["uint16", "uint32"];

/** Values of `precision` that OLMo's `autocast_precision` accepts. */
export type Precision = "amp_bf16" | "amp_fp16" | "fp32";
/** Every `Precision`. */
export const PRECISIONS: readonly Precision[] = ["amp_bf16", "amp_fp16", "fp32"];
