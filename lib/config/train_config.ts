/**
 * `TrainConfig`: the top level of an OLMo training config (`olmo/config.py` `TrainConfig`) plus
 * olmo-ts's `backend`. Field names, types and defaults are OLMo's, in OLMo's order (the order of
 * saved YAML). Each field is declared once in `TRAIN_CONFIG_FIELDS`; the type and the defaults
 * come from it.
 *
 * @module
 */
import { BACKEND_NAMES } from "../backend/names.ts";
import { MODEL_CONFIG_SCHEMA } from "./model_config.ts";
import {
  ACTIVATION_CHECKPOINTING_STRATEGIES,
  DISTRIBUTED_STRATEGIES,
  SHARDED_CHECKPOINTER_TYPES,
} from "./enums.ts";
import {
  BOOL,
  type ConfigOf,
  defineSection,
  DURATION,
  INT,
  NULL_BOOL,
  NULL_FLOAT,
  NULL_INT,
  NULL_STR,
  type SectionSchema,
  STR,
} from "./schema.ts";
import {
  DATA_CONFIG_SCHEMA,
  EVALUATOR_CONFIG_SCHEMA,
  OPTIMIZER_CONFIG_SCHEMA,
  SCHEDULER_CONFIG_SCHEMA,
  SPEED_MONITOR_CONFIG_SCHEMA,
  TOKENIZER_CONFIG_SCHEMA,
  WANDB_CONFIG_SCHEMA,
} from "./sections.ts";
import {
  COMPILER_CONFIG_SCHEMA,
  DDP_CONFIG_SCHEMA,
  FSDP_CONFIG_SCHEMA,
  SINGLE_GPU_CONFIG_SCHEMA,
} from "./torch_sections.ts";

/** `load_path_sharded_checkpointer` and `sharded_checkpointer` share the enum. */
const SHARDED_CHECKPOINTER = {
  kind: "enum",
  name: "ShardedCheckpointerType",
  values: SHARDED_CHECKPOINTER_TYPES,
} as const;

/** The fields of `TrainConfig`, each declared once: kind, default and documentation. */
export const TRAIN_CONFIG_FIELDS = {
  run_name: {
    ...NULL_STR,
    default: null,
    doc: "Name of the run; required by the train command. Configs interpolate it (`${run_name}`).",
  },
  seed: {
    ...INT,
    default: 6198,
    doc: "Seeds initialisation, the data shuffle and eval sampling. Must be in [0, 2^32 - 1].",
  },
  epoch: {
    ...NULL_INT,
    default: null,
    doc: "OLMo later: the data epoch to start in; only null/0 (the first) is implemented (warned).",
  },
  dry_run: {
    ...BOOL,
    default: false,
    doc: "Build and load everything, then stop before training and the step-0 checkpoint.",
  },
  model: { kind: "object", schema: MODEL_CONFIG_SCHEMA, doc: "Model architecture." },
  optimizer: { kind: "object", schema: OPTIMIZER_CONFIG_SCHEMA, doc: "Optimizer." },
  scheduler: { kind: "object", schema: SCHEDULER_CONFIG_SCHEMA, doc: "Learning-rate schedule." },
  data: { kind: "object", schema: DATA_CONFIG_SCHEMA, doc: "Training data." },
  restore_dataloader: {
    ...BOOL,
    default: true,
    doc: "On restart, resume at the saved data position; false restarts at example 0.",
  },
  fast_forward_batches: {
    ...NULL_INT,
    default: null,
    doc: "On restart, skip this many extra global batches.",
  },
  evaluators: {
    kind: "list",
    item: { kind: "object", schema: EVALUATOR_CONFIG_SCHEMA },
    default: [],
    doc: "Evaluators, run every `eval_interval` steps.",
  },
  eval_interval: { ...INT, default: 1000, doc: "Evaluate every N steps." },
  tokenizer: {
    kind: "object",
    schema: TOKENIZER_CONFIG_SCHEMA,
    doc: "Tokenizer (must match `model.vocab_size`).",
  },
  save_folder: {
    ...STR,
    default: "./",
    doc: "Run folder: `config.yaml`, `stepN/`, `stepN-unsharded/`, `latest`, data indices.",
  },
  remote_save_folder: {
    ...NULL_STR,
    default: null,
    doc: "Upload target (`s3://`, `gs://` in OLMo) for each checkpoint: `{remote}/{stepN}/...`.",
  },
  canceled_check_interval: {
    ...INT,
    default: 50,
    doc: "Steps between checks of the time limit and early stopping.",
  },
  save_interval: {
    ...NULL_INT,
    default: 1000,
    doc: "Sharded checkpoint every N steps; null (OLMo later) disables periodic sharded saves.",
  },
  save_interval_unsharded: {
    ...NULL_INT,
    default: null,
    doc: "Unsharded checkpoint every N steps; null disables them, including the final one.",
  },
  save_interval_ephemeral: {
    ...NULL_INT,
    default: null,
    doc:
      "OLMo later: an extra sharded checkpoint every N steps, deleted when the next one (or the " +
      "next regular sharded checkpoint) is written, for cheap restarts.",
  },
  save_num_checkpoints_to_keep: {
    ...INT,
    default: -1,
    doc: "Sharded checkpoints to keep; -1 keeps all, 0 disables periodic sharded saves.",
  },
  save_num_unsharded_checkpoints_to_keep: {
    ...INT,
    default: -1,
    doc: "Unsharded checkpoints to keep; -1 keeps all, 0 disables them.",
  },
  save_overwrite: {
    ...BOOL,
    default: false,
    doc: "Allow overwriting existing checkpoint folders and files.",
  },
  force_save_unsharded: {
    ...BOOL,
    default: false,
    doc: "Save an unsharded checkpoint right after loading (with `dry_run`: a format converter).",
  },
  no_pre_train_checkpoint: { ...BOOL, default: false, doc: "Skip the step-0 checkpoint." },
  load_path: {
    ...NULL_STR,
    default: null,
    doc: "Checkpoint folder to resume from; configs may use `${path.last_checkpoint:DIR}`.",
  },
  load_path_sharded_checkpointer: {
    ...SHARDED_CHECKPOINTER,
    nullable: true,
    default: null,
    doc: "Sharded format used for loading; null means `sharded_checkpointer`.",
  },
  try_load_latest_save: {
    ...BOOL,
    default: false,
    doc: "OLMo later: resume from the newest checkpoint in `save_folder` when there is one (then " +
      "`restore_dataloader` is forced on and the reset options off); otherwise use `load_path`.",
  },
  reset_optimizer_state: {
    ...BOOL,
    default: false,
    doc: "Load the model only, with a fresh optimizer and a bolt-on warmup.",
  },
  reset_trainer_state: {
    ...BOOL,
    default: false,
    doc: "olmo-ts (OLMo later): on load, ignore the checkpoint's trainer state (step, data " +
      "position and checkpoint lists start from zero), for fine-tuning from a pretrained " +
      "checkpoint.",
  },
  sharded_checkpointer: {
    ...SHARDED_CHECKPOINTER,
    default: "torch_legacy",
    doc: "OLMo's sharded format name. Every value is accepted; olmo-ts always writes its own " +
      "sharded format (one file per rank), whatever the value.",
  },
  new_style_checkpoints: {
    ...NULL_BOOL,
    default: null,
    doc: "Deprecated and unused, in OLMo too.",
  },
  max_duration: {
    ...DURATION,
    default: 10000,
    doc: 'Run length: a number of optimizer steps, or (OLMo later) a string: `"2e9T"` is a token ' +
      "budget, any other numeric string is steps. See `parseDuration`.",
  },
  global_train_batch_size: {
    ...INT,
    default: 512,
    doc: "Instances per optimizer step, across all ranks.",
  },
  device_train_batch_size: {
    ...NULL_INT,
    default: null,
    doc: "Derived at start-up: `global_train_batch_size / world_size` (`deriveTrainConfig`).",
  },
  device_train_microbatch_size: {
    ...INT,
    default: 16,
    doc: "Instances per forward/backward pass; gradients accumulate over micro-batches.",
  },
  device_eval_batch_size: { ...INT, default: 16, doc: "Evaluation batch size." },
  eval_subset_num_batches: { ...INT, default: -1, doc: "Batches per evaluator; -1 means all." },
  eval_on_load: {
    ...BOOL,
    default: false,
    doc: "Evaluate right after a restart (when the loaded step is > 0).",
  },
  hf_datasets_cache_dir: {
    ...NULL_STR,
    default: null,
    doc: "Folder of the downstream tasks' data files (OLMo later); null: " +
      "$OLMO_HF_DATASETS_CACHE_DIR, else ~/.cache/olmo-ts/hf_datasets (see lib/eval).",
  },
  device_train_grad_accum: {
    ...NULL_INT,
    default: null,
    doc: "Derived at start-up: `device_train_batch_size / device_train_microbatch_size`.",
  },
  max_grad_norm: { ...NULL_FLOAT, default: null, doc: "Clip gradients to this global L2 norm." },
  max_grad_norm_ratio: {
    ...NULL_FLOAT,
    default: null,
    doc: "Adaptive per-parameter clipping; takes priority over `max_grad_norm`.",
  },
  precision: {
    ...NULL_STR,
    default: null,
    doc:
      "`amp_bf16`, `amp_fp16` or `fp32` in OLMo. olmo-ts computes in float32 whatever the value " +
      "(the amp values are warned about once); any other value is an error at start-up.",
  },
  wandb: {
    kind: "object",
    schema: WANDB_CONFIG_SCHEMA,
    nullable: true,
    default: null,
    doc: "W&B logging; null disables it.",
  },
  speed_monitor: {
    kind: "object",
    schema: SPEED_MONITOR_CONFIG_SCHEMA,
    doc: "Throughput measurement.",
  },
  console_log_interval: { ...INT, default: 1, doc: "Print metrics every N steps." },
  gen1_gc_interval: {
    ...NULL_INT,
    default: 1,
    doc: "OLMo later: Python garbage-collector interval; meaningless here (warned when not 1).",
  },
  compile: {
    kind: "object",
    schema: COMPILER_CONFIG_SCHEMA,
    nullable: true,
    default: null,
    doc: "`torch.compile`; meaningless on TensorFlow.js (warned when set).",
  },
  distributed_strategy: {
    kind: "enum",
    name: "DistributedStrategy",
    values: DISTRIBUTED_STRATEGIES,
    nullable: true,
    default: "fsdp",
    doc:
      "OLMo later: `fsdp`, `ddp` or `single`. olmo-ts trains data-parallel over its launcher's " +
      "ranks whatever the value; a value other than `fsdp` is warned about.",
  },
  fsdp: {
    kind: "object",
    schema: FSDP_CONFIG_SCHEMA,
    doc: "FSDP options; meaningless on TensorFlow.js (warned when not the defaults).",
  },
  ddp: {
    kind: "object",
    schema: DDP_CONFIG_SCHEMA,
    nullable: true,
    default: null,
    doc: "OLMo later: DDP options; meaningless on TensorFlow.js (warned when set).",
  },
  single: {
    kind: "object",
    schema: SINGLE_GPU_CONFIG_SCHEMA,
    doc: "OLMo later: single-device options; olmo-ts uses `backend` (warned when not `auto`).",
  },
  softmax_auxiliary_loss: {
    ...BOOL,
    default: false,
    doc: "Add PaLM's z-loss `auxiliary_loss_multiplier * mean(logsumexp(logits)^2)`.",
  },
  auxiliary_loss_multiplier: {
    ...NULL_FLOAT,
    default: 1e-4,
    doc: "OLMo later: the z-loss coefficient (null also means 1e-4).",
  },
  time_limit: {
    ...NULL_FLOAT,
    default: 60 * 60 * 47.5,
    doc: "Wall-clock limit in seconds: save a checkpoint and stop. Default 47.5 h.",
  },
  extra_steps_after_cancel: {
    ...INT,
    default: 10,
    doc: "OLMo later: steps still run after a cancel request; olmo-ts stops at once (warned).",
  },
  early_stopping_factor: {
    ...NULL_FLOAT,
    default: null,
    doc: "Stop when the loss exceeds `factor * min_loss` after warmup.",
  },
  save_data_indices: {
    ...BOOL,
    default: true,
    doc: "Write `data-indices/rank{r}.tsv.gz`: the dataset indices each step saw.",
  },
  python_profiling: {
    ...BOOL,
    default: false,
    doc: "Profile steps 5–8 in OLMo (cProfile); ignored here (warned).",
  },
  torch_profiling: {
    ...BOOL,
    default: false,
    doc: "torch profiler in OLMo; ignored here (warned).",
  },
  stop_at: { ...NULL_INT, default: null, doc: "Stop (after a sharded checkpoint) at this step." },
  stop_after: {
    ...NULL_INT,
    default: null,
    doc: "OLMo later: stop after this many steps of this run: `stop_at = min(stop_at, start + N)`.",
  },
  activation_checkpointing: {
    kind: "enum",
    name: "ActivationCheckpointingStrategy",
    values: ACTIVATION_CHECKPOINTING_STRATEGIES,
    aliases: [
      [true, "whole_layer"],
      [false, null],
    ],
    nullable: true,
    default: null,
    doc:
      "Recompute activations in backward to save memory; meaningless on TensorFlow.js (warned). " +
      "Legacy booleans are accepted: `true` → `whole_layer`, `false` → null.",
  },
  fused_loss: {
    ...NULL_BOOL,
    default: null,
    doc: "OLMo later: flash-attn's fused cross-entropy; olmo-ts always fuses its loss (warned).",
  },
  module_outputs_save_steps: {
    kind: "list",
    item: INT,
    nullable: true,
    default: null,
    doc: "OLMo later: steps at which to save every module's outputs; not implemented (warned).",
  },
  backend: {
    kind: "enum",
    name: "Backend",
    values: BACKEND_NAMES,
    default: "auto",
    doc: "olmo-ts: TensorFlow.js backend. `auto` picks the best one available; `tensorflow` is " +
      "tfjs-node, `wasm`, `webgpu` and `cpu` are the tfjs backends of those names, `native` is " +
      "wasm with native BLAS matmuls.",
  },
} as const;

/** Schema of the whole `TrainConfig`. */
export const TRAIN_CONFIG_SCHEMA: SectionSchema<typeof TRAIN_CONFIG_FIELDS> = defineSection(
  "TrainConfig",
  TRAIN_CONFIG_FIELDS,
);

/**
 * A whole training run (OLMo `TrainConfig`), derived from `TRAIN_CONFIG_FIELDS`, where every
 * field is documented.
 */
export type TrainConfig = ConfigOf<typeof TRAIN_CONFIG_FIELDS>;

/** Every `TrainConfig` default (OLMo's `TrainConfig()`, plus `backend: "auto"`). */
export function defaultTrainConfig(): TrainConfig {
  return TRAIN_CONFIG_SCHEMA.defaults();
}
