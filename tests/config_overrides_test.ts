/**
 * Config overrides and errors (spec §1.1): OLMo-style `--a.b=value` overrides, coercion of
 * command-line strings, the shared yargs helpers, and every error class (unknown key with the
 * closest valid key, wrong type, bad enum value, null, bad YAML) naming the source and key path.
 */
import assert from "node:assert/strict";
import {
  buildCli,
  ConfigError,
  configFieldsHelp,
  loadTrainConfig,
  overridesFromArgs,
  trainConfigFromObject,
} from "../lib/config/mod.ts";
import { parseTrainArgs } from "../lib/command/mod.ts";
import { rejectsWith, writeText } from "./_config_helpers.ts";
import { withTempDir } from "./_temp_dir.ts";

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
      const env = (name: string) => (name === "OLMO_TS_CFG_TEST_NUM" ? "x1" : undefined);
      await rejectsWith(loadTrainConfig(path, { env }), path, ...fragments);
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
    await load("seed: ${oc.env:OLMO_TS_CFG_TEST_NUM}\n", "seed", "resolved from", "oc.env");
  });
  await rejectsWith(loadTrainConfig("/no/such/config.yaml"), "/no/such/config.yaml");
});
