/**
 * The nested sections of `TrainConfig` other than `model` and the PyTorch-only ones
 * (`torch_sections.ts`; `data`'s sub-sections are in `dataset_sections.ts`): optimizer, scheduler,
 * data, evaluators, tokenizer, W&B and speed monitor. Field names, types and defaults
 * are OLMo's (`olmo/config.py`), so OLMo's YAML files load unchanged. Each field is declared once
 * in its section's schema; the section's type and defaults are derived from it. Fields that have
 * no meaning on TensorFlow.js are accepted, kept in saved configs and reported once at start-up
 * by `tfjsCompatibilityWarnings` when they are set to something other than their default.
 *
 * @module
 */
import { CUSTOM_DATASET_CONFIG_SCHEMA, INSTANCE_FILTER_CONFIG_SCHEMA } from "./dataset_sections.ts";
import {
  EVALUATOR_TYPES,
  MEMMAP_DTYPES,
  OPTIMIZER_TYPES,
  PADDING_DIRECTIONS,
  SCHEDULER_TYPES,
  SCHEDULER_UNITS,
  TRUNCATION_DIRECTIONS,
} from "./enums.ts";
import {
  BOOL,
  type ConfigOf,
  defineSection,
  FLOAT,
  INT,
  NULL_BOOL,
  NULL_FLOAT,
  NULL_INT,
  NULL_STR,
  type SectionSchema,
  STR,
} from "./schema.ts";

/** The fields of `OptimizerConfig`, each declared once: kind, default and documentation. */
export const OPTIMIZER_CONFIG_FIELDS = {
  name: {
    kind: "enum",
    name: "OptimizerType",
    values: OPTIMIZER_TYPES,
    default: "lionw",
    doc: "Update rule: OLMo's LionW or AdamW (eps 1e-5).",
  },
  learning_rate: {
    ...FLOAT,
    default: 1.0e-4,
    doc: "Base learning rate, the input of the scheduler. Reset from the config on restart.",
  },
  weight_decay: {
    ...FLOAT,
    default: 0.01,
    doc: "Decoupled weight decay of the decay group (Linear weights, plus the opt-ins below).",
  },
  betas: {
    kind: "tuple",
    items: [FLOAT, FLOAT],
    default: [0.9, 0.95],
    doc: "`(beta1, beta2)`; always two numbers.",
  },
  eps: { ...FLOAT, default: 1e-5, doc: "OLMo later: AdamW's denominator epsilon. LionW has none." },
  no_decay_norm_and_bias: {
    ...NULL_BOOL,
    default: null,
    doc: "Deprecated. When not null, `deriveTrainConfig` sets " +
      "`decay_norm_and_bias = decay_embeddings = !no_decay_norm_and_bias` and clears it.",
  },
  selective_updates: {
    ...BOOL,
    default: false,
    doc: "OLMo later: skip updates of parameters whose gradient is all zero; not implemented " +
      "(warned).",
  },
  decay_norm_and_bias: {
    ...BOOL,
    default: false,
    doc: "Also decay LayerNorm weights and every bias.",
  },
  decay_embeddings: {
    ...BOOL,
    default: false,
    doc: "Also decay embedding weights (`wte`, `wpe`).",
  },
  metrics_log_interval: {
    ...NULL_INT,
    default: null,
    doc: "Interval of the per-parameter `optim/*` metrics (W&B only); null means " +
      "`wandb.log_interval`, otherwise `max(this, wandb.log_interval)`.",
  },
  record_update_metrics: {
    ...BOOL,
    default: false,
    doc: "OLMo later: log update-size metrics; not implemented (warned).",
  },
} as const;

/** Schema of `optimizer`. Legacy: `decoupled_lionw` (with `eps`) loads as `lionw`. */
export const OPTIMIZER_CONFIG_SCHEMA: SectionSchema<typeof OPTIMIZER_CONFIG_FIELDS> = defineSection(
  "OptimizerConfig",
  OPTIMIZER_CONFIG_FIELDS,
  {
    legacy: (raw) => {
      if (raw.name !== "decoupled_lionw") return raw;
      const { eps: _eps, ...rest } = raw;
      return { ...rest, name: "lionw" };
    },
  },
);

/** The optimizer (OLMo `OptimizerConfig`); fields documented in `OPTIMIZER_CONFIG_FIELDS`. */
export type OptimizerConfig = ConfigOf<typeof OPTIMIZER_CONFIG_FIELDS>;

/** The fields of `SchedulerConfig`, each declared once: kind, default and documentation. */
export const SCHEDULER_CONFIG_FIELDS = {
  name: {
    kind: "enum",
    name: "SchedulerType",
    values: SCHEDULER_TYPES,
    default: "cosine_with_warmup",
    doc: "Schedule shape (OLMo `olmo/optim.py` schedulers).",
  },
  units: {
    kind: "enum",
    name: "SchedulerUnits",
    values: SCHEDULER_UNITS,
    default: "steps",
    doc: "OLMo later: what `t_warmup` and `t_max` count: `steps`, or `tokens` (the schedule then " +
      "runs on tokens seen over the token budget of `max_duration`).",
  },
  t_warmup: { ...INT, default: 100, doc: "Linear warmup steps, from `alpha_f * lr` up to `lr`." },
  t_max: {
    ...NULL_INT,
    default: null,
    doc: "Step where the decay ends; null means the run length (`max_duration` in steps).",
  },
  alpha_f: { ...FLOAT, default: 0.1, doc: "Final learning rate is `alpha_f * learning_rate`." },
  grad_clip_warmup_steps: {
    ...NULL_FLOAT,
    default: null,
    doc: "OLMo later: steps (tokens with `units: tokens`) during which the clipping thresholds " +
      "are multiplied by `grad_clip_warmup_factor`.",
  },
  grad_clip_warmup_factor: {
    ...NULL_FLOAT,
    default: null,
    doc: "OLMo later: the factor of `max_grad_norm` / `max_grad_norm_ratio` during that warmup.",
  },
  warmup_min_lr: {
    ...NULL_FLOAT,
    default: null,
    doc: "OLMo later: the LR warmups start from; null means 10% of `learning_rate`.",
  },
} as const;

/** Schema of `scheduler`. */
export const SCHEDULER_CONFIG_SCHEMA: SectionSchema<typeof SCHEDULER_CONFIG_FIELDS> = defineSection(
  "SchedulerConfig",
  SCHEDULER_CONFIG_FIELDS,
);

/** The learning-rate schedule (OLMo `SchedulerConfig`); see `SCHEDULER_CONFIG_FIELDS`. */
export type SchedulerConfig = ConfigOf<typeof SCHEDULER_CONFIG_FIELDS>;

/** The fields of `DataConfig`, each declared once: kind, default and documentation. */
export const DATA_CONFIG_FIELDS = {
  paths: {
    kind: "list",
    item: STR,
    nullable: true,
    default: null,
    doc: "Token `.npy` files, read as one concatenation. Mutually exclusive with `datasets`.",
  },
  memmap_dtype: {
    kind: "enum",
    name: "MemmapDType",
    values: MEMMAP_DTYPES,
    default: "uint16",
    doc: "Element type of the `.npy` token files (OLMo's `np.uint16` by default; OLMo 2's " +
      "dolma2 tokens are `uint32`).",
  },
  datasets: {
    kind: "dict",
    value: { kind: "list", item: STR },
    nullable: true,
    default: null,
    doc: "Label → token files; each instance carries metadata `{label}` (per-label eval metrics).",
  },
  label_mask_paths: {
    kind: "list",
    item: STR,
    nullable: true,
    default: null,
    doc: "OLMo later: boolean label-mask `.npy` files next to `paths`; not implemented (warned).",
  },
  pad_direction: {
    kind: "enum",
    name: "PaddingDirection",
    values: PADDING_DIRECTIONS,
    default: "right",
    doc: "Side the collator pads short sequences on.",
  },
  generate_attention_mask: {
    ...BOOL,
    default: false,
    doc: "OLMo later: build an attention mask in the collator; not implemented (warned).",
  },
  generate_doc_lengths: {
    ...BOOL,
    default: false,
    doc: "OLMo later: document lengths for intra-document masking (flash-attn); not here (warned).",
  },
  num_workers: {
    ...INT,
    default: 0,
    doc: "PyTorch DataLoader worker processes. olmo-ts reads data in the main process (warned).",
  },
  drop_last: { ...BOOL, default: false, doc: "Drop the last incomplete batch." },
  pin_memory: {
    ...BOOL,
    default: false,
    doc: "CUDA pinned memory; meaningless on TensorFlow.js (warned).",
  },
  prefetch_factor: {
    ...NULL_INT,
    default: null,
    doc: "DataLoader prefetching; olmo-ts does not prefetch with workers (warned).",
  },
  persistent_workers: {
    ...BOOL,
    default: false,
    doc: "Keep DataLoader workers alive between epochs; no workers here (warned).",
  },
  timeout: {
    ...INT,
    default: 0,
    doc: "DataLoader worker timeout in seconds; no workers here (warned).",
  },
  seed: {
    ...NULL_INT,
    default: null,
    doc: "OLMo later: seed of the shuffled data order; null means `TrainConfig.seed`.",
  },
  instance_filter: {
    kind: "object",
    schema: INSTANCE_FILTER_CONFIG_SCHEMA,
    nullable: true,
    default: null,
    doc: "OLMo later: drop instances with long token repetitions; not implemented (warned).",
  },
  custom_dataset: {
    kind: "object",
    schema: CUSTOM_DATASET_CONFIG_SCHEMA,
    nullable: true,
    default: null,
    doc: "OLMo later: a Python dataset class; cannot be loaded here (warned).",
  },
} as const;

/** Schema of `data` and `evaluators[i].data`. */
export const DATA_CONFIG_SCHEMA: SectionSchema<typeof DATA_CONFIG_FIELDS> = defineSection(
  "DataConfig",
  DATA_CONFIG_FIELDS,
);

/** A data source (OLMo `DataConfig`), for training data and each evaluator. */
export type DataConfig = ConfigOf<typeof DATA_CONFIG_FIELDS>;

/** The fields of `EvaluatorConfig`, each declared once: kind, default and documentation. */
export const EVALUATOR_CONFIG_FIELDS = {
  label: {
    ...STR,
    required: true,
    doc: "Required. Metric name (`eval/{label}/...`); for `downstream` also the task name.",
  },
  type: {
    kind: "enum",
    name: "EvaluatorType",
    values: EVALUATOR_TYPES,
    default: "lm",
    doc: "`lm`: perplexity over `data`. `downstream`: zero-shot multiple choice (`lib/eval`).",
  },
  data: {
    kind: "object",
    schema: DATA_CONFIG_SCHEMA,
    doc: "The evaluation data (`lm`); for `downstream`, `paths` (if set) are the task's files " +
      "(a custom task when `label` is no OLMo task).",
  },
  device_eval_batch_size: {
    ...NULL_INT,
    default: null,
    doc: "Batch size; null falls back to `TrainConfig.device_eval_batch_size`.",
  },
  subset_num_batches: {
    ...NULL_INT,
    default: null,
    doc: "Batches to evaluate; null falls back to `TrainConfig.eval_subset_num_batches`.",
  },
} as const;

/** Schema of one `evaluators[i]`; `label` is required. */
export const EVALUATOR_CONFIG_SCHEMA: SectionSchema<typeof EVALUATOR_CONFIG_FIELDS> = defineSection(
  "EvaluatorConfig",
  EVALUATOR_CONFIG_FIELDS,
);

/** One evaluator (OLMo `EvaluatorConfig`); see `EVALUATOR_CONFIG_FIELDS`. */
export type EvaluatorConfig = ConfigOf<typeof EVALUATOR_CONFIG_FIELDS>;

/** The fields of `TokenizerConfig`, each declared once: kind, default and documentation. */
export const TOKENIZER_CONFIG_FIELDS = {
  identifier: {
    ...STR,
    default: "gpt2",
    doc: "A path to a Hugging Face `tokenizer.json` file, or a Hub id such as `gpt2`.",
  },
  truncate_direction: {
    kind: "enum",
    name: "TruncationDirection",
    values: TRUNCATION_DIRECTIONS,
    default: "right",
    doc: "Truncation side. OLMo never passes it to its Tokenizer (a bug); olmo-ts honours it.",
  },
} as const;

/** Schema of `tokenizer`. */
export const TOKENIZER_CONFIG_SCHEMA: SectionSchema<typeof TOKENIZER_CONFIG_FIELDS> = defineSection(
  "TokenizerConfig",
  TOKENIZER_CONFIG_FIELDS,
);

/** The tokenizer (OLMo `TokenizerConfig`); see `TOKENIZER_CONFIG_FIELDS`. */
export type TokenizerConfig = ConfigOf<typeof TOKENIZER_CONFIG_FIELDS>;

/** The fields of `WandbConfig`, each declared once: kind, default and documentation. */
export const WANDB_CONFIG_FIELDS = {
  project: { ...NULL_STR, default: null, doc: "W&B project." },
  entity: { ...NULL_STR, default: "ai2-llm", doc: "W&B entity (team or user)." },
  group: { ...NULL_STR, default: null, doc: "W&B run group." },
  name: { ...NULL_STR, default: null, doc: "W&B run name (configs use `${run_name}`)." },
  tags: { kind: "list", item: STR, nullable: true, default: ["watching"], doc: "W&B run tags." },
  log_artifacts: { ...BOOL, default: false, doc: "Unused, in OLMo too." },
  rank_zero_only: { ...BOOL, default: true, doc: "Log from rank 0 only." },
  log_interval: { ...INT, default: 1, doc: "Log to W&B every N steps." },
} as const;

/** Schema of `wandb` (the defaults apply when a config has a `wandb:` section). */
export const WANDB_CONFIG_SCHEMA: SectionSchema<typeof WANDB_CONFIG_FIELDS> = defineSection(
  "WandbConfig",
  WANDB_CONFIG_FIELDS,
);

/** Weights & Biases logging (OLMo `WandbConfig`); the whole section is optional. */
export type WandbConfig = ConfigOf<typeof WANDB_CONFIG_FIELDS>;

/** The fields of `SpeedMonitorConfig`, each declared once: kind, default and documentation. */
export const SPEED_MONITOR_CONFIG_FIELDS = {
  window_size: {
    ...INT,
    default: 100,
    doc: "Batches in the sliding window that `throughput/*` rates are computed over.",
  },
  gpu_flops_available: {
    ...NULL_FLOAT,
    default: null,
    doc: "Unused, in OLMo too (no MFU metric at this OLMo version).",
  },
} as const;

/** Schema of `speed_monitor`. */
export const SPEED_MONITOR_CONFIG_SCHEMA: SectionSchema<typeof SPEED_MONITOR_CONFIG_FIELDS> =
  defineSection(
    "SpeedMonitorConfig",
    SPEED_MONITOR_CONFIG_FIELDS,
  );

/** Throughput measurement (OLMo `SpeedMonitorConfig`); see `SPEED_MONITOR_CONFIG_FIELDS`. */
export type SpeedMonitorConfig = ConfigOf<typeof SPEED_MONITOR_CONFIG_FIELDS>;

/** OLMo's `OptimizerConfig()` defaults. */
export function defaultOptimizerConfig(): OptimizerConfig {
  return OPTIMIZER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `SchedulerConfig()` defaults. */
export function defaultSchedulerConfig(): SchedulerConfig {
  return SCHEDULER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `DataConfig()` defaults. */
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
