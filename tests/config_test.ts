/**
 * Config system: YAML loading, OmegaConf-style interpolation (after overrides), OLMo-style
 * command-line overrides, every error class, OLMo's own config files, the ported configs,
 * save/load round trips, start-up derivations and OLMo's `tests/config_test.py` checklist.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir, REPO_ROOT } from "./_shared.ts";
import {
  buildCli,
  ConfigError,
  configFieldsHelp,
  defaultTrainConfig,
  deriveTrainConfig,
  durationToSteps,
  findLatestCheckpoint,
  loadConfigSection,
  loadTrainConfig,
  overridesFromArgs,
  parseDuration,
  parseTrainArgs,
  registerResolver,
  saveTrainConfig,
  tfjsCompatibilityWarnings,
  trainConfigFromObject,
} from "../lib/config/mod.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "olmo_ts_config_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `text` to `dir/name` and returns the path. */
async function writeText(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
  return path;
}

/** Asserts that `promise` rejects with a ConfigError whose message contains every fragment. */
async function rejectsWith(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${f}' not in: ${e.message}`);
    return true;
  });
}

Deno.test("interpolation: references keep their type and resolve after overrides", async () => {
  await withTempDir(async (dir) => {
    const path = await writeText(
      dir,
      "c.yaml",
      [
        "run_name: base",
        "save_interval: 500",
        "eval_interval: ${save_interval}",
        "save_folder: /runs/${run_name}/s${seed}",
        "device_eval_batch_size: ${device_train_microbatch_size}",
        "wandb: {name: '${run_name}', log_interval: '${console_log_interval}'}",
        "evaluators: [{label: '${run_name}-eval', data: {paths: '${data.paths}'}}]",
        "data: {paths: [a.npy, b.npy]}",
      ].join("\n"),
    );
    const plain = await loadTrainConfig(path);
    assert.equal(plain.eval_interval, 500);
    assert.equal(plain.save_folder, "/runs/base/s6198");
    assert.equal(plain.device_eval_batch_size, 16);
    assert.deepEqual(plain.evaluators[0].data.paths, ["a.npy", "b.npy"]);
    const cfg = await loadTrainConfig(path, {
      overrides: ["--run_name=x", "--save_interval=7", "--seed=3", "--console_log_interval=4"],
    });
    assert.equal(cfg.wandb?.name, "x");
    assert.equal(cfg.wandb?.log_interval, 4);
    assert.equal(cfg.evaluators[0].label, "x-eval");
    assert.equal(cfg.eval_interval, 7);
    assert.equal(cfg.save_folder, "/runs/x/s3");
  });
});

Deno.test("interpolation: oc.env with defaults, nested defaults and missing variables", async () => {
  const set = "OLMO_TS_CFG_TEST_SET";
  const unset = "OLMO_TS_CFG_TEST_UNSET";
  Deno.env.set(set, "from-env");
  Deno.env.delete(unset);
  try {
    const cfg = await trainConfigFromObject({
      run_name: "rn",
      save_folder: `\${oc.env:${set}}`,
      load_path: `\${oc.env:${unset},\${run_name}/ckpt}`,
      remote_save_folder: `\${oc.env:${unset},null}`,
      tokenizer: { identifier: `\${oc.env:${unset}, spaced }` },
      seed: `\${oc.env:${unset},42}`,
    });
    assert.equal(cfg.save_folder, "from-env");
    assert.equal(cfg.load_path, "rn/ckpt");
    assert.equal(cfg.remote_save_folder, null);
    assert.equal(cfg.tokenizer.identifier, "spaced");
    assert.equal(cfg.seed, 42);
    await rejectsWith(
      trainConfigFromObject({ run_name: `\${oc.env:${unset}}` }, { source: "obj" }),
      "obj",
      "run_name",
      `\${oc.env:${unset}}`,
      unset,
    );
  } finally {
    Deno.env.delete(set);
  }
});

Deno.test("interpolation: path.glob, path.choose, nesting and validatePaths", async () => {
  await withTempDir(async (dir) => {
    for (const f of ["b/c.2.npy", "b/c.10.npy", "b/c.1.npy", "b/.c.3.npy", "b/x.npy", "a/z.npy"]) {
      await writeText(dir, f, "");
    }
    await writeText(dir, "b/deep/er/c.9.npy", "");
    const glob = async (expr: string, validatePaths = true) =>
      (await trainConfigFromObject({ data: { paths: expr } }, { validatePaths })).data.paths;
    // Sorted within a pattern, concatenated in pattern order; hidden files are skipped.
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/c.*.npy,${dir}/a/*.npy}`), [
      `${dir}/b/c.1.npy`,
      `${dir}/b/c.10.npy`,
      `${dir}/b/c.2.npy`,
      `${dir}/a/z.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/c.?.npy}`), [
      `${dir}/b/c.1.npy`,
      `${dir}/b/c.2.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/[!c]*}`), [
      `${dir}/b/deep`,
      `${dir}/b/x.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/c.[0-1]*.npy}`), [
      `${dir}/b/c.1.npy`,
      `${dir}/b/c.10.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/**/c.9.npy}`), [`${dir}/b/deep/er/c.9.npy`]);
    await rejectsWith(glob(`\${path.glob:${dir}/nothing/*.npy}`), "data.paths", "nothing/*.npy");
    assert.deepEqual(await glob(`\${path.glob:${dir}/nothing/*.npy}`, false), []);
    // Nested: choose (env default) → glob.
    const env = "OLMO_TS_CFG_TEST_ROOT";
    Deno.env.delete(env);
    const nested = `\${path.glob:\${path.choose:\${oc.env:${env},no_exist}/a,${dir}/b}/c.*.npy}`;
    assert.equal((await glob(nested))?.length, 3);
    Deno.env.set(env, dir);
    try {
      assert.deepEqual(await glob(nested.replace("c.*.npy", "*.npy")), [`${dir}/a/z.npy`]);
    } finally {
      Deno.env.delete(env);
    }
    const choose = async (args: string, validatePaths = true) =>
      (await trainConfigFromObject({ save_folder: `\${path.choose:${args}}` }, { validatePaths }))
        .save_folder;
    assert.equal(await choose(`/no/such,s3://bucket/x,${dir}`), "s3://bucket/x");
    assert.equal(await choose(`/no/such, ${dir}/a`), `${dir}/a`);
    assert.equal(await choose("/no/such,/no/other", false), "");
    await rejectsWith(choose("/no/such,/no/other"), "save_folder", "/no/such, /no/other");
    // Whole-string interpolation keeps the list; embedded in a string it is stringified.
    const embedded = await trainConfigFromObject({
      run_name: `n=\${path.glob:${dir}/a/*.npy}`,
    });
    assert.equal(embedded.run_name, `n=${JSON.stringify([`${dir}/a/z.npy`])}`);
  });
});

Deno.test("interpolation: relative glob patterns are relative to the working directory", async () => {
  const expected: string[] = [];
  for await (const e of Deno.readDir(".")) {
    if (e.name.endsWith(".md") && !e.name.startsWith(".")) expected.push(e.name);
  }
  const cfg = await trainConfigFromObject(
    { data: { paths: "${path.glob:*.md}" } },
    { validatePaths: false },
  );
  assert.deepEqual(cfg.data.paths, expected.sort());
});

Deno.test("path.last_checkpoint and findLatestCheckpoint: highest step, sharded wins a tie", async () => {
  await withTempDir(async (dir) => {
    assert.equal(await findLatestCheckpoint(join(dir, "missing")), null);
    assert.equal(await findLatestCheckpoint(dir), null);
    const last = (validatePaths = true) =>
      trainConfigFromObject({ load_path: `\${path.last_checkpoint:${dir}}` }, { validatePaths });
    assert.equal((await last(false)).load_path, "");
    await rejectsWith(last(), "load_path", dir);
    for (const d of ["step10", "step20-unsharded", "step9", "step100-tmp", "latest", "stepx"]) {
      await Deno.mkdir(join(dir, d));
    }
    await writeText(dir, "step999", "a file, not a checkpoint");
    assert.equal(await findLatestCheckpoint(dir), join(dir, "step20-unsharded"));
    await Deno.mkdir(join(dir, "step20"));
    assert.equal((await last()).load_path, join(dir, "step20"));
    await Deno.mkdir(join(dir, "step30-unsharded"));
    assert.equal(await findLatestCheckpoint(dir), join(dir, "step30-unsharded"));
  });
});

Deno.test("interpolation: custom async resolvers, quoting, escapes and errors", async () => {
  const seen: { validatePaths: boolean; configPath: string }[] = [];
  registerResolver("test.join", async (args, ctx) => {
    seen.push(ctx);
    await new Promise((r) => setTimeout(r, 1));
    return args.join("|");
  });
  await withTempDir(async (dir) => {
    const path = await writeText(
      dir,
      "c.yaml",
      [
        "run_name: \"${test.join:'a,b', c ,${seed}}\"",
        "save_folder: 'literal \\${not_a_key}'",
      ].join("\n"),
    );
    const cfg = await loadTrainConfig(path, { validatePaths: false });
    assert.equal(cfg.run_name, "a,b|c|6198");
    assert.equal(cfg.save_folder, "literal ${not_a_key}");
    assert.deepEqual(seen.at(-1), { validatePaths: false, configPath: path });
    const bad = async (value: string, ...fragments: string[]) => {
      await writeText(dir, "bad.yaml", `run_name: "${value}"\n`);
      await rejectsWith(loadTrainConfig(join(dir, "bad.yaml")), "bad.yaml", ...fragments);
    };
    await bad("${test.jion:x}", "run_name", "unknown resolver 'test.jion'", "test.join");
    await bad("${model.d_modle}", "run_name", "${model.d_modle}", "not found");
    await bad("${save_folder", "run_name", "malformed");
    await writeText(dir, "cycle.yaml", "run_name: ${save_folder}\nsave_folder: ${run_name}\n");
    await rejectsWith(loadTrainConfig(join(dir, "cycle.yaml")), "cycle", "run_name");
  });
});

Deno.test("overrides: nested keys, lists, bare flags, dashes, null and new sections", async () => {
  const cfg = await trainConfigFromObject({ evaluators: [{ label: "a" }, { label: "b" }] }, {
    overrides: [
      "--optimizer.learning_rate=0.0001",
      "--optimizer.betas=[0.8,0.99]",
      "--data.paths=[a.npy,b.npy]",
      "--save-overwrite",
      "--no-pre-train-checkpoint",
      "--max_grad_norm=null",
      "--model.n_layers=2",
      "--wandb.project=p",
      "--evaluators.1.subset_num_batches=3",
      "--data.datasets={x-y: [c.npy]}",
      "--dry_run=false",
      "--backend=wasm",
      "max_duration=2e9T",
    ],
  });
  assert.equal(cfg.optimizer.learning_rate, 0.0001);
  assert.deepEqual(cfg.optimizer.betas, [0.8, 0.99]);
  assert.deepEqual(cfg.data.paths, ["a.npy", "b.npy"]);
  assert.equal(cfg.save_overwrite, true);
  assert.equal(cfg.no_pre_train_checkpoint, true);
  assert.equal(cfg.max_grad_norm, null);
  assert.equal(cfg.model.n_layers, 2);
  assert.equal(cfg.model.d_model, 768);
  assert.equal(cfg.wandb?.project, "p");
  assert.equal(cfg.wandb?.entity, "ai2-llm");
  assert.equal(cfg.evaluators[1].subset_num_batches, 3);
  assert.deepEqual(cfg.data.datasets, { "x-y": ["c.npy"] });
  assert.equal(cfg.dry_run, false);
  assert.equal(cfg.backend, "wasm");
  assert.equal(cfg.max_duration, "2e9T");
  const cleared = await trainConfigFromObject({ evaluators: [{ label: "a" }] }, {
    overrides: ["--evaluators=[]", "--wandb=null"],
  });
  assert.deepEqual(cleared.evaluators, []);
  assert.equal(cleared.wandb, null);
});

Deno.test("overrides: strings from the command line are coerced against the schema", async () => {
  const cfg = await trainConfigFromObject({
    seed: "3",
    dry_run: "yes",
    save_overwrite: "false",
    optimizer: { learning_rate: "1e-4" },
    run_name: 12,
  });
  assert.equal(cfg.seed, 3);
  assert.equal(cfg.dry_run, true);
  assert.equal(cfg.save_overwrite, false);
  assert.equal(cfg.optimizer.learning_rate, 1e-4);
  assert.equal(cfg.run_name, "12");
});

Deno.test("cli: parseTrainArgs and the reusable yargs helpers", () => {
  const args = parseTrainArgs([
    "configs/c4-tiny.yaml",
    "--optimizer.learning_rate=0.0001",
    "--save-overwrite",
    "--data.paths=[a,b]",
    "--backend",
    "webgpu",
    "--model.n_layers",
    "4",
    "seed=5",
  ]);
  assert.equal(args.configPath, "configs/c4-tiny.yaml");
  assert.equal(args.help, false);
  assert.deepEqual(
    new Set(args.overrides),
    new Set([
      "optimizer.learning_rate=0.0001",
      "save_overwrite=true",
      "data.paths=[a,b]",
      "backend=webgpu",
      "model.n_layers=4",
      "seed=5",
    ]),
  );
  assert.equal(parseTrainArgs(["--help"]).help, true);
  assert.equal(parseTrainArgs(["-h", "c.yaml"]).configPath, "c.yaml");
  assert.throws(() => parseTrainArgs(["--dry_run", "c.yaml"]), /put the config first/);
  assert.throws(() => parseTrainArgs([]), ConfigError);
  const parsed = buildCli("sample", ["--prompt", "hi", "--model.n_heads=2", "--quiet"])
    .option("prompt", { type: "string" })
    .parseSync();
  assert.equal(parsed.prompt, "hi");
  assert.deepEqual(overridesFromArgs(parsed, ["prompt"]), ["model.n_heads=2", "quiet=true"]);
  const help = configFieldsHelp();
  assert.match(help, /--optimizer\.learning_rate <float> \(default: 0\.0001\)/);
  assert.match(help, /--activation_checkpointing <whole_layer\|.*\| null>/);
});

Deno.test("errors: unknown keys name the source and suggest the closest key", async () => {
  await withTempDir(async (dir) => {
    const file = await writeText(dir, "c.yaml", "optimizer:\n  learnig_rate: 1\n");
    await rejectsWith(
      loadTrainConfig(file),
      file,
      "'optimizer.learnig_rate'",
      "did you mean 'optimizer.learning_rate'",
    );
    const top = await writeText(dir, "top.yaml", "learning_rate: 1\n");
    await rejectsWith(loadTrainConfig(top), "did you mean 'optimizer.learning_rate'");
    const far = await writeText(dir, "far.yaml", "tokenizer:\n  zzzzzzzz: 1\n");
    await rejectsWith(loadTrainConfig(far), "valid keys of TokenizerConfig: identifier");
    const ok = await writeText(dir, "ok.yaml", "seed: 1\n");
    await rejectsWith(
      loadTrainConfig(ok, { overrides: ["--model.n_layer=2"] }),
      "command line",
      "did you mean 'model.n_layers'",
    );
    await rejectsWith(
      loadTrainConfig(ok, { overrides: ["--evaluators.0.label=x"] }),
      "command line",
      "has 0 items",
    );
    await rejectsWith(
      loadTrainConfig(ok, { overrides: ["--seed.x=1"] }),
      "command line",
      "'seed' has no key 'x'",
    );
    const scalar = await writeText(dir, "scalar.yaml", "model: 3\n");
    await rejectsWith(
      loadTrainConfig(scalar, { overrides: ["--model.n_layers=2"] }),
      "'model' is not a mapping",
    );
    await rejectsWith(
      loadTrainConfig(ok, { overrides: ["--data.paths=[a,"] }),
      "command line",
      "not valid YAML",
    );
  });
});

Deno.test("errors: wrong types, bad enums, nulls, tuples, missing label, bad YAML", async () => {
  await withTempDir(async (dir) => {
    const load = async (text: string, ...fragments: string[]) => {
      const path = await writeText(dir, "e.yaml", text);
      await rejectsWith(loadTrainConfig(path), path, ...fragments);
    };
    await load("seed: abc\n", "seed", "expected int", "'abc'");
    await load("model: 3\n", "model", "expected ModelConfig");
    await load("model:\n  d_model: 1.5\n", "model.d_model", "expected int");
    await load(
      "optimizer:\n  name: lion\n",
      "optimizer.name",
      "lionw, adamw",
      "did you mean 'lionw'",
    );
    await load("fsdp:\n  sharding_strategy: full_shard\n", "FULL_SHARD, SHARD_GRAD_OP");
    await load("optimizer:\n  betas: [0.9]\n", "optimizer.betas", "[float, float]");
    await load("save_folder: null\n", "save_folder", "may not be null");
    await load("data:\n  paths: a.npy\n", "data.paths", "expected list[str]");
    await load("data:\n  datasets:\n    x: [1, {a: 1}]\n", "data.datasets.x[1]", "expected str");
    await load("evaluators:\n  - type: lm\n", "evaluators[0].label", "missing required");
    await load("max_duration: 10 steps\n", "max_duration", "2e9T");
    await load("seed: [1\n", "invalid YAML");
    await load("seed: 1\nseed: 2\n", "invalid YAML");
    await load("- 1\n", "top level must be a mapping");
    Deno.env.set("OLMO_TS_CFG_TEST_NUM", "x1");
    try {
      await load("seed: ${oc.env:OLMO_TS_CFG_TEST_NUM}\n", "seed", "resolved from", "oc.env");
    } finally {
      Deno.env.delete("OLMO_TS_CFG_TEST_NUM");
    }
  });
  await rejectsWith(loadTrainConfig("/no/such/config.yaml"), "/no/such/config.yaml");
});

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

for (const name of OLMO_REFERENCE_CASES) {
  Deno.test({
    name: `OLMo fixture config loads: ${name}`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const path = join(referenceCaseDir(name), "config.yaml");
      const raw = parseYaml(await Deno.readTextFile(path)) as Record<string, unknown>;
      const cfg = await loadTrainConfig(path);
      // Every field OLMo wrote comes back with the same value (olmo-ts's additions aside).
      const { backend, ...olmoFields } = structuredClone(cfg);
      delete (olmoFields.data as Partial<typeof cfg.data>).memmap_dtype;
      assert.equal(backend, "auto");
      assert.equal(cfg.data.memmap_dtype, "uint16");
      assert.deepEqual(olmoFields, raw);
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
        assert.deepEqual(Object.keys(saved).filter((k) => k !== "backend"), Object.keys(raw));
        assert.deepEqual(Object.keys(saved.model), Object.keys(raw.model as object));
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
  const small = loaded.get("c4-small.yaml")!;
  assert.equal(small.model.attention_layer_norm, true);
  assert.equal(small.max_duration, 47684);
  assert.equal(small.wandb?.project, "c4-small");
  const debug = loaded.get("c4-extra-tiny-debug.yaml")!;
  assert.deepEqual([debug.model.d_model, debug.global_train_batch_size], [256, 16]);
  assert.equal(debug.precision, "fp32");
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
