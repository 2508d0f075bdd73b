/**
 * The config schema as data: one descriptor per field (type, nullability, enum values, nested
 * section) for every config class. The merger, the validator, the saver and `--help` all walk it.
 * `objectSchema` checks at compile time that every field of the TypeScript interface has exactly
 * one descriptor, so the interfaces and the schema cannot drift apart.
 *
 * @module
 */
import {
  ACTIVATION_TYPES,
  BLOCK_TYPES,
  defaultModelConfig,
  INIT_FN_TYPES,
  LAYER_NORM_TYPES,
  type ModelConfig,
} from "./model_config.ts";
import {
  ACTIVATION_CHECKPOINTING_STRATEGIES,
  BACKENDS,
  EVALUATOR_TYPES,
  FSDP_PRECISIONS,
  FSDP_WRAP_STRATEGIES,
  MEMMAP_DTYPES,
  OPTIMIZER_TYPES,
  PADDING_DIRECTIONS,
  SCHEDULER_TYPES,
  SHARDED_CHECKPOINTER_TYPES,
  SHARDING_STRATEGIES,
  TRUNCATION_DIRECTIONS,
} from "./enums.ts";
import {
  type CompilerConfig,
  type DataConfig,
  defaultCompilerConfig,
  defaultDataConfig,
  defaultEvaluatorConfig,
  defaultFSDPConfig,
  defaultOptimizerConfig,
  defaultSchedulerConfig,
  defaultSpeedMonitorConfig,
  defaultTokenizerConfig,
  defaultWandbConfig,
  type EvaluatorConfig,
  type FSDPConfig,
  type OptimizerConfig,
  type SchedulerConfig,
  type SpeedMonitorConfig,
  type TokenizerConfig,
  type WandbConfig,
} from "./sections.ts";
import { defaultTrainConfig, type TrainConfig } from "./train_config.ts";

/** Descriptor of one config field. `nullable` fields accept `null`. */
export type FieldSchema =
  | { kind: "int" | "float" | "bool" | "str"; nullable?: boolean }
  | {
    kind: "enum";
    /** Enum name for messages, e.g. `OptimizerType`. */
    name: string;
    values: readonly string[];
    nullable?: boolean;
    /** Legacy spellings OLMo's loader rewrites: `[old value, new value]`. */
    aliases?: readonly (readonly [unknown, string | null])[];
  }
  /** `max_duration`: a number of steps or a duration string (`"2e9T"`). */
  | { kind: "duration" }
  | { kind: "list"; item: FieldSchema; nullable?: boolean }
  | { kind: "tuple"; items: readonly FieldSchema[]; nullable?: boolean }
  | { kind: "dict"; value: FieldSchema; nullable?: boolean }
  | { kind: "object"; schema: ObjectSchema; nullable?: boolean };

/** Descriptor of a config class: its fields in OLMo's order and a factory for its defaults. */
export interface ObjectSchema {
  /** Class name for messages, e.g. `OptimizerConfig`. */
  readonly name: string;
  /** Field descriptors, in the order fields are saved. */
  readonly fields: Readonly<Record<string, FieldSchema>>;
  /** A fresh object holding every default. */
  readonly defaults: () => Record<string, unknown>;
  /** Fields without a default that every instance must set (OLMo's `MISSING`). */
  readonly required: readonly string[];
  /** Rewrites legacy spellings in a raw YAML mapping before it is merged (OLMo's loader). */
  readonly legacy?: (raw: Record<string, unknown>) => Record<string, unknown>;
}

/** Builds an `ObjectSchema`; the mapped type makes TypeScript demand a descriptor per field. */
function objectSchema<T extends object>(
  name: string,
  fields: { [K in keyof T]-?: FieldSchema },
  defaults: () => T,
  extra: { required?: readonly (keyof T & string)[]; legacy?: ObjectSchema["legacy"] } = {},
): ObjectSchema {
  return {
    name,
    fields: fields as Record<string, FieldSchema>,
    defaults: defaults as () => Record<string, unknown>,
    required: extra.required ?? [],
    legacy: extra.legacy,
  };
}

const INT: FieldSchema = { kind: "int" };
const FLOAT: FieldSchema = { kind: "float" };
const BOOL: FieldSchema = { kind: "bool" };
const STR: FieldSchema = { kind: "str" };
const NULL_INT: FieldSchema = { kind: "int", nullable: true };
const NULL_FLOAT: FieldSchema = { kind: "float", nullable: true };
const NULL_BOOL: FieldSchema = { kind: "bool", nullable: true };
const NULL_STR: FieldSchema = { kind: "str", nullable: true };

function enumOf(name: string, values: readonly string[], nullable = false): FieldSchema {
  return { kind: "enum", name, values, nullable };
}

/** Schema of `model` (`ModelConfig`). */
export const MODEL_CONFIG_SCHEMA: ObjectSchema = objectSchema<ModelConfig>("ModelConfig", {
  d_model: INT,
  n_heads: INT,
  n_layers: INT,
  mlp_ratio: INT,
  mlp_hidden_size: NULL_INT,
  activation_type: enumOf("ActivationType", ACTIVATION_TYPES),
  block_type: enumOf("BlockType", BLOCK_TYPES),
  block_group_size: INT,
  alibi: BOOL,
  alibi_bias_max: FLOAT,
  rope: BOOL,
  rope_full_precision: BOOL,
  flash_attention: BOOL,
  attention_dropout: FLOAT,
  multi_query_attention: BOOL,
  attention_layer_norm: BOOL,
  residual_dropout: FLOAT,
  embedding_dropout: FLOAT,
  layer_norm_type: enumOf("LayerNormType", LAYER_NORM_TYPES),
  layer_norm_with_affine: BOOL,
  attention_layer_norm_with_affine: BOOL,
  max_sequence_length: INT,
  include_bias: BOOL,
  bias_for_layer_norm: NULL_BOOL,
  scale_logits: BOOL,
  vocab_size: INT,
  embedding_size: NULL_INT,
  weight_tying: BOOL,
  eos_token_id: INT,
  pad_token_id: INT,
  init_device: NULL_STR,
  init_fn: enumOf("InitFnType", INIT_FN_TYPES),
  init_std: FLOAT,
  init_cutoff_factor: NULL_FLOAT,
  precision: NULL_STR,
}, defaultModelConfig);

/** Schema of `optimizer`. Legacy: `decoupled_lionw` (with `eps`) loads as `lionw`. */
export const OPTIMIZER_CONFIG_SCHEMA: ObjectSchema = objectSchema<OptimizerConfig>(
  "OptimizerConfig",
  {
    name: { kind: "enum", name: "OptimizerType", values: OPTIMIZER_TYPES },
    learning_rate: FLOAT,
    weight_decay: FLOAT,
    betas: { kind: "tuple", items: [FLOAT, FLOAT] },
    no_decay_norm_and_bias: NULL_BOOL,
    decay_norm_and_bias: BOOL,
    decay_embeddings: BOOL,
    metrics_log_interval: NULL_INT,
  },
  defaultOptimizerConfig,
  {
    legacy: (raw) => {
      if (raw.name !== "decoupled_lionw") return raw;
      const { eps: _eps, ...rest } = raw;
      return { ...rest, name: "lionw" };
    },
  },
);

/** Schema of `scheduler`. */
export const SCHEDULER_CONFIG_SCHEMA: ObjectSchema = objectSchema<SchedulerConfig>(
  "SchedulerConfig",
  {
    name: enumOf("SchedulerType", SCHEDULER_TYPES),
    t_warmup: INT,
    t_max: NULL_INT,
    alpha_f: FLOAT,
  },
  defaultSchedulerConfig,
);

/** Schema of `data` and `evaluators[i].data`. */
export const DATA_CONFIG_SCHEMA: ObjectSchema = objectSchema<DataConfig>("DataConfig", {
  paths: { kind: "list", item: STR, nullable: true },
  datasets: { kind: "dict", value: { kind: "list", item: STR }, nullable: true },
  pad_direction: enumOf("PaddingDirection", PADDING_DIRECTIONS),
  num_workers: INT,
  drop_last: BOOL,
  pin_memory: BOOL,
  prefetch_factor: NULL_INT,
  persistent_workers: BOOL,
  timeout: INT,
  memmap_dtype: enumOf("MemmapDType", MEMMAP_DTYPES),
}, defaultDataConfig);

/** Schema of one `evaluators[i]`; `label` is required. */
export const EVALUATOR_CONFIG_SCHEMA: ObjectSchema = objectSchema<EvaluatorConfig>(
  "EvaluatorConfig",
  {
    label: STR,
    type: enumOf("EvaluatorType", EVALUATOR_TYPES),
    data: { kind: "object", schema: DATA_CONFIG_SCHEMA },
    device_eval_batch_size: NULL_INT,
    subset_num_batches: NULL_INT,
  },
  () => defaultEvaluatorConfig(""),
  { required: ["label"] },
);

/** Schema of `tokenizer`. */
export const TOKENIZER_CONFIG_SCHEMA: ObjectSchema = objectSchema<TokenizerConfig>(
  "TokenizerConfig",
  { identifier: STR, truncate_direction: enumOf("TruncationDirection", TRUNCATION_DIRECTIONS) },
  defaultTokenizerConfig,
);

/** Schema of `wandb`. */
export const WANDB_CONFIG_SCHEMA: ObjectSchema = objectSchema<WandbConfig>("WandbConfig", {
  project: NULL_STR,
  entity: NULL_STR,
  group: NULL_STR,
  name: NULL_STR,
  tags: { kind: "list", item: STR, nullable: true },
  log_artifacts: BOOL,
  rank_zero_only: BOOL,
  log_interval: INT,
}, defaultWandbConfig);

/** Schema of `speed_monitor`. */
export const SPEED_MONITOR_CONFIG_SCHEMA: ObjectSchema = objectSchema<SpeedMonitorConfig>(
  "SpeedMonitorConfig",
  { window_size: INT, gpu_flops_available: NULL_FLOAT },
  defaultSpeedMonitorConfig,
);

/** Schema of `compile`. */
export const COMPILER_CONFIG_SCHEMA: ObjectSchema = objectSchema<CompilerConfig>(
  "CompilerConfig",
  { mode: NULL_STR, fullgraph: BOOL, backend: STR },
  defaultCompilerConfig,
);

/** Schema of `fsdp`. */
export const FSDP_CONFIG_SCHEMA: ObjectSchema = objectSchema<FSDPConfig>("FSDPConfig", {
  use_orig_params: BOOL,
  sharding_strategy: enumOf("ShardingStrategy", SHARDING_STRATEGIES),
  wrapping_strategy: enumOf("FSDPWrapStrategy", FSDP_WRAP_STRATEGIES, true),
  precision: enumOf("FSDPPrecision", FSDP_PRECISIONS),
}, defaultFSDPConfig);

function section(schema: ObjectSchema, nullable = false): FieldSchema {
  return { kind: "object", schema, nullable };
}

/** Schema of the whole `TrainConfig`. */
export const TRAIN_CONFIG_SCHEMA: ObjectSchema = objectSchema<TrainConfig>("TrainConfig", {
  run_name: NULL_STR,
  seed: INT,
  dry_run: BOOL,
  model: section(MODEL_CONFIG_SCHEMA),
  optimizer: section(OPTIMIZER_CONFIG_SCHEMA),
  scheduler: section(SCHEDULER_CONFIG_SCHEMA),
  data: section(DATA_CONFIG_SCHEMA),
  restore_dataloader: BOOL,
  fast_forward_batches: NULL_INT,
  evaluators: { kind: "list", item: section(EVALUATOR_CONFIG_SCHEMA) },
  eval_interval: INT,
  tokenizer: section(TOKENIZER_CONFIG_SCHEMA),
  save_folder: STR,
  remote_save_folder: NULL_STR,
  canceled_check_interval: INT,
  save_interval: INT,
  save_interval_unsharded: NULL_INT,
  save_num_checkpoints_to_keep: INT,
  save_num_unsharded_checkpoints_to_keep: INT,
  save_overwrite: BOOL,
  force_save_unsharded: BOOL,
  no_pre_train_checkpoint: BOOL,
  load_path: NULL_STR,
  load_path_sharded_checkpointer: enumOf(
    "ShardedCheckpointerType",
    SHARDED_CHECKPOINTER_TYPES,
    true,
  ),
  reset_optimizer_state: BOOL,
  reset_trainer_state: BOOL,
  sharded_checkpointer: enumOf("ShardedCheckpointerType", SHARDED_CHECKPOINTER_TYPES),
  new_style_checkpoints: NULL_BOOL,
  max_duration: { kind: "duration" },
  global_train_batch_size: INT,
  device_train_batch_size: NULL_INT,
  device_train_microbatch_size: INT,
  device_eval_batch_size: INT,
  eval_subset_num_batches: INT,
  eval_on_load: BOOL,
  device_train_grad_accum: NULL_INT,
  max_grad_norm: NULL_FLOAT,
  max_grad_norm_ratio: NULL_FLOAT,
  precision: NULL_STR,
  wandb: section(WANDB_CONFIG_SCHEMA, true),
  speed_monitor: section(SPEED_MONITOR_CONFIG_SCHEMA),
  console_log_interval: INT,
  compile: section(COMPILER_CONFIG_SCHEMA, true),
  fsdp: section(FSDP_CONFIG_SCHEMA),
  softmax_auxiliary_loss: BOOL,
  time_limit: NULL_FLOAT,
  early_stopping_factor: NULL_FLOAT,
  save_data_indices: BOOL,
  python_profiling: BOOL,
  torch_profiling: BOOL,
  stop_at: NULL_INT,
  activation_checkpointing: {
    kind: "enum",
    name: "ActivationCheckpointingStrategy",
    values: ACTIVATION_CHECKPOINTING_STRATEGIES,
    nullable: true,
    aliases: [[true, "whole_layer"], [false, null]],
  },
  backend: enumOf("Backend", BACKENDS),
}, defaultTrainConfig);

/** A short type description for messages and `--help`, e.g. `int`, `list[str] | null`. */
export function describeField(field: FieldSchema): string {
  const base = (() => {
    switch (field.kind) {
      case "enum":
        return field.values.join("|");
      case "duration":
        return 'int | str (e.g. "2e9T")';
      case "list":
        return `list[${describeField(field.item)}]`;
      case "tuple":
        return `[${field.items.map(describeField).join(", ")}]`;
      case "dict":
        return `dict[str, ${describeField(field.value)}]`;
      case "object":
        return field.schema.name;
      default:
        return field.kind;
    }
  })();
  return field.kind !== "duration" && field.nullable ? `${base} | null` : base;
}
