/**
 * The nested sections of `TrainConfig` other than `model`: optimizer, scheduler, data,
 * evaluators, tokenizer, W&B, speed monitor, compiler and FSDP. Field names, types and defaults
 * are OLMo's (`olmo/config.py`), so OLMo's YAML files load unchanged. Each field is declared once
 * in its section's schema; the section's type and defaults are derived from it. Fields that have
 * no meaning on TensorFlow.js are accepted, kept in saved configs and reported once at start-up
 * by `tfjsCompatibilityWarnings` when they are set to something other than their default.
 *
 * @module
 */
import {
  EVALUATOR_TYPES,
  FSDP_PRECISIONS,
  FSDP_WRAP_STRATEGIES,
  MEMMAP_DTYPES,
  OPTIMIZER_TYPES,
  PADDING_DIRECTIONS,
  SCHEDULER_TYPES,
  SHARDING_STRATEGIES,
  TRUNCATION_DIRECTIONS,
} from "./enums.ts";
import {
  BOOL,
  type ConfigOf,
  defineSection,
  dictOf,
  field,
  FLOAT,
  INT,
  listOf,
  NULL_BOOL,
  NULL_FLOAT,
  NULL_INT,
  NULL_STR,
  nullable,
  oneOf,
  requiredField,
  sectionField,
  STR,
  tupleOf,
} from "./schema.ts";

/** Schema of `optimizer`. Legacy: `decoupled_lionw` (with `eps`) loads as `lionw`. */
export const OPTIMIZER_CONFIG_SCHEMA = defineSection("OptimizerConfig", {
  name: field(
    oneOf("OptimizerType", OPTIMIZER_TYPES),
    "lionw",
    "Update rule: OLMo's LionW or AdamW (eps 1e-5).",
  ),
  learning_rate: field(
    FLOAT,
    1.0e-4,
    "Base learning rate, the input of the scheduler. Reset from the config on restart.",
  ),
  weight_decay: field(
    FLOAT,
    0.01,
    "Decoupled weight decay of the decay group (Linear weights, plus the opt-ins below).",
  ),
  betas: field(tupleOf(FLOAT, FLOAT), [0.9, 0.95], "`(beta1, beta2)`; always two numbers."),
  no_decay_norm_and_bias: field(
    NULL_BOOL,
    null,
    "Deprecated. When not null, `deriveTrainConfig` sets " +
      "`decay_norm_and_bias = decay_embeddings = !no_decay_norm_and_bias` and clears it.",
  ),
  decay_norm_and_bias: field(BOOL, false, "Also decay LayerNorm weights and every bias."),
  decay_embeddings: field(BOOL, false, "Also decay embedding weights (`wte`, `wpe`)."),
  metrics_log_interval: field(
    NULL_INT,
    null,
    "Interval of the per-parameter `optim/*` metrics (W&B only); null means " +
      "`wandb.log_interval`, otherwise `max(this, wandb.log_interval)`.",
  ),
}, {
  legacy: (raw) => {
    if (raw.name !== "decoupled_lionw") return raw;
    const { eps: _eps, ...rest } = raw;
    return { ...rest, name: "lionw" };
  },
});

/** The optimizer (OLMo `OptimizerConfig`); fields documented in `OPTIMIZER_CONFIG_SCHEMA`. */
export type OptimizerConfig = ConfigOf<typeof OPTIMIZER_CONFIG_SCHEMA.fields>;

/** Schema of `scheduler`. */
export const SCHEDULER_CONFIG_SCHEMA = defineSection("SchedulerConfig", {
  name: field(
    oneOf("SchedulerType", SCHEDULER_TYPES),
    "cosine_with_warmup",
    "Schedule shape (OLMo `olmo/optim.py` schedulers).",
  ),
  t_warmup: field(INT, 100, "Linear warmup steps, from `alpha_f * lr` up to `lr`."),
  t_max: field(
    NULL_INT,
    null,
    "Step where the decay ends; null means the run length (`max_duration` in steps).",
  ),
  alpha_f: field(FLOAT, 0.1, "Final learning rate is `alpha_f * learning_rate`."),
});

/** The learning-rate schedule (OLMo `SchedulerConfig`); see `SCHEDULER_CONFIG_SCHEMA`. */
export type SchedulerConfig = ConfigOf<typeof SCHEDULER_CONFIG_SCHEMA.fields>;

/** Schema of `data` and `evaluators[i].data`. */
export const DATA_CONFIG_SCHEMA = defineSection("DataConfig", {
  paths: field(
    nullable(listOf(STR)),
    null,
    "Token `.npy` files, read as one concatenation. Mutually exclusive with `datasets`.",
  ),
  datasets: field(
    nullable(dictOf(listOf(STR))),
    null,
    "Label → token files; each instance carries metadata `{label}` (per-label eval metrics).",
  ),
  pad_direction: field(
    oneOf("PaddingDirection", PADDING_DIRECTIONS),
    "right",
    "Side the collator pads short sequences on.",
  ),
  num_workers: field(
    INT,
    0,
    "PyTorch DataLoader worker processes. olmo-ts reads data in the main process (warned).",
  ),
  drop_last: field(BOOL, false, "Drop the last incomplete batch."),
  pin_memory: field(BOOL, false, "CUDA pinned memory; meaningless on TensorFlow.js (warned)."),
  prefetch_factor: field(
    NULL_INT,
    null,
    "DataLoader prefetching; olmo-ts does not prefetch with workers (warned).",
  ),
  persistent_workers: field(
    BOOL,
    false,
    "Keep DataLoader workers alive between epochs; no workers here (warned).",
  ),
  timeout: field(INT, 0, "DataLoader worker timeout in seconds; no workers here (warned)."),
  memmap_dtype: field(
    oneOf("MemmapDType", MEMMAP_DTYPES),
    "uint16",
    "olmo-ts: element type of the `.npy` token files (OLMo's `np.uint16` by default).",
  ),
});

/** A data source (OLMo `DataConfig`), for training data and each evaluator. */
export type DataConfig = ConfigOf<typeof DATA_CONFIG_SCHEMA.fields>;

/** Schema of one `evaluators[i]`; `label` is required. */
export const EVALUATOR_CONFIG_SCHEMA = defineSection("EvaluatorConfig", {
  label: requiredField(
    STR,
    "Required. Metric name (`eval/{label}/...`); for `downstream` also the task name.",
  ),
  type: field(
    oneOf("EvaluatorType", EVALUATOR_TYPES),
    "lm",
    "`lm`: perplexity over `data`. `downstream`: zero-shot multiple choice (skipped with a " +
      "warning).",
  ),
  data: sectionField(DATA_CONFIG_SCHEMA, "The evaluation data (`lm` evaluators)."),
  device_eval_batch_size: field(
    NULL_INT,
    null,
    "Batch size; null falls back to `TrainConfig.device_eval_batch_size`.",
  ),
  subset_num_batches: field(
    NULL_INT,
    null,
    "Batches to evaluate; null falls back to `TrainConfig.eval_subset_num_batches`.",
  ),
});

/** One evaluator (OLMo `EvaluatorConfig`); see `EVALUATOR_CONFIG_SCHEMA`. */
export type EvaluatorConfig = ConfigOf<typeof EVALUATOR_CONFIG_SCHEMA.fields>;

/** Schema of `tokenizer`. */
export const TOKENIZER_CONFIG_SCHEMA = defineSection("TokenizerConfig", {
  identifier: field(
    STR,
    "gpt2",
    "A path to a Hugging Face `tokenizer.json` file, or a Hub id such as `gpt2`.",
  ),
  truncate_direction: field(
    oneOf("TruncationDirection", TRUNCATION_DIRECTIONS),
    "right",
    "Truncation side. OLMo never passes it to its Tokenizer (a bug); olmo-ts honours it.",
  ),
});

/** The tokenizer (OLMo `TokenizerConfig`); see `TOKENIZER_CONFIG_SCHEMA`. */
export type TokenizerConfig = ConfigOf<typeof TOKENIZER_CONFIG_SCHEMA.fields>;

/** Schema of `wandb` (the defaults apply when a config has a `wandb:` section). */
export const WANDB_CONFIG_SCHEMA = defineSection("WandbConfig", {
  project: field(NULL_STR, null, "W&B project."),
  entity: field(NULL_STR, "ai2-llm", "W&B entity (team or user)."),
  group: field(NULL_STR, null, "W&B run group."),
  name: field(NULL_STR, null, "W&B run name (configs use `${run_name}`)."),
  tags: field(nullable(listOf(STR)), ["watching"], "W&B run tags."),
  log_artifacts: field(BOOL, false, "Unused, in OLMo too."),
  rank_zero_only: field(BOOL, true, "Log from rank 0 only."),
  log_interval: field(INT, 1, "Log to W&B every N steps."),
});

/** Weights & Biases logging (OLMo `WandbConfig`); the whole section is optional. */
export type WandbConfig = ConfigOf<typeof WANDB_CONFIG_SCHEMA.fields>;

/** Schema of `speed_monitor`. */
export const SPEED_MONITOR_CONFIG_SCHEMA = defineSection("SpeedMonitorConfig", {
  window_size: field(
    INT,
    100,
    "Batches in the sliding window that `throughput/*` rates are computed over.",
  ),
  gpu_flops_available: field(
    NULL_FLOAT,
    null,
    "Unused, in OLMo too (no MFU metric at this OLMo version).",
  ),
});

/** Throughput measurement (OLMo `SpeedMonitorConfig`); see `SPEED_MONITOR_CONFIG_SCHEMA`. */
export type SpeedMonitorConfig = ConfigOf<typeof SPEED_MONITOR_CONFIG_SCHEMA.fields>;

/** Schema of `compile` (the defaults apply when a config has a `compile:` section). */
export const COMPILER_CONFIG_SCHEMA = defineSection("CompilerConfig", {
  mode: field(
    NULL_STR,
    null,
    "`default`, `reduce-overhead` or `max-autotune` in OLMo; ignored here.",
  ),
  fullgraph: field(BOOL, false, "Compile without graph breaks in OLMo; ignored here."),
  backend: field(STR, "inductor", "torch.compile backend (`inductor`); ignored here."),
});

/** `torch.compile` options (OLMo `CompilerConfig`); meaningless on TensorFlow.js (warned). */
export type CompilerConfig = ConfigOf<typeof COMPILER_CONFIG_SCHEMA.fields>;

/** Schema of `fsdp`. */
export const FSDP_CONFIG_SCHEMA = defineSection("FSDPConfig", {
  use_orig_params: field(BOOL, true, "FSDP `use_orig_params`; ignored here."),
  sharding_strategy: field(
    oneOf("ShardingStrategy", SHARDING_STRATEGIES),
    "FULL_SHARD",
    "torch `ShardingStrategy`, by name; ignored here.",
  ),
  wrapping_strategy: field(
    nullable(oneOf("FSDPWrapStrategy", FSDP_WRAP_STRATEGIES)),
    null,
    "FSDP auto-wrap policy; null means one top-level unit; ignored here.",
  ),
  precision: field(
    oneOf("FSDPPrecision", FSDP_PRECISIONS),
    "pure",
    "FSDP mixed-precision policy; ignored here (olmo-ts computes in float32).",
  ),
});

/**
 * PyTorch FSDP options (OLMo `FSDPConfig`). There is no FSDP on TensorFlow.js: every field is
 * accepted and kept in saved configs, and a non-default value is warned about once.
 */
export type FSDPConfig = ConfigOf<typeof FSDP_CONFIG_SCHEMA.fields>;

/** OLMo's `OptimizerConfig()` defaults. */
export function defaultOptimizerConfig(): OptimizerConfig {
  return OPTIMIZER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `SchedulerConfig()` defaults. */
export function defaultSchedulerConfig(): SchedulerConfig {
  return SCHEDULER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `DataConfig()` defaults plus `memmap_dtype: "uint16"`. */
export function defaultDataConfig(): DataConfig {
  return DATA_CONFIG_SCHEMA.defaults();
}

/**
 * `EvaluatorConfig` defaults for a given label. OLMo has no default label (it is required);
 * loading a config without one fails.
 */
export function defaultEvaluatorConfig(label: string): EvaluatorConfig {
  return { label, ...EVALUATOR_CONFIG_SCHEMA.defaults() };
}

/** OLMo's `TokenizerConfig()` defaults. */
export function defaultTokenizerConfig(): TokenizerConfig {
  return TOKENIZER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `WandbConfig()` defaults (used when a config has a `wandb:` section). */
export function defaultWandbConfig(): WandbConfig {
  return WANDB_CONFIG_SCHEMA.defaults();
}

/** OLMo's `SpeedMonitorConfig()` defaults. */
export function defaultSpeedMonitorConfig(): SpeedMonitorConfig {
  return SPEED_MONITOR_CONFIG_SCHEMA.defaults();
}

/** OLMo's `CompilerConfig()` defaults (used when a config has a `compile:` section). */
export function defaultCompilerConfig(): CompilerConfig {
  return COMPILER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `FSDPConfig()` defaults. */
export function defaultFSDPConfig(): FSDPConfig {
  return FSDP_CONFIG_SCHEMA.defaults();
}
