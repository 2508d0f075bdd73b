/**
 * Loading real configs and saving: legacy keys OLMo accepts, OLMo's own fixture `config.yaml`
 * files, the ported `configs/*.yaml`, save/load round trips (OLMo's `tests/config_test.py`
 * checklist), start-up derivations, `max_duration` and the TensorFlow.js compatibility warnings.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir, REPO_ROOT } from "./_shared.ts";
import {
  ConfigError,
  defaultTrainConfig,
  deriveTrainConfig,
  durationToSteps,
  loadConfigSection,
  loadTrainConfig,
  parseDuration,
  saveTrainConfig,
  tfjsCompatibilityWarnings,
  trainConfigFromObject,
} from "../lib/config/mod.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { rejectsWith, writeText } from "./_config_helpers.ts";
import { withTempDir } from "./_temp_dir.ts";

Deno.test("legacy keys OLMo accepts: activation_checkpointing bools, decoupled_lionw", async () => {
  await withTempDir(async (dir) => {
    // Like OLMo's test_fixtures/test-olmo-model/config.yaml: an older, partial TrainConfig.
    const old = await writeText(
      dir,
      "old.yaml",
      [
        "run_name: null",
        "model: {d_model: 32, n_heads: 1, n_layers: 1, init_device: null, precision: null}",
        "optimizer: {name: decoupled_lionw, eps: 1.0e-8, learning_rate: 0.0001}",
        "new_style_checkpoints: null",
        "tokenizer: {identifier: gpt2, truncate_direction: right}",
        "activation_checkpointing: false",
        "fsdp: {use_orig_params: true, sharding_strategy: FULL_SHARD}",
      ].join("\n"),
    );
    const cfg = await loadTrainConfig(old);
    assert.equal(cfg.activation_checkpointing, null);
    assert.equal(cfg.optimizer.name, "lionw");
    assert.equal(cfg.model.d_model, 32);
    assert.equal(cfg.model.mlp_ratio, 4);
    assert.deepEqual(await loadConfigSection(old, "tokenizer"), defaultTrainConfig().tokenizer);
    await rejectsWith(loadConfigSection(old, "scheduler"), old, "no 'scheduler' section");
    const on = await loadTrainConfig(old, { overrides: ["--activation_checkpointing=true"] });
    assert.equal(on.activation_checkpointing, "whole_layer");
  });
});

/** True for a non-null, non-array object. */
function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value` cut down to the keys of `like`, recursively (missing keys stay, as undefined). */
function withKeysOf(value: unknown, like: unknown): unknown {
  if (Array.isArray(value) && Array.isArray(like)) {
    return value.map((v, i) => withKeysOf(v, like[i]));
  }
  if (!isMapping(value) || !isMapping(like)) return value;
  return Object.fromEntries(Object.keys(like).map((k) => [k, withKeysOf(value[k], like[k])]));
}

/** `a.b` paths of the mapping keys `value` has and `like` lacks, with their values. */
function extraKeys(value: unknown, like: unknown, prefix = ""): [string, unknown][] {
  if (Array.isArray(value) && Array.isArray(like)) {
    return value.flatMap((v, i) => extraKeys(v, like[i], `${prefix}${i}.`));
  }
  if (!isMapping(value) || !isMapping(like)) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k in like ? extraKeys(v, like[k], `${prefix}${k}.`) : [[`${prefix}${k}`, v]]
  );
}

for (const name of OLMO_REFERENCE_CASES) {
  Deno.test({
    name: `OLMo fixture config loads: ${name}`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const path = join(referenceCaseDir(name), "config.yaml");
      const raw = parseYaml(await Deno.readTextFile(path)) as Record<string, unknown>;
      const cfg = await loadTrainConfig(path);
      // Every field OLMo wrote comes back with the same value; olmo-ts's own additions (backend,
      // data.memmap_dtype, ...) hold their defaults.
      assert.deepEqual(withKeysOf(cfg, raw), raw);
      const extras = extraKeys(cfg, raw);
      assert.ok(extras.some(([k]) => k === "backend"), "backend is an olmo-ts addition");
      const defaults = defaultTrainConfig();
      for (const [key, value] of extras) {
        // evaluators.N.data.x has the default of data.x (DataConfig).
        const path = key.replace(/^evaluators\.\d+\./, "").split(".");
        const dflt = path.reduce<unknown>(
          (node, k) => (node as Record<string, unknown>)[k],
          defaults,
        );
        assert.deepEqual(value, dflt, `olmo-ts addition ${key}`);
      }
      const model = await loadConfigSection(path, "model", { overrides: ["n_layers=5"] });
      assert.equal(model.vocab_size, 250);
      assert.equal(model.embedding_size, 256);
      assert.equal(model.max_sequence_length, 32);
      assert.equal(model.n_layers, 5);
      assert.equal(model.rope, name === "rope-swiglu-seq");
      assert.equal(model.multi_query_attention, name === "alibi-mqa-parallel-gelu");
      assert.equal(cfg.optimizer.name, name === "rope-swiglu-seq" ? "adamw" : "lionw");
      assert.equal(
        (await loadConfigSection(path, "model", { overrides: ["model.n_heads=2"] })).n_heads,
        2,
      );
      assert.equal((await loadConfigSection(path, "tokenizer")).identifier, "gpt2");
      // Saving writes OLMo's keys in OLMo's order, plus olmo-ts's additions.
      await withTempDir(async (dir) => {
        await saveTrainConfig(cfg, join(dir, "config.yaml"));
        const saved = parseYaml(await Deno.readTextFile(join(dir, "config.yaml")));
        assert.deepEqual(Object.keys(saved).filter((k) => k in raw), Object.keys(raw));
        const rawModel = raw.model as object;
        assert.deepEqual(
          Object.keys(saved.model).filter((k) => k in rawModel),
          Object.keys(rawModel),
        );
        assert.deepEqual(await loadTrainConfig(join(dir, "config.yaml")), cfg);
      });
    },
  });
}

Deno.test("every configs/*.yaml loads without validating paths", async () => {
  registerCorpusResolvers(); // configs may name the embedded corpus (`${corpus.tokens:brown}`)
  const dir = join(REPO_ROOT, "configs");
  const loaded = new Map<string, Awaited<ReturnType<typeof loadTrainConfig>>>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".yaml")) continue;
    loaded.set(e.name, await loadTrainConfig(join(dir, e.name), { validatePaths: false }));
  }
  const ported = [
    "c4-tiny",
    "c4-small",
    "c4-medium",
    "c4-large",
    "c4-extra-tiny-debug",
    "olmo-small-ablation",
    "v1-mix-small",
    "v1-mix-medium",
  ];
  for (const n of ported) assert.ok(loaded.has(`${n}.yaml`), n);
  const tiny = loaded.get("c4-tiny.yaml")!;
  assert.deepEqual(
    [tiny.model.d_model, tiny.model.n_heads, tiny.model.n_layers, tiny.model.mlp_ratio],
    [1024, 16, 16, 8],
  );
  assert.ok(tiny.model.alibi && tiny.model.multi_query_attention);
  assert.equal(tiny.model.layer_norm_type, "low_precision");
  assert.equal(tiny.model.init_device, "meta");
  assert.equal(tiny.max_duration, 3814697);
  assert.equal(tiny.wandb?.log_interval, 20);
  assert.equal(tiny.eval_interval, tiny.save_interval);
  assert.equal(tiny.device_eval_batch_size, 16);
  assert.deepEqual(tiny.optimizer.betas, [0.9, 0.95]);
  // The rest of spec §10's c4-tiny list.
  assert.deepEqual(
    [tiny.optimizer.name, tiny.optimizer.learning_rate, tiny.optimizer.weight_decay],
    ["lionw", 3e-4, 0.01],
  );
  assert.deepEqual(
    [tiny.scheduler.name, tiny.scheduler.t_warmup, tiny.scheduler.alpha_f],
    ["cosine_with_warmup", 100, 0.1],
  );
  assert.deepEqual(
    [tiny.global_train_batch_size, tiny.device_train_microbatch_size, tiny.precision],
    [512, 16, "amp_bf16"],
  );
  assert.equal(tiny.max_grad_norm, 1.0);
  assert.deepEqual(
    [tiny.save_interval, tiny.save_num_checkpoints_to_keep, tiny.save_interval_unsharded],
    [1000, 2, 100000],
  );
  assert.deepEqual([tiny.console_log_interval, tiny.speed_monitor.window_size], [20, 20]);
  assert.deepEqual(
    [tiny.model.attention_dropout, tiny.model.residual_dropout, tiny.model.embedding_dropout],
    [0, 0, 0],
  );
  assert.deepEqual([tiny.model.activation_type, tiny.model.max_sequence_length], ["swiglu", 1024]);
  assert.equal(tiny.wandb?.name, tiny.run_name);
  assert.equal(tiny.evaluators.length, 14); // c4, rp, small-ppl + 11 downstream tasks
  assert.equal(tiny.evaluators.filter((e) => e.type === "downstream").length, 11);
  // Spec §10's c4-small list.
  const small = loaded.get("c4-small.yaml")!;
  assert.deepEqual(
    [small.model.d_model, small.model.max_sequence_length, small.model.attention_layer_norm],
    [2048, 2048, true],
  );
  assert.deepEqual([small.optimizer.learning_rate, small.scheduler.t_warmup], [2e-4, 2000]);
  assert.deepEqual([small.global_train_batch_size, small.device_train_microbatch_size], [2048, 8]);
  assert.equal(small.max_duration, 47684);
  assert.deepEqual([small.save_num_checkpoints_to_keep, small.save_interval_unsharded], [9, 10000]);
  assert.equal(small.wandb?.project, "c4-small");
  // Spec §10's c4-extra-tiny-debug list.
  const debug = loaded.get("c4-extra-tiny-debug.yaml")!;
  const m = debug.model;
  assert.deepEqual([m.d_model, m.n_heads, m.n_layers, m.mlp_ratio], [256, 4, 5, 4]);
  assert.deepEqual([m.alibi, m.multi_query_attention, m.max_sequence_length], [true, false, 2048]);
  assert.deepEqual([debug.global_train_batch_size, debug.device_train_microbatch_size], [16, 4]);
  assert.deepEqual([debug.precision, debug.max_duration], ["fp32", 1708984]);
  assert.deepEqual(
    [debug.eval_interval, debug.save_overwrite, debug.console_log_interval],
    [50, true, 10],
  );
  assert.equal(loaded.get("c4-large.yaml")!.activation_checkpointing, "whole_layer");
});

Deno.test("save/load round trip (OLMo config_test checklist)", async () => {
  await withTempDir(async (dir) => {
    const cfg = defaultTrainConfig();
    cfg.model.n_layers = 5;
    cfg.run_name = "has ${literal} text";
    cfg.max_duration = "2e9T";
    cfg.wandb = { ...(await trainConfigFromObject({ wandb: {} })).wandb!, tags: ["a", "true"] };
    cfg.evaluators = (await trainConfigFromObject({
      evaluators: [{ label: "e", data: { datasets: { x: ["1"] } } }],
    })).evaluators;
    const path = join(dir, "conf.yaml");
    await saveTrainConfig(cfg, path);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["conf.yaml"]);
    const loaded = await loadTrainConfig(path);
    assert.deepEqual(loaded, cfg);
    const two = await loadTrainConfig(path, { overrides: ["model.n_layers=2"] });
    assert.notDeepEqual(two, cfg);
    assert.equal(two.model.n_layers, 2);
    assert.equal((await trainConfigFromObject({ seed: 2 })).seed, 2);
    assert.deepEqual(await trainConfigFromObject({}), defaultTrainConfig());
    const enumValue: string = loaded.optimizer.name;
    assert.equal(enumValue, "lionw");
    // A fully resolved port round-trips too.
    const tiny = await loadTrainConfig(join(REPO_ROOT, "configs", "c4-tiny.yaml"), {
      validatePaths: false,
    });
    await saveTrainConfig(tiny, path);
    assert.deepEqual(await loadTrainConfig(path), tiny);
    const bogus = { ...defaultTrainConfig(), bogus: 1 } as unknown as typeof cfg;
    await assert.rejects(saveTrainConfig(bogus, path), /unknown key 'bogus'/);
  });
});

Deno.test("deriveTrainConfig: OLMo's start-up derivations", () => {
  const cfg = defaultTrainConfig();
  cfg.precision = "amp_bf16";
  cfg.optimizer.no_decay_norm_and_bias = true;
  const d = deriveTrainConfig(cfg, 4);
  assert.equal(d.device_train_batch_size, 128);
  assert.equal(d.device_train_grad_accum, 8);
  assert.equal(d.model.precision, "amp_bf16");
  assert.deepEqual(
    [
      d.optimizer.decay_norm_and_bias,
      d.optimizer.decay_embeddings,
      d.optimizer.no_decay_norm_and_bias,
    ],
    [false, false, null],
  );
  assert.equal(cfg.device_train_batch_size, null);
  assert.throws(() => deriveTrainConfig(cfg, 3), /512.*not|multiple of the world size \(3\)/);
  cfg.precision = "bf16";
  assert.throws(() => deriveTrainConfig(cfg, 1), /amp_bf16, amp_fp16, fp32/);
});

Deno.test("max_duration: steps or token budgets (OLMo's later semantics)", () => {
  assert.deepEqual(parseDuration(10000), { steps: 10000 });
  assert.deepEqual(parseDuration("1e4"), { steps: 10000 });
  assert.deepEqual(parseDuration("2e9T"), { tokens: 2e9 });
  assert.throws(() => parseDuration("abc"), ConfigError);
  assert.throws(() => parseDuration(1.5), ConfigError);
  // c4-tiny: 2T tokens at 512 x 1024 tokens per step is OLMo's max_duration 3814697.
  const ctx = { globalTrainBatchSize: 512, sequenceLength: 1024 };
  assert.equal(durationToSteps("2e12T", ctx), 3814697);
  assert.equal(
    durationToSteps("2e12T", { ...ctx, globalStep: 100, tokensSeen: 100 * 512 * 1024 }),
    3814697,
  );
  assert.equal(durationToSteps(5, ctx), 5);
});

Deno.test("tfjsCompatibilityWarnings: one line per setting without effect", async () => {
  assert.deepEqual(tfjsCompatibilityWarnings(defaultTrainConfig()), []);
  const cfg = await trainConfigFromObject({
    precision: "amp_bf16",
    compile: { mode: "default" },
    fsdp: { sharding_strategy: "NO_SHARD" },
    model: { flash_attention: true, init_device: "meta" },
    activation_checkpointing: "one_in_two",
    data: { num_workers: 4, pin_memory: true },
  });
  const w = tfjsCompatibilityWarnings(cfg);
  for (const key of ["amp_bf16", "compile", "fsdp.sharding_strategy", "flash_attention"]) {
    assert.ok(w.some((l) => l.includes(key)), key);
  }
  for (const key of ["activation_checkpointing", "init_device", "data.num_workers"]) {
    assert.ok(w.some((l) => l.includes(key)), key);
  }
  assert.ok(w.every((l) => !l.includes("\n")));
});
