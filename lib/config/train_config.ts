/**
 * `TrainConfig`: the top level of an OLMo training config (spec §1.7) plus olmo-ts's `backend`.
 * Field names, types and defaults are OLMo's, in OLMo's order (the order of saved YAML).
 *
 * @module
 */
import { defaultModelConfig, type ModelConfig } from "./model_config.ts";
import type { ActivationCheckpointingStrategy, Backend, ShardedCheckpointerType } from "./enums.ts";
import {
  type CompilerConfig,
  type DataConfig,
  defaultDataConfig,
  defaultFSDPConfig,
  defaultOptimizerConfig,
  defaultSchedulerConfig,
  defaultSpeedMonitorConfig,
  defaultTokenizerConfig,
  type EvaluatorConfig,
  type FSDPConfig,
  type OptimizerConfig,
  type SchedulerConfig,
  type SpeedMonitorConfig,
  type TokenizerConfig,
  type WandbConfig,
} from "./sections.ts";

/** A whole training run (OLMo `TrainConfig`). */
export interface TrainConfig {
  /** Name of the run; required by the train command. Configs interpolate it (`${run_name}`). */
  run_name: string | null;
  /** Seeds initialisation, the data shuffle and eval sampling. Must be in [0, 2^32 - 1]. */
  seed: number;
  /** Build and load everything, then stop before training and the step-0 checkpoint. */
  dry_run: boolean;
  /** Model architecture. */
  model: ModelConfig;
  /** Optimizer. */
  optimizer: OptimizerConfig;
  /** Learning-rate schedule. */
  scheduler: SchedulerConfig;
  /** Training data. */
  data: DataConfig;
  /** On restart, resume at the saved data position; false restarts at example 0. */
  restore_dataloader: boolean;
  /** On restart, skip this many extra global batches. */
  fast_forward_batches: number | null;
  /** Evaluators, run every `eval_interval` steps. */
  evaluators: EvaluatorConfig[];
  /** Evaluate every N steps. */
  eval_interval: number;
  /** Tokenizer (must match `model.vocab_size`). */
  tokenizer: TokenizerConfig;
  /** Run folder: `config.yaml`, `stepN/`, `stepN-unsharded/`, `latest`, data indices. */
  save_folder: string;
  /** Upload target (`s3://`, `gs://` in OLMo) for each checkpoint: `{remote}/{stepN}/...`. */
  remote_save_folder: string | null;
  /** Steps between checks of the time limit and early stopping. */
  canceled_check_interval: number;
  /** Sharded checkpoint every N steps. */
  save_interval: number;
  /** Unsharded checkpoint every N steps; null disables them, including the final one. */
  save_interval_unsharded: number | null;
  /** Sharded checkpoints to keep; -1 keeps all, 0 disables periodic sharded saves. */
  save_num_checkpoints_to_keep: number;
  /** Unsharded checkpoints to keep; -1 keeps all, 0 disables them. */
  save_num_unsharded_checkpoints_to_keep: number;
  /** Allow overwriting existing checkpoint folders and files. */
  save_overwrite: boolean;
  /** Save an unsharded checkpoint right after loading (with `dry_run`: a format converter). */
  force_save_unsharded: boolean;
  /** Skip the step-0 checkpoint. */
  no_pre_train_checkpoint: boolean;
  /** Checkpoint folder to resume from; configs may use `${path.last_checkpoint:DIR}`. */
  load_path: string | null;
  /** Sharded format used for loading; null means `sharded_checkpointer`. */
  load_path_sharded_checkpointer: ShardedCheckpointerType | null;
  /** Load the model only, with a fresh optimizer and a bolt-on warmup. */
  reset_optimizer_state: boolean;
  /**
   * olmo-ts (OLMo later): on load, ignore the checkpoint's trainer state — step, data position and
   * checkpoint lists start from zero — for fine-tuning from a pretrained checkpoint.
   */
  reset_trainer_state: boolean;
  /**
   * OLMo's sharded format name. Every value is accepted; olmo-ts always writes its own sharded
   * format (one file per rank), whatever the value.
   */
  sharded_checkpointer: ShardedCheckpointerType;
  /** Deprecated and unused, in OLMo too. */
  new_style_checkpoints: boolean | null;
  /**
   * Run length: a number of optimizer steps, or (OLMo later, spec §6.8) a string: `"2e9T"` is a
   * token budget, any other numeric string is steps. See `parseDuration`.
   */
  max_duration: number | string;
  /** Instances per optimizer step, across all ranks. */
  global_train_batch_size: number;
  /** Derived at start-up: `global_train_batch_size / world_size` (`deriveTrainConfig`). */
  device_train_batch_size: number | null;
  /** Instances per forward/backward pass; gradients accumulate over micro-batches. */
  device_train_microbatch_size: number;
  /** Evaluation batch size. */
  device_eval_batch_size: number;
  /** Batches per evaluator; -1 means all. */
  eval_subset_num_batches: number;
  /** Evaluate right after a restart (when the loaded step is > 0). */
  eval_on_load: boolean;
  /** Derived at start-up: `device_train_batch_size / device_train_microbatch_size`. */
  device_train_grad_accum: number | null;
  /** Clip gradients to this global L2 norm. */
  max_grad_norm: number | null;
  /** Adaptive per-parameter clipping; takes priority over `max_grad_norm`. */
  max_grad_norm_ratio: number | null;
  /**
   * `amp_bf16`, `amp_fp16` or `fp32` in OLMo. olmo-ts computes in float32 whatever the value (the
   * amp values are warned about once); any other value is an error at start-up.
   */
  precision: string | null;
  /** W&B logging; null disables it. */
  wandb: WandbConfig | null;
  /** Throughput measurement. */
  speed_monitor: SpeedMonitorConfig;
  /** Print metrics every N steps. */
  console_log_interval: number;
  /** `torch.compile`; meaningless on TensorFlow.js (warned when set). */
  compile: CompilerConfig | null;
  /** FSDP options; meaningless on TensorFlow.js (warned when not the defaults). */
  fsdp: FSDPConfig;
  /** Add PaLM's z-loss `1e-4 * mean(logsumexp(logits)^2)`. */
  softmax_auxiliary_loss: boolean;
  /** Wall-clock limit in seconds: save a checkpoint and stop. Default 47.5 h. */
  time_limit: number | null;
  /** Stop when the loss exceeds `factor * min_loss` after warmup. */
  early_stopping_factor: number | null;
  /** Write `data-indices/rank{r}.tsv.gz`: the dataset indices each step saw. */
  save_data_indices: boolean;
  /** Profile steps 5–8 in OLMo (cProfile); ignored here (warned). */
  python_profiling: boolean;
  /** torch profiler in OLMo; ignored here (warned). */
  torch_profiling: boolean;
  /** Stop (after a sharded checkpoint) at this step. */
  stop_at: number | null;
  /**
   * Recompute activations in backward to save memory; meaningless on TensorFlow.js (warned).
   * Legacy booleans are accepted: `true` → `whole_layer`, `false` → null.
   */
  activation_checkpointing: ActivationCheckpointingStrategy | null;
  /**
   * olmo-ts: TensorFlow.js backend. `auto` picks the best one available; `tensorflow` is
   * tfjs-node, `wasm`, `webgpu` and `cpu` are the tfjs backends of those names.
   */
  backend: Backend;
}

/** Every `TrainConfig` default (OLMo's `TrainConfig()`, plus `backend: "auto"`). */
export function defaultTrainConfig(): TrainConfig {
  return {
    run_name: null,
    seed: 6198,
    dry_run: false,
    model: defaultModelConfig(),
    optimizer: defaultOptimizerConfig(),
    scheduler: defaultSchedulerConfig(),
    data: defaultDataConfig(),
    restore_dataloader: true,
    fast_forward_batches: null,
    evaluators: [],
    eval_interval: 1000,
    tokenizer: defaultTokenizerConfig(),
    save_folder: "./",
    remote_save_folder: null,
    canceled_check_interval: 50,
    save_interval: 1000,
    save_interval_unsharded: null,
    save_num_checkpoints_to_keep: -1,
    save_num_unsharded_checkpoints_to_keep: -1,
    save_overwrite: false,
    force_save_unsharded: false,
    no_pre_train_checkpoint: false,
    load_path: null,
    load_path_sharded_checkpointer: null,
    reset_optimizer_state: false,
    reset_trainer_state: false,
    sharded_checkpointer: "torch_legacy",
    new_style_checkpoints: null,
    max_duration: 10000,
    global_train_batch_size: 512,
    device_train_batch_size: null,
    device_train_microbatch_size: 16,
    device_eval_batch_size: 16,
    eval_subset_num_batches: -1,
    eval_on_load: false,
    device_train_grad_accum: null,
    max_grad_norm: null,
    max_grad_norm_ratio: null,
    precision: null,
    wandb: null,
    speed_monitor: defaultSpeedMonitorConfig(),
    console_log_interval: 1,
    compile: null,
    fsdp: defaultFSDPConfig(),
    softmax_auxiliary_loss: false,
    time_limit: 60 * 60 * 47.5,
    early_stopping_factor: null,
    save_data_indices: true,
    python_profiling: false,
    torch_profiling: false,
    stop_at: null,
    activation_checkpointing: null,
    backend: "auto",
  };
}
