/**
 * The config schema against the spec's tables (§1.2–§1.7), typed out by hand as the independent
 * reference: every OLMo default of every section and every enum's values. olmo-ts's own additions
 * (e.g. `backend`, `data.memmap_dtype`) are not part of the tables and are ignored here.
 */
import assert from "node:assert/strict";
import {
  ACTIVATION_CHECKPOINTING_STRATEGIES,
  ACTIVATION_TYPES,
  BLOCK_TYPES,
  CHECKPOINT_TYPES,
  defaultTrainConfig,
  EVALUATOR_TYPES,
  FSDP_PRECISIONS,
  FSDP_WRAP_STRATEGIES,
  INIT_FN_TYPES,
  LAYER_NORM_TYPES,
  OPTIMIZER_TYPES,
  PADDING_DIRECTIONS,
  SCHEDULER_TYPES,
  SHARDED_CHECKPOINTER_TYPES,
  SHARDING_STRATEGIES,
  trainConfigFromObject,
  TRUNCATION_DIRECTIONS,
} from "../lib/config/mod.ts";

/** True for a non-null, non-array object. */
function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value` cut down to the keys of `like`, recursively (missing keys stay, as undefined). */
function withKeysOf(value: unknown, like: unknown): unknown {
  if (!isMapping(value) || !isMapping(like)) return value;
  return Object.fromEntries(Object.keys(like).map((k) => [k, withKeysOf(value[k], like[k])]));
}

/** Spec §1.5 `DataConfig()`. */
const SPEC_DATA = {
  paths: null,
  datasets: null,
  pad_direction: "right",
  num_workers: 0,
  drop_last: false,
  pin_memory: false,
  prefetch_factor: null,
  persistent_workers: false,
  timeout: 0,
};

/** Spec §1.3–§1.7: `TrainConfig()` with every nested default. */
const SPEC_TRAIN_CONFIG = {
  run_name: null,
  seed: 6198,
  dry_run: false,
  model: {
    d_model: 768,
    n_heads: 12,
    n_layers: 12,
    mlp_ratio: 4,
    mlp_hidden_size: null,
    activation_type: "swiglu",
    block_type: "sequential",
    block_group_size: 1,
    alibi: false,
    alibi_bias_max: 8.0,
    rope: false,
    rope_full_precision: true,
    flash_attention: false,
    attention_dropout: 0.1,
    multi_query_attention: false,
    attention_layer_norm: false,
    residual_dropout: 0.1,
    embedding_dropout: 0.1,
    layer_norm_type: "default",
    layer_norm_with_affine: true,
    attention_layer_norm_with_affine: true,
    max_sequence_length: 1024,
    include_bias: true,
    bias_for_layer_norm: null,
    scale_logits: false,
    vocab_size: 50257,
    embedding_size: 50304,
    weight_tying: true,
    eos_token_id: 50256,
    pad_token_id: 50256,
    init_device: null,
    init_fn: "normal",
    init_std: 0.02,
    init_cutoff_factor: null,
    precision: null,
  },
  optimizer: {
    name: "lionw",
    learning_rate: 1.0e-4,
    weight_decay: 0.01,
    betas: [0.9, 0.95],
    no_decay_norm_and_bias: null,
    decay_norm_and_bias: false,
    decay_embeddings: false,
    metrics_log_interval: null,
  },
  scheduler: { name: "cosine_with_warmup", t_warmup: 100, t_max: null, alpha_f: 0.1 },
  data: SPEC_DATA,
  restore_dataloader: true,
  fast_forward_batches: null,
  evaluators: [],
  eval_interval: 1000,
  tokenizer: { identifier: "gpt2", truncate_direction: "right" },
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
  speed_monitor: { window_size: 100, gpu_flops_available: null },
  console_log_interval: 1,
  compile: null,
  fsdp: {
    use_orig_params: true,
    sharding_strategy: "FULL_SHARD",
    wrapping_strategy: null,
    precision: "pure",
  },
  softmax_auxiliary_loss: false,
  time_limit: 171000.0,
  early_stopping_factor: null,
  save_data_indices: true,
  python_profiling: false,
  torch_profiling: false,
  stop_at: null,
  activation_checkpointing: null,
};

Deno.test("every default of TrainConfig and its sections is the spec's", async () => {
  assert.deepEqual(withKeysOf(defaultTrainConfig(), SPEC_TRAIN_CONFIG), SPEC_TRAIN_CONFIG);
  // What loading an empty config gives, too.
  const loaded = await trainConfigFromObject({});
  assert.deepEqual(withKeysOf(loaded, SPEC_TRAIN_CONFIG), SPEC_TRAIN_CONFIG);
  // Optional sections and list items get their class defaults when they appear.
  const withSections = await trainConfigFromObject({
    wandb: {},
    compile: {},
    evaluators: [{ label: "x" }],
  });
  assert.deepEqual(withSections.wandb, {
    project: null,
    entity: "ai2-llm",
    group: null,
    name: null,
    tags: ["watching"],
    log_artifacts: false,
    rank_zero_only: true,
    log_interval: 1,
  });
  assert.deepEqual(withSections.compile, {
    mode: null,
    fullgraph: false,
    backend: "inductor",
    dynamic: null, // OLMo later
  });
  const evaluator = {
    label: "x",
    type: "lm",
    data: SPEC_DATA,
    device_eval_batch_size: null,
    subset_num_batches: null,
  };
  assert.deepEqual(withKeysOf(withSections.evaluators[0], evaluator), evaluator);
});

Deno.test("every enum has exactly the spec's values", () => {
  const table: [string, readonly string[], string[]][] = [
    ["LayerNormType", LAYER_NORM_TYPES, ["default", "low_precision", "rms", "amd_compatible"]],
    ["ActivationType", ACTIVATION_TYPES, ["gelu", "relu", "swiglu"]],
    ["BlockType", BLOCK_TYPES, ["sequential", "parallel", "llama"]],
    ["InitFnType", INIT_FN_TYPES, [
      "mitchell",
      "normal",
      "kaiming_normal",
      "fan_in",
      "full_megatron",
    ]],
    ["OptimizerType", OPTIMIZER_TYPES, ["lionw", "adamw"]],
    [
      "SchedulerType",
      SCHEDULER_TYPES,
      [
        "cosine_with_warmup",
        "linear_with_warmup",
        "inverse_sqrt_with_warmup",
        "max_scheduler",
        // OLMo later
        "constant",
        "cosine_linear_envelope",
        "constant_with_warmup",
      ],
    ],
    ["PaddingDirection", PADDING_DIRECTIONS, ["right", "left"]],
    ["TruncationDirection", TRUNCATION_DIRECTIONS, ["right", "left"]],
    ["EvaluatorType", EVALUATOR_TYPES, ["downstream", "lm"]],
    [
      "FSDPWrapStrategy",
      FSDP_WRAP_STRATEGIES,
      [
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
      ],
    ],
    ["FSDPPrecision", FSDP_PRECISIONS, ["pure", "mixed"]],
    ["CheckpointType", CHECKPOINT_TYPES, ["sharded", "unsharded"]],
    [
      "ShardedCheckpointerType",
      SHARDED_CHECKPOINTER_TYPES,
      ["torch_new", "torch_legacy", "local", "olmo_core" /* OLMo later */],
    ],
    [
      "ActivationCheckpointingStrategy",
      ACTIVATION_CHECKPOINTING_STRATEGIES,
      [
        "whole_layer",
        "one_in_two",
        "one_in_three",
        "one_in_four",
        "fine_grained",
        // OLMo later
        "one_in_eight",
        "two_in_three",
        "three_in_four",
      ],
    ],
    [
      "ShardingStrategy",
      SHARDING_STRATEGIES,
      ["FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD", "HYBRID_SHARD", "_HYBRID_SHARD_ZERO2"],
    ],
  ];
  for (const [name, actual, expected] of table) {
    assert.deepEqual([...actual].sort(), [...expected].sort(), name);
  }
});

Deno.test("every enum value loads, and only those", async () => {
  for (const value of SHARDING_STRATEGIES) {
    const cfg = await trainConfigFromObject({ fsdp: { sharding_strategy: value } });
    assert.equal(cfg.fsdp?.sharding_strategy, value);
  }
  for (const value of ACTIVATION_CHECKPOINTING_STRATEGIES) {
    assert.equal(
      (await trainConfigFromObject({ activation_checkpointing: value }))
        .activation_checkpointing,
      value,
    );
  }
  for (const value of LAYER_NORM_TYPES) {
    assert.equal(
      (await trainConfigFromObject({ model: { layer_norm_type: value } })).model
        .layer_norm_type,
      value,
    );
  }
  await assert.rejects(
    trainConfigFromObject({ scheduler: { name: "cosine" } }),
    /scheduler\.name: invalid SchedulerType 'cosine'/,
  );
});
