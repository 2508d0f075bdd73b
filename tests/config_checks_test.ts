/**
 * Bad settings are config errors naming the key, the rule and the value (issue 15): a table of
 * key, bad value and expected message over every numeric and path setting, the cross-field
 * rules OLMo asserts, the shipped configs passing, and `runTraining` refusing before it builds
 * anything.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkTrainConfig,
  ConfigError,
  loadTrainConfig,
  trainConfigFromObject,
  trainConfigViolations,
} from "../lib/config/mod.ts";
import type { FieldSchema, ObjectSchema } from "../lib/config/schema.ts";
import { TRAIN_CONFIG_SCHEMA } from "../lib/config/train_config.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { runTraining } from "../lib/train/run.ts";
import { REPO_ROOT } from "./_shared.ts";

/** A config that passes every rule; each row changes one key of it. */
function baseObject(): Record<string, unknown> {
  return {
    run_name: "checks",
    save_folder: "/tmp/olmo-ts-checks-never-written",
    data: { paths: ["/data/a.npy"] },
    evaluators: [{ label: "v", data: { paths: ["/data/v.npy"] } }],
    wandb: { project: "p" },
    model: {
      d_model: 64,
      n_heads: 4,
      n_layers: 2,
      vocab_size: 100,
      embedding_size: 128,
      eos_token_id: 90,
      pad_token_id: 91,
    },
    global_train_batch_size: 8,
    device_train_microbatch_size: 2,
    backend: "cpu",
    module_outputs_save_steps: [1], // OLMo later; a list row needs an item to change
  };
}

/** A copy of `obj` with the dotted `key` (`evaluators[0].data.timeout`) set to `value`. */
function withKey(obj: Record<string, unknown>, key: string, value: unknown) {
  const out = structuredClone(obj);
  const parts = key.split(".").flatMap((p) => p.split(/\[(\d+)\]/).filter((s) => s !== ""));
  let node = out as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
  return out;
}

/** [key, bad value, expected message]: the message is `key: must be RULE, got VALUE`. */
const TABLE: [string, unknown, string][] = [
  // The three.
  [
    "device_train_microbatch_size",
    -2,
    "device_train_microbatch_size: must be an integer ≥ 1, got -2",
  ],
  [
    "global_train_batch_size",
    7,
    "global_train_batch_size: must split into whole micro-batches of device_train_microbatch_size (2), got 7",
  ],
  ["save_interval", 0, "save_interval: must be an integer ≥ 1, got 0"],
  // Top level.
  ["seed", -1, "seed: must be an integer in [0, 2^32 - 1], got -1"],
  ["seed", 2 ** 32, "seed: must be an integer in [0, 2^32 - 1], got 4294967296"],
  ["fast_forward_batches", -1, "fast_forward_batches: must be an integer ≥ 0 or null, got -1"],
  ["eval_interval", 0, "eval_interval: must be an integer ≥ 1, got 0"],
  ["save_folder", "", 'save_folder: must be a non-empty local folder path (not a URL), got ""'],
  [
    "save_folder",
    "s3://bucket/run",
    'save_folder: must be a non-empty local folder path (not a URL), got "s3://bucket/run"',
  ],
  ["remote_save_folder", " ", 'remote_save_folder: must be a non-empty path or null, got " "'],
  ["canceled_check_interval", 0, "canceled_check_interval: must be an integer ≥ 1, got 0"],
  ["save_interval", -5, "save_interval: must be an integer ≥ 1, got -5"],
  ["save_interval_unsharded", 0, "save_interval_unsharded: must be an integer ≥ 1 or null, got 0"],
  [
    "save_num_checkpoints_to_keep",
    -2,
    "save_num_checkpoints_to_keep: must be -1 (keep all) or an integer ≥ 0, got -2",
  ],
  [
    "save_num_unsharded_checkpoints_to_keep",
    -3,
    "save_num_unsharded_checkpoints_to_keep: must be -1 (keep all) or an integer ≥ 0, got -3",
  ],
  ["load_path", "", 'load_path: must be a non-empty path or null, got ""'],
  ["global_train_batch_size", 0, "global_train_batch_size: must be an integer ≥ 1, got 0"],
  [
    "device_train_microbatch_size",
    0,
    "device_train_microbatch_size: must be an integer ≥ 1, got 0",
  ],
  ["device_eval_batch_size", 0, "device_eval_batch_size: must be an integer ≥ 1, got 0"],
  [
    "eval_subset_num_batches",
    0,
    "eval_subset_num_batches: must be -1 (all) or an integer ≥ 1, got 0",
  ],
  ["max_grad_norm", 0, "max_grad_norm: must be a finite number > 0 or null, got 0"],
  ["max_grad_norm", -1, "max_grad_norm: must be a finite number > 0 or null, got -1"],
  ["max_grad_norm_ratio", 0, "max_grad_norm_ratio: must be a finite number > 0 or null, got 0"],
  ["console_log_interval", 0, "console_log_interval: must be an integer ≥ 1, got 0"],
  ["time_limit", -1, "time_limit: must be a finite number ≥ 0 or null, got -1"],
  ["early_stopping_factor", 0, "early_stopping_factor: must be a finite number > 0 or null, got 0"],
  ["stop_at", 0, "stop_at: must be an integer ≥ 1 or null, got 0"],
  // Model.
  ["model.d_model", 0, "model.d_model: must be an integer ≥ 1, got 0"],
  ["model.d_model", 66, "model.d_model: must be divisible by model.n_heads (4), got 66"],
  ["model.n_heads", -4, "model.n_heads: must be an integer ≥ 1, got -4"],
  ["model.n_layers", 0, "model.n_layers: must be an integer ≥ 1, got 0"],
  ["model.mlp_ratio", 0, "model.mlp_ratio: must be an integer ≥ 1, got 0"],
  ["model.mlp_hidden_size", 0, "model.mlp_hidden_size: must be an integer ≥ 1 or null, got 0"],
  ["model.block_group_size", 0, "model.block_group_size: must be an integer ≥ 1, got 0"],
  [
    "model.block_group_size",
    3,
    "model.n_layers: must be divisible by model.block_group_size (3), got 2",
  ],
  ["model.max_sequence_length", 0, "model.max_sequence_length: must be an integer ≥ 1, got 0"],
  ["model.vocab_size", 0, "model.vocab_size: must be an integer ≥ 1, got 0"],
  ["model.embedding_size", 99, "model.embedding_size: must be ≥ model.vocab_size (100), got 99"],
  ["model.embedding_size", 0, "model.embedding_size: must be an integer ≥ 1 or null, got 0"],
  ["model.attention_dropout", 1, "model.attention_dropout: must be a number in [0, 1), got 1"],
  ["model.residual_dropout", -0.1, "model.residual_dropout: must be a number in [0, 1), got -0.1"],
  ["model.embedding_dropout", 1.5, "model.embedding_dropout: must be a number in [0, 1), got 1.5"],
  ["model.alibi_bias_max", 0, "model.alibi_bias_max: must be a finite number > 0, got 0"],
  ["model.init_std", 0, "model.init_std: must be a finite number > 0, got 0"],
  [
    "model.init_cutoff_factor",
    -3,
    "model.init_cutoff_factor: must be a finite number > 0 or null, got -3",
  ],
  [
    "model.eos_token_id",
    128,
    "model.eos_token_id: must be a token id in [0, 128) (the embedding rows), got 128",
  ],
  [
    "model.pad_token_id",
    -1,
    "model.pad_token_id: must be a token id in [0, 128) (the embedding rows), got -1",
  ],
  // Optimizer and scheduler.
  [
    "optimizer.learning_rate",
    -1e-4,
    "optimizer.learning_rate: must be a finite number ≥ 0, got -0.0001",
  ],
  ["optimizer.weight_decay", -0.1, "optimizer.weight_decay: must be a finite number ≥ 0, got -0.1"],
  ["optimizer.betas", [0.9, 1], "optimizer.betas[1]: must be a number in [0, 1), got 1"],
  [
    "optimizer.metrics_log_interval",
    0,
    "optimizer.metrics_log_interval: must be an integer ≥ 1 or null, got 0",
  ],
  ["scheduler.t_warmup", -1, "scheduler.t_warmup: must be an integer ≥ 0, got -1"],
  ["scheduler.t_max", 0, "scheduler.t_max: must be an integer ≥ 1 or null, got 0"],
  ["scheduler.alpha_f", 1.5, "scheduler.alpha_f: must be a number in [0, 1], got 1.5"],
  // Data and evaluators.
  ["data.paths", ["/data/a.npy", ""], 'data.paths[1]: must be a non-empty path, got ""'],
  ["data.num_workers", -1, "data.num_workers: must be an integer ≥ 0, got -1"],
  ["data.prefetch_factor", 0, "data.prefetch_factor: must be an integer ≥ 1 or null, got 0"],
  ["data.timeout", -1, "data.timeout: must be a finite number ≥ 0, got -1"],
  [
    "evaluators[0].device_eval_batch_size",
    0,
    "evaluators[0].device_eval_batch_size: must be an integer ≥ 1 or null, got 0",
  ],
  [
    "evaluators[0].subset_num_batches",
    -2,
    "evaluators[0].subset_num_batches: must be -1 (all) or an integer ≥ 1 or null, got -2",
  ],
  [
    "evaluators[0].data.paths",
    [" "],
    'evaluators[0].data.paths[0]: must be a non-empty path, got " "',
  ],
  [
    "evaluators[0].data.timeout",
    -2,
    "evaluators[0].data.timeout: must be a finite number ≥ 0, got -2",
  ],
  // The rest.
  ["tokenizer.identifier", "", 'tokenizer.identifier: must be a non-empty path, got ""'],
  ["wandb.log_interval", 0, "wandb.log_interval: must be an integer ≥ 1, got 0"],
  ["speed_monitor.window_size", 0, "speed_monitor.window_size: must be an integer ≥ 1, got 0"],
  [
    "speed_monitor.gpu_flops_available",
    -1,
    "speed_monitor.gpu_flops_available: must be a finite number > 0 or null, got -1",
  ],
  // OLMo later.
  ["epoch", -1, "epoch: must be an integer ≥ 0 or null, got -1"],
  ["model.n_kv_heads", 0, "model.n_kv_heads: must be an integer ≥ 1 or null, got 0"],
  ["model.n_kv_heads", 3, "model.n_kv_heads: must divide model.n_heads (4), got 3"],
  ["model.clip_qkv", 0, "model.clip_qkv: must be a finite number > 0 or null, got 0"],
  ["model.rope_theta", -1, "model.rope_theta: must be a finite number > 0, got -1"],
  ["model.layer_norm_eps", 0, "model.layer_norm_eps: must be a finite number > 0, got 0"],
  ["model.emb_init_std", -1, "model.emb_init_std: must be a finite number > 0 or null, got -1"],
  ["optimizer.eps", 0, "optimizer.eps: must be a finite number > 0, got 0"],
  [
    "scheduler.grad_clip_warmup_steps",
    -1,
    "scheduler.grad_clip_warmup_steps: must be a finite number ≥ 0 or null, got -1",
  ],
  [
    "scheduler.grad_clip_warmup_factor",
    0,
    "scheduler.grad_clip_warmup_factor: must be a finite number > 0 or null, got 0",
  ],
  [
    "scheduler.warmup_min_lr",
    -1,
    "scheduler.warmup_min_lr: must be a finite number ≥ 0 or null, got -1",
  ],
  ["data.seed", -1, "data.seed: must be an integer in [0, 2^32 - 1] or null, got -1"],
  [
    "data.instance_filter.repetition_max_period",
    0,
    "data.instance_filter.repetition_max_period: must be an integer ≥ 1, got 0",
  ],
  [
    "data.instance_filter.repetition_min_period",
    0,
    "data.instance_filter.repetition_min_period: must be an integer ≥ 1, got 0",
  ],
  [
    "data.instance_filter.repetition_max_count",
    0,
    "data.instance_filter.repetition_max_count: must be an integer ≥ 1, got 0",
  ],
  [
    "save_interval_ephemeral",
    0,
    "save_interval_ephemeral: must be an integer ≥ 1 or null, got 0",
  ],
  ["gen1_gc_interval", 0, "gen1_gc_interval: must be an integer ≥ 1 or null, got 0"],
  [
    "fsdp.hybrid_sharding_num_model_replicas",
    0,
    "fsdp.hybrid_sharding_num_model_replicas: must be an integer ≥ 1 or null, got 0",
  ],
  [
    "auxiliary_loss_multiplier",
    -1,
    "auxiliary_loss_multiplier: must be a finite number ≥ 0 or null, got -1",
  ],
  [
    "extra_steps_after_cancel",
    -1,
    "extra_steps_after_cancel: must be an integer ≥ 0, got -1",
  ],
  ["stop_after", 0, "stop_after: must be an integer ≥ 1 or null, got 0"],
  [
    "module_outputs_save_steps[0]",
    -2,
    "module_outputs_save_steps[0]: must be an integer ≥ 0, got -2",
  ],
];

Deno.test("config checks: the base config passes, each bad value gives its message", async () => {
  assert.deepEqual(trainConfigViolations(await trainConfigFromObject(baseObject())), []);
  for (const [key, value, message] of TABLE) {
    const cfg = await trainConfigFromObject(withKey(baseObject(), key, value));
    assert.deepEqual(trainConfigViolations(cfg), [message], `${key} = ${JSON.stringify(value)}`);
  }
});

Deno.test("config checks: every violation at once, named with the source", async () => {
  const obj = withKey(withKey(baseObject(), "save_interval", 0), "model.init_std", -1);
  const cfg = await trainConfigFromObject(obj);
  assert.throws(
    () => checkTrainConfig(cfg, { source: "run.yaml" }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message ===
        "run.yaml: 2 invalid settings:\n  save_interval: must be an integer ≥ 1, got 0\n" +
          "  model.init_std: must be a finite number > 0, got -1",
  );
});

Deno.test("config checks: a save_folder that is a file is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-checks-" });
  try {
    const file = join(dir, "run");
    await Deno.writeTextFile(file, "not a folder");
    const cfg = await trainConfigFromObject(withKey(baseObject(), "save_folder", file));
    assert.deepEqual(trainConfigViolations(cfg), [
      `save_folder: must be a folder, but ${file} is a file`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config checks: the batch must split over the ranks, then into micro-batches", async () => {
  const cfg = await trainConfigFromObject(withKey(baseObject(), "global_train_batch_size", 12));
  assert.deepEqual(trainConfigViolations(cfg, { worldSize: 1 }), []); // 12 = 6 × 2
  assert.deepEqual(trainConfigViolations(cfg, { worldSize: 5 }), [
    "global_train_batch_size: must be a multiple of the world size (5), got 12",
  ]);
  const four = withKey(
    withKey(baseObject(), "global_train_batch_size", 12),
    "device_train_microbatch_size",
    4,
  );
  assert.deepEqual(trainConfigViolations(await trainConfigFromObject(four), { worldSize: 2 }), [
    "global_train_batch_size: must split into whole micro-batches of " +
    "device_train_microbatch_size (4), got 12 / 2 ranks = 6 per rank",
  ]);
  // A rank batch no larger than one micro-batch is one chunk (OLMo's split_batch).
  assert.deepEqual(trainConfigViolations(await trainConfigFromObject(four), { worldSize: 4 }), []);
});

Deno.test("config checks: every shipped config passes", async () => {
  registerCorpusResolvers();
  const dirs = [join(REPO_ROOT, "configs"), join(REPO_ROOT, "configs", "bench")];
  let n = 0;
  for (const dir of dirs) {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".yaml")) continue;
      const cfg = await loadTrainConfig(join(dir, e.name), { validatePaths: false });
      assert.deepEqual(trainConfigViolations(cfg), [], e.name);
      n++;
    }
  }
  assert.ok(n >= 10, `${n} configs`);
});

Deno.test("runTraining refuses a bad setting before building anything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-checks-" });
  try {
    const obj = withKey(baseObject(), "device_train_microbatch_size", -1);
    const cfg = await trainConfigFromObject(withKey(obj, "save_folder", join(dir, "run")));
    await assert.rejects(
      runTraining(cfg, { configPath: "bad.yaml" }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message === "bad.yaml: device_train_microbatch_size: must be an integer ≥ 1, got -1",
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Dotted paths of every int and float setting of the schema (list items as `[0]`). */
function numericKeys(schema: ObjectSchema, prefix = ""): string[] {
  const out: string[] = [];
  const visit = (field: FieldSchema, key: string) => {
    if (field.kind === "int" || field.kind === "float") out.push(key);
    else if (field.kind === "tuple") {
      if (field.items.some((i) => i.kind === "int" || i.kind === "float")) out.push(key);
    } else if (field.kind === "object") out.push(...numericKeys(field.schema, `${key}.`));
    else if (field.kind === "list") visit(field.item, `${key}[0]`);
  };
  for (const [name, field] of Object.entries(schema.fields)) visit(field, `${prefix}${name}`);
  return out;
}

Deno.test("config checks: the table has a row for every numeric setting of the schema", () => {
  // Derived at start-up from other settings (deriveTrainConfig), never set by a user.
  const derived = ["device_train_batch_size", "device_train_grad_accum"];
  const rows = new Set(TABLE.map(([key]) => key));
  const keys = numericKeys(TRAIN_CONFIG_SCHEMA);
  for (const k of ["save_interval", "model.init_std", "optimizer.betas", "wandb.log_interval"]) {
    assert.ok(keys.includes(k), `the schema walk misses ${k}`);
  }
  assert.ok(keys.includes("evaluators[0].data.timeout"), keys.join(", "));
  const missing = keys.filter((k) => !derived.includes(k))
    // An evaluator's data section is checked by the same rules as `data`.
    .map((k) => k.replace(/^evaluators\[0\]\.data\./, "data."))
    .filter((k) => !rows.has(k));
  assert.deepEqual([...new Set(missing)], []);
});
