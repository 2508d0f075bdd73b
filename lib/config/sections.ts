/**
 * The nested sections of `TrainConfig` other than `model` (spec §1.4–§1.6): optimizer, scheduler,
 * data, evaluators, tokenizer, W&B, speed monitor, compiler and FSDP. Field names, types and
 * defaults are OLMo's, so OLMo's YAML files load unchanged. Fields that have no meaning on
 * TensorFlow.js are accepted, kept in saved configs and reported once at start-up by
 * `tfjsCompatibilityWarnings` when they are set to something other than their default.
 *
 * @module
 */
import type {
  EvaluatorType,
  FSDPPrecision,
  FSDPWrapStrategy,
  MemmapDType,
  OptimizerType,
  PaddingDirection,
  SchedulerType,
  ShardingStrategy,
  TruncationDirection,
} from "./enums.ts";

/** The optimizer (OLMo `OptimizerConfig`). */
export interface OptimizerConfig {
  /** Update rule: OLMo's LionW or AdamW (eps 1e-5). */
  name: OptimizerType;
  /** Base learning rate, the input of the scheduler. Reset from the config on restart. */
  learning_rate: number;
  /** Decoupled weight decay of the decay group (Linear weights, plus the opt-ins below). */
  weight_decay: number;
  /** `(beta1, beta2)`; always two numbers. */
  betas: [number, number];
  /**
   * Deprecated. When not null, `deriveTrainConfig` sets
   * `decay_norm_and_bias = decay_embeddings = !no_decay_norm_and_bias` and clears it.
   */
  no_decay_norm_and_bias: boolean | null;
  /** Also decay LayerNorm weights and every bias. */
  decay_norm_and_bias: boolean;
  /** Also decay embedding weights (`wte`, `wpe`). */
  decay_embeddings: boolean;
  /**
   * Interval of the per-parameter `optim/*` metrics (W&B only); null means `wandb.log_interval`,
   * otherwise `max(this, wandb.log_interval)`.
   */
  metrics_log_interval: number | null;
}

/** The learning-rate schedule (OLMo `SchedulerConfig`). */
export interface SchedulerConfig {
  /** Schedule shape (spec §4.4). */
  name: SchedulerType;
  /** Linear warmup steps, from `alpha_f * lr` up to `lr`. */
  t_warmup: number;
  /** Step where the decay ends; null means the run length (`max_duration` in steps). */
  t_max: number | null;
  /** Final learning rate is `alpha_f * learning_rate`. */
  alpha_f: number;
}

/** A data source (OLMo `DataConfig`), used for training data and each evaluator. */
export interface DataConfig {
  /** Token `.npy` files, read as one concatenation. Mutually exclusive with `datasets`. */
  paths: string[] | null;
  /** Label → token files; each instance carries metadata `{label}` (per-label eval metrics). */
  datasets: Record<string, string[]> | null;
  /** Side the collator pads short sequences on. */
  pad_direction: PaddingDirection;
  /** PyTorch DataLoader worker processes. olmo-ts reads data in the main process (warned). */
  num_workers: number;
  /** Drop the last incomplete batch. */
  drop_last: boolean;
  /** CUDA pinned memory; meaningless on TensorFlow.js (warned). */
  pin_memory: boolean;
  /** DataLoader prefetching; olmo-ts does not prefetch with workers (warned). */
  prefetch_factor: number | null;
  /** Keep DataLoader workers alive between epochs; no workers here (warned). */
  persistent_workers: boolean;
  /** DataLoader worker timeout in seconds; no workers here (warned). */
  timeout: number;
  /** olmo-ts: element type of the `.npy` token files (OLMo's `np.uint16` by default). */
  memmap_dtype: MemmapDType;
}

/** One evaluator (OLMo `EvaluatorConfig`). */
export interface EvaluatorConfig {
  /** Required. Metric name (`eval/{label}/...`); for `downstream` also the task name. */
  label: string;
  /** `lm`: perplexity over `data`. `downstream`: zero-shot multiple choice (skipped with a warning). */
  type: EvaluatorType;
  /** The evaluation data (`lm` evaluators). */
  data: DataConfig;
  /** Batch size; null falls back to `TrainConfig.device_eval_batch_size`. */
  device_eval_batch_size: number | null;
  /** Batches to evaluate; null falls back to `TrainConfig.eval_subset_num_batches`. */
  subset_num_batches: number | null;
}

/** The tokenizer (OLMo `TokenizerConfig`). */
export interface TokenizerConfig {
  /** A path to a Hugging Face `tokenizer.json` file, or a Hub id such as `gpt2`. */
  identifier: string;
  /** Truncation side. OLMo never passes it to its Tokenizer (a bug); olmo-ts honours it. */
  truncate_direction: TruncationDirection;
}

/** Weights & Biases logging (OLMo `WandbConfig`); the whole section is optional. */
export interface WandbConfig {
  /** W&B project. */
  project: string | null;
  /** W&B entity (team or user). */
  entity: string | null;
  /** W&B run group. */
  group: string | null;
  /** W&B run name (configs use `${run_name}`). */
  name: string | null;
  /** W&B run tags. */
  tags: string[] | null;
  /** Unused, in OLMo too. */
  log_artifacts: boolean;
  /** Log from rank 0 only. */
  rank_zero_only: boolean;
  /** Log to W&B every N steps. */
  log_interval: number;
}

/** Throughput measurement (OLMo `SpeedMonitorConfig`). */
export interface SpeedMonitorConfig {
  /** Batches in the sliding window that `throughput/*` rates are computed over. */
  window_size: number;
  /** Unused, in OLMo too (no MFU metric at this OLMo version). */
  gpu_flops_available: number | null;
}

/** `torch.compile` options (OLMo `CompilerConfig`); meaningless on TensorFlow.js (warned). */
export interface CompilerConfig {
  /** `default`, `reduce-overhead` or `max-autotune` in OLMo; ignored here. */
  mode: string | null;
  /** Compile without graph breaks in OLMo; ignored here. */
  fullgraph: boolean;
  /** torch.compile backend (`inductor`); ignored here. */
  backend: string;
}

/**
 * PyTorch FSDP options (OLMo `FSDPConfig`). There is no FSDP on TensorFlow.js: every field is
 * accepted and kept in saved configs, and a non-default value is warned about once.
 */
export interface FSDPConfig {
  /** FSDP `use_orig_params`; ignored here. */
  use_orig_params: boolean;
  /** torch `ShardingStrategy`, by name; ignored here. */
  sharding_strategy: ShardingStrategy;
  /** FSDP auto-wrap policy; null means one top-level unit; ignored here. */
  wrapping_strategy: FSDPWrapStrategy | null;
  /** FSDP mixed-precision policy; ignored here (olmo-ts computes in float32). */
  precision: FSDPPrecision;
}

/** OLMo's `OptimizerConfig()` defaults. */
export function defaultOptimizerConfig(): OptimizerConfig {
  return {
    name: "lionw",
    learning_rate: 1.0e-4,
    weight_decay: 0.01,
    betas: [0.9, 0.95],
    no_decay_norm_and_bias: null,
    decay_norm_and_bias: false,
    decay_embeddings: false,
    metrics_log_interval: null,
  };
}

/** OLMo's `SchedulerConfig()` defaults. */
export function defaultSchedulerConfig(): SchedulerConfig {
  return { name: "cosine_with_warmup", t_warmup: 100, t_max: null, alpha_f: 0.1 };
}

/** OLMo's `DataConfig()` defaults plus `memmap_dtype: "uint16"`. */
export function defaultDataConfig(): DataConfig {
  return {
    paths: null,
    datasets: null,
    pad_direction: "right",
    num_workers: 0,
    drop_last: false,
    pin_memory: false,
    prefetch_factor: null,
    persistent_workers: false,
    timeout: 0,
    memmap_dtype: "uint16",
  };
}

/**
 * `EvaluatorConfig` defaults for a given label. OLMo has no default label (it is required);
 * loading a config without one fails.
 */
export function defaultEvaluatorConfig(label: string): EvaluatorConfig {
  return {
    label,
    type: "lm",
    data: defaultDataConfig(),
    device_eval_batch_size: null,
    subset_num_batches: null,
  };
}

/** OLMo's `TokenizerConfig()` defaults. */
export function defaultTokenizerConfig(): TokenizerConfig {
  return { identifier: "gpt2", truncate_direction: "right" };
}

/** OLMo's `WandbConfig()` defaults (used when a config has a `wandb:` section). */
export function defaultWandbConfig(): WandbConfig {
  return {
    project: null,
    entity: "ai2-llm",
    group: null,
    name: null,
    tags: ["watching"],
    log_artifacts: false,
    rank_zero_only: true,
    log_interval: 1,
  };
}

/** OLMo's `SpeedMonitorConfig()` defaults. */
export function defaultSpeedMonitorConfig(): SpeedMonitorConfig {
  return { window_size: 100, gpu_flops_available: null };
}

/** OLMo's `CompilerConfig()` defaults (used when a config has a `compile:` section). */
export function defaultCompilerConfig(): CompilerConfig {
  return { mode: null, fullgraph: false, backend: "inductor" };
}

/** OLMo's `FSDPConfig()` defaults. */
export function defaultFSDPConfig(): FSDPConfig {
  return {
    use_orig_params: true,
    sharding_strategy: "FULL_SHARD",
    wrapping_strategy: null,
    precision: "pure",
  };
}
