/**
 * `TrainConfig`: the top level of an OLMo training config (`olmo/config.py` `TrainConfig`) plus
 * olmo-ts's `backend`. Field names, types and defaults are OLMo's, in OLMo's order (the order of
 * saved YAML). Each field is declared once in `TRAIN_CONFIG_SCHEMA`; the type and the defaults
 * come from it.
 *
 * @module
 */
import { BACKEND_NAMES } from "../backend/names.ts";
import { MODEL_CONFIG_SCHEMA } from "./model_config.ts";
import { ACTIVATION_CHECKPOINTING_STRATEGIES, SHARDED_CHECKPOINTER_TYPES } from "./enums.ts";
import {
  BOOL,
  type ConfigOf,
  defineSection,
  DURATION,
  field,
  INT,
  listOf,
  NULL_BOOL,
  NULL_FLOAT,
  NULL_INT,
  NULL_STR,
  nullable,
  oneOf,
  sectionField,
  sectionOf,
  STR,
} from "./schema.ts";
import {
  COMPILER_CONFIG_SCHEMA,
  DATA_CONFIG_SCHEMA,
  EVALUATOR_CONFIG_SCHEMA,
  FSDP_CONFIG_SCHEMA,
  OPTIMIZER_CONFIG_SCHEMA,
  SCHEDULER_CONFIG_SCHEMA,
  SPEED_MONITOR_CONFIG_SCHEMA,
  TOKENIZER_CONFIG_SCHEMA,
  WANDB_CONFIG_SCHEMA,
} from "./sections.ts";

const SHARDED_CHECKPOINTER = oneOf("ShardedCheckpointerType", SHARDED_CHECKPOINTER_TYPES);

/** Schema of the whole `TrainConfig`. */
export const TRAIN_CONFIG_SCHEMA = defineSection("TrainConfig", {
  run_name: field(
    NULL_STR,
    null,
    "Name of the run; required by the train command. Configs interpolate it (`${run_name}`).",
  ),
  seed: field(
    INT,
    6198,
    "Seeds initialisation, the data shuffle and eval sampling. Must be in [0, 2^32 - 1].",
  ),
  dry_run: field(
    BOOL,
    false,
    "Build and load everything, then stop before training and the step-0 checkpoint.",
  ),
  model: sectionField(MODEL_CONFIG_SCHEMA, "Model architecture."),
  optimizer: sectionField(OPTIMIZER_CONFIG_SCHEMA, "Optimizer."),
  scheduler: sectionField(SCHEDULER_CONFIG_SCHEMA, "Learning-rate schedule."),
  data: sectionField(DATA_CONFIG_SCHEMA, "Training data."),
  restore_dataloader: field(
    BOOL,
    true,
    "On restart, resume at the saved data position; false restarts at example 0.",
  ),
  fast_forward_batches: field(NULL_INT, null, "On restart, skip this many extra global batches."),
  evaluators: field(
    listOf(sectionOf(EVALUATOR_CONFIG_SCHEMA)),
    [],
    "Evaluators, run every `eval_interval` steps.",
  ),
  eval_interval: field(INT, 1000, "Evaluate every N steps."),
  tokenizer: sectionField(TOKENIZER_CONFIG_SCHEMA, "Tokenizer (must match `model.vocab_size`)."),
  save_folder: field(
    STR,
    "./",
    "Run folder: `config.yaml`, `stepN/`, `stepN-unsharded/`, `latest`, data indices.",
  ),
  remote_save_folder: field(
    NULL_STR,
    null,
    "Upload target (`s3://`, `gs://` in OLMo) for each checkpoint: `{remote}/{stepN}/...`.",
  ),
  canceled_check_interval: field(
    INT,
    50,
    "Steps between checks of the time limit and early stopping.",
  ),
  save_interval: field(INT, 1000, "Sharded checkpoint every N steps."),
  save_interval_unsharded: field(
    NULL_INT,
    null,
    "Unsharded checkpoint every N steps; null disables them, including the final one.",
  ),
  save_num_checkpoints_to_keep: field(
    INT,
    -1,
    "Sharded checkpoints to keep; -1 keeps all, 0 disables periodic sharded saves.",
  ),
  save_num_unsharded_checkpoints_to_keep: field(
    INT,
    -1,
    "Unsharded checkpoints to keep; -1 keeps all, 0 disables them.",
  ),
  save_overwrite: field(BOOL, false, "Allow overwriting existing checkpoint folders and files."),
  force_save_unsharded: field(
    BOOL,
    false,
    "Save an unsharded checkpoint right after loading (with `dry_run`: a format converter).",
  ),
  no_pre_train_checkpoint: field(BOOL, false, "Skip the step-0 checkpoint."),
  load_path: field(
    NULL_STR,
    null,
    "Checkpoint folder to resume from; configs may use `${path.last_checkpoint:DIR}`.",
  ),
  load_path_sharded_checkpointer: field(
    nullable(SHARDED_CHECKPOINTER),
    null,
    "Sharded format used for loading; null means `sharded_checkpointer`.",
  ),
  reset_optimizer_state: field(
    BOOL,
    false,
    "Load the model only, with a fresh optimizer and a bolt-on warmup.",
  ),
  reset_trainer_state: field(
    BOOL,
    false,
    "olmo-ts (OLMo later): on load, ignore the checkpoint's trainer state (step, data " +
      "position and checkpoint lists start from zero), for fine-tuning from a pretrained " +
      "checkpoint.",
  ),
  sharded_checkpointer: field(
    SHARDED_CHECKPOINTER,
    "torch_legacy",
    "OLMo's sharded format name. Every value is accepted; olmo-ts always writes its own " +
      "sharded format (one file per rank), whatever the value.",
  ),
  new_style_checkpoints: field(NULL_BOOL, null, "Deprecated and unused, in OLMo too."),
  max_duration: field(
    DURATION,
    10000,
    'Run length: a number of optimizer steps, or (OLMo later) a string: `"2e9T"` is a token ' +
      "budget, any other numeric string is steps. See `parseDuration`.",
  ),
  global_train_batch_size: field(INT, 512, "Instances per optimizer step, across all ranks."),
  device_train_batch_size: field(
    NULL_INT,
    null,
    "Derived at start-up: `global_train_batch_size / world_size` (`deriveTrainConfig`).",
  ),
  device_train_microbatch_size: field(
    INT,
    16,
    "Instances per forward/backward pass; gradients accumulate over micro-batches.",
  ),
  device_eval_batch_size: field(INT, 16, "Evaluation batch size."),
  eval_subset_num_batches: field(INT, -1, "Batches per evaluator; -1 means all."),
  eval_on_load: field(
    BOOL,
    false,
    "Evaluate right after a restart (when the loaded step is > 0).",
  ),
  device_train_grad_accum: field(
    NULL_INT,
    null,
    "Derived at start-up: `device_train_batch_size / device_train_microbatch_size`.",
  ),
  max_grad_norm: field(NULL_FLOAT, null, "Clip gradients to this global L2 norm."),
  max_grad_norm_ratio: field(
    NULL_FLOAT,
    null,
    "Adaptive per-parameter clipping; takes priority over `max_grad_norm`.",
  ),
  precision: field(
    NULL_STR,
    null,
    "`amp_bf16`, `amp_fp16` or `fp32` in OLMo. olmo-ts computes in float32 whatever the value " +
      "(the amp values are warned about once); any other value is an error at start-up.",
  ),
  wandb: field(nullable(sectionOf(WANDB_CONFIG_SCHEMA)), null, "W&B logging; null disables it."),
  speed_monitor: sectionField(SPEED_MONITOR_CONFIG_SCHEMA, "Throughput measurement."),
  console_log_interval: field(INT, 1, "Print metrics every N steps."),
  compile: field(
    nullable(sectionOf(COMPILER_CONFIG_SCHEMA)),
    null,
    "`torch.compile`; meaningless on TensorFlow.js (warned when set).",
  ),
  fsdp: sectionField(
    FSDP_CONFIG_SCHEMA,
    "FSDP options; meaningless on TensorFlow.js (warned when not the defaults).",
  ),
  softmax_auxiliary_loss: field(
    BOOL,
    false,
    "Add PaLM's z-loss `1e-4 * mean(logsumexp(logits)^2)`.",
  ),
  time_limit: field(
    NULL_FLOAT,
    60 * 60 * 47.5,
    "Wall-clock limit in seconds: save a checkpoint and stop. Default 47.5 h.",
  ),
  early_stopping_factor: field(
    NULL_FLOAT,
    null,
    "Stop when the loss exceeds `factor * min_loss` after warmup.",
  ),
  save_data_indices: field(
    BOOL,
    true,
    "Write `data-indices/rank{r}.tsv.gz`: the dataset indices each step saw.",
  ),
  python_profiling: field(
    BOOL,
    false,
    "Profile steps 5–8 in OLMo (cProfile); ignored here (warned).",
  ),
  torch_profiling: field(BOOL, false, "torch profiler in OLMo; ignored here (warned)."),
  stop_at: field(NULL_INT, null, "Stop (after a sharded checkpoint) at this step."),
  activation_checkpointing: field(
    nullable(
      oneOf("ActivationCheckpointingStrategy", ACTIVATION_CHECKPOINTING_STRATEGIES, [
        [true, "whole_layer"],
        [false, null],
      ]),
    ),
    null,
    "Recompute activations in backward to save memory; meaningless on TensorFlow.js (warned). " +
      "Legacy booleans are accepted: `true` → `whole_layer`, `false` → null.",
  ),
  backend: field(
    oneOf("Backend", BACKEND_NAMES),
    "auto",
    "olmo-ts: TensorFlow.js backend. `auto` picks the best one available; `tensorflow` is " +
      "tfjs-node, `wasm`, `webgpu` and `cpu` are the tfjs backends of those names, `native` is " +
      "wasm with native BLAS matmuls.",
  ),
});

/**
 * A whole training run (OLMo `TrainConfig`), derived from `TRAIN_CONFIG_SCHEMA`, where every
 * field is documented.
 */
export type TrainConfig = ConfigOf<typeof TRAIN_CONFIG_SCHEMA.fields>;

/** Every `TrainConfig` default (OLMo's `TrainConfig()`, plus `backend: "auto"`). */
export function defaultTrainConfig(): TrainConfig {
  return TRAIN_CONFIG_SCHEMA.defaults();
}
