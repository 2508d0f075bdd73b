/**
 * `cli/convert.ts` as a subprocess on synthetic checkpoints (spec §7.3): olmo-ts → OLMo
 * `model.pt` → olmo-ts is bit-exact; sharded inputs are joined; block-group renames follow
 * config.yaml (optimizer state included); errors. OLMo fixtures: `cli_convert_olmo_test.ts`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import {
  CheckpointManager,
  loadCheckpoint,
  readTorchStateDict,
  shardStateDicts,
  writeTorchStateDict,
} from "../lib/checkpoint/mod.ts";
import { flatLayout } from "../lib/distributed/zero/layout.ts";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { parameterSpecs } from "../lib/model/params.ts";
import type { OptimizerStateDict } from "../lib/optim/mod.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";
import { assertBitExact, assertExit, f32, listDir, makeBarrier, runCli } from "./_cli.ts";
import { tinyConfig } from "./_model_fixture.ts";

/** A config.yaml with the given model section. */
function configYaml(model: ModelConfig): string {
  return stringifyYaml({
    run_name: "convert-test",
    model,
    tokenizer: { identifier: "gpt2", truncate_direction: "right" },
  });
}

/** Every parameter of `config` with deterministic data, named with block groups of `groupSize`. */
function weights(config: ModelConfig, groupSize = config.block_group_size): NamedHostTensors {
  const specs = parameterSpecs({ ...config, block_group_size: groupSize });
  return new Map(specs.map((s, i) => [s.name, f32(s.shape, i + 1)]));
}

/** AdamW-like state for every parameter, and one param group holding them all. */
function optimizer(model: NamedHostTensors): OptimizerStateDict {
  const state: NamedHostTensors = new Map();
  let seed = 100;
  for (const [name, t] of model) {
    state.set(`${name}.exp_avg`, f32(t.shape, seed++));
    state.set(`${name}.step`, { dtype: "float32", shape: [], data: Float32Array.of(3) });
  }
  return {
    state,
    paramGroups: [{
      param_names: [...model.keys()].sort(),
      lr: 0.001,
      initial_lr: 0.001,
      weight_decay: 0.1,
      betas: [0.9, 0.95],
      eps: 1e-5,
      max_grad_norm: 1,
      max_grad_norm_ratio: null,
      sharded: false,
    }],
  };
}

const TRAINER = {
  global_step: 3,
  global_data_step: 3,
  global_train_examples_seen: 24,
  global_train_tokens_seen: 768,
  world_size: 1,
  checkpoints: [],
  unsharded_checkpoints: [],
};

Deno.test("convert: olmo-ts -> olmo (model.pt) -> olmo-ts is bit-exact", async () => {
  const root = await Deno.makeTempDir();
  const config = tinyConfig();
  const model = weights(config);
  const yaml = configYaml(config);
  const mgr = new CheckpointManager({ saveFolder: join(root, "run") });
  const src = await mgr.saveUnsharded(3, {
    model,
    optim: optimizer(model),
    trainer: TRAINER,
    config: yaml,
  });

  const olmo = join(root, "olmo");
  const toOlmo = await runCli("convert.ts", [src, olmo, "--to", "olmo"]);
  assertExit(toOlmo, 0);
  assert.match(toOlmo.stdout, /\(olmo-ts\) -> .* \(olmo\)/);
  assert.match(toOlmo.stdout, /dropped: optimizer state/);
  assert.match(toOlmo.stdout, /dropped: trainer state/);
  assert.deepEqual(listDir(olmo), ["config.yaml", "model.pt"]);
  assertBitExact(await readTorchStateDict(join(olmo, "model.pt")), model, "model.pt");
  assert.equal(await Deno.readTextFile(join(olmo, "config.yaml")), yaml);

  const back = join(root, "back");
  const toTs = await runCli("convert.ts", [olmo, back, "--to", "olmo-ts"]);
  assertExit(toTs, 0);
  assert.match(toTs.stdout, /\(olmo\) -> .* \(olmo-ts\)/);
  assert.deepEqual(listDir(back), ["config.yaml", "model.safetensors"]);
  const loaded = await loadCheckpoint(back, { loadOptimizerState: false });
  assertBitExact(loaded.model, model, "round trip");
  assert.equal(loaded.trainer, null);
  assert.equal(loaded.configYaml, yaml);

  // olmo-ts -> olmo-ts keeps the optimizer and trainer state.
  const copy = join(root, "copy");
  assertExit(await runCli("convert.ts", [src, copy, "--to", "olmo-ts"]), 0);
  const full = await loadCheckpoint(copy);
  assertBitExact(full.model, model, "copy model");
  assertBitExact(full.optim!.state, optimizer(model).state, "copy optimizer state");
  assert.equal(full.trainer!.global_step, 3);
  await Deno.remove(root, { recursive: true });
});

Deno.test("convert: a 2-rank sharded checkpoint is joined in memory", async () => {
  const root = await Deno.makeTempDir();
  const config = tinyConfig({ n_layers: 1 });
  const model = weights(config);
  const optim = optimizer(model);
  const layout = flatLayout(model, 2);
  const barrier = makeBarrier(2);
  const [sharded] = await Promise.all([0, 1].map((rank) => {
    const mgr = new CheckpointManager({
      saveFolder: join(root, "run"),
      rank,
      worldSize: 2,
      barrier,
    });
    const trainer = { ...TRAINER, world_size: 2, rng: { rank } };
    const shard = shardStateDicts(model, optim, layout, rank, trainer);
    return mgr.saveSharded(3, { layout, shard, config: configYaml(config) });
  }));
  const ts = join(root, "ts");
  const res = await runCli("convert.ts", [sharded, ts, "--to", "olmo-ts"]);
  assertExit(res, 0);
  assert.match(res.stdout, /\(olmo-ts-sharded\)/);
  const loaded = await loadCheckpoint(ts);
  assertBitExact(loaded.model, model, "model");
  assertBitExact(loaded.optim!.state, optim.state, "optimizer state");
  assert.equal(loaded.trainer!.rng, undefined);
  assert.equal(loaded.trainer!.world_size, 2);
  const olmo = join(root, "olmo");
  assertExit(await runCli("convert.ts", [sharded, olmo, "--to", "olmo"]), 0);
  assertBitExact(await readTorchStateDict(join(olmo, "model.pt")), model, "model.pt");
  await Deno.remove(root, { recursive: true });
});

Deno.test("convert: block-group names follow config.yaml, optimizer state included", async () => {
  const root = await Deno.makeTempDir();
  const grouped = tinyConfig({ n_layers: 4, block_group_size: 2 });
  // Saved with plain `blocks.N` names, but the config says groups of 2.
  const flat = weights(grouped, 1);
  const src = await new CheckpointManager({ saveFolder: join(root, "run") }).saveUnsharded(3, {
    model: flat,
    optim: optimizer(flat),
    trainer: TRAINER,
    config: configYaml(grouped),
  });
  const out = join(root, "out");
  const res = await runCli("convert.ts", [src, out, "--to", "olmo-ts"]);
  assertExit(res, 0);
  const blockParams = [...flat.keys()].filter((n) => n.includes(".blocks.")).length;
  assert.match(res.stdout, new RegExp(`renamed ${blockParams} parameter\\(s\\)`));
  const loaded = await loadCheckpoint(out);
  const expected = new Map(
    [...flat].map(([n, t]) => [
      n.replace(/blocks\.(\d+)\./, (_, b) => {
        const i = Number(b);
        return `block_groups.${Math.floor(i / 2)}.${i % 2}.`;
      }),
      t,
    ]),
  );
  assert.ok(expected.has("transformer.block_groups.1.1.attn_out.weight"));
  assertBitExact(loaded.model, expected, "regrouped model");
  assertBitExact(loaded.optim!.state, optimizer(expected).state, "regrouped optimizer state");
  assert.deepEqual(loaded.optim!.paramGroups[0].param_names, [...expected.keys()].sort());

  // The reverse: grouped names, a config without groups, to OLMo's model.pt.
  const ungroupedYaml = configYaml({ ...grouped, block_group_size: 1 });
  await Deno.writeTextFile(join(out, "config.yaml"), ungroupedYaml);
  const olmo = join(root, "olmo");
  assertExit(await runCli("convert.ts", [out, olmo, "--to", "olmo"]), 0);
  assertBitExact(await readTorchStateDict(join(olmo, "model.pt")), flat, "ungrouped model.pt");
  await Deno.remove(root, { recursive: true });
});

Deno.test("convert: mismatched weights, existing output, bad inputs and usage errors", async () => {
  const root = await Deno.makeTempDir();
  const config = tinyConfig({ n_layers: 1 });
  const model = weights(config);
  model.delete("transformer.blocks.0.ff_out.weight");
  model.set("transformer.blocks.0.extra.weight", f32([2, 2], 9));
  model.set("transformer.wte.weight", f32([7, 16], 9));
  const src = join(root, "bad");
  await Deno.mkdir(src);
  await Deno.writeTextFile(join(src, "config.yaml"), configYaml(config));
  await writeTorchStateDict(join(src, "model.pt"), model);
  const bad = await runCli("convert.ts", [src, join(root, "out"), "--to", "olmo-ts"]);
  assertExit(bad, 1);
  assert.match(bad.stderr, /missing transformer\.blocks\.0\.ff_out\.weight/);
  assert.match(bad.stderr, /unexpected transformer\.blocks\.0\.extra\.weight/);
  assert.match(
    bad.stderr,
    /transformer\.wte\.weight has shape \[7,16\], the config gives \[128,16\]/,
  );
  assert.deepEqual(listDir(root), ["bad"], "nothing is written");

  const good = await new CheckpointManager({ saveFolder: join(root, "run") }).saveUnsharded(1, {
    model: weights(config),
    optim: null,
    trainer: TRAINER,
    config: configYaml(config),
  });
  const out = join(root, "out");
  await Deno.mkdir(out);
  await Deno.writeTextFile(join(out, "keep.txt"), "x");
  const exists = await runCli("convert.ts", [good, out, "--to", "olmo"]);
  assertExit(exists, 1);
  assert.match(exists.stderr, /already exists and is not empty; pass --overwrite/);
  assert.deepEqual(listDir(out), ["keep.txt"]);
  assertExit(await runCli("convert.ts", [good, out, "--to", "olmo", "--overwrite"]), 0);
  assert.deepEqual(listDir(out), ["config.yaml", "model.pt"]);
  const same = await runCli("convert.ts", [good, good, "--to", "olmo-ts", "--overwrite"]);
  assertExit(same, 1);
  assert.match(same.stderr, /is the input folder/);

  const noConfig = join(root, "no-config");
  await Deno.mkdir(noConfig);
  await Deno.copyFile(join(out, "model.pt"), join(noConfig, "model.pt"));
  const missingConfig = await runCli("convert.ts", [noConfig, join(root, "o2"), "--to", "hf"]);
  assertExit(missingConfig, 1);
  assert.match(missingConfig.stderr, /has no config\.yaml/);

  const olmoSharded = join(root, "olmo-sharded");
  await Deno.mkdir(olmoSharded);
  await Deno.writeTextFile(join(olmoSharded, "rank0.pt"), "");
  const sharded = await runCli("convert.ts", [olmoSharded, join(root, "o3"), "--to", "olmo-ts"]);
  assertExit(sharded, 1);
  assert.match(sharded.stderr, /OLMo \(PyTorch\) sharded checkpoint/);

  const wrongTo = await runCli("convert.ts", [good, join(root, "o4"), "--to", "gguf"]);
  assertExit(wrongTo, 2);
  assert.match(
    wrongTo.stderr,
    /--to must be one of olmo-ts, olmo, hf, hf-olmo2, hf-olmo, got "gguf"/,
  );
  assertExit(await runCli("convert.ts", [good, "--to", "olmo"]), 2);
  const unknown = await runCli("convert.ts", [good, join(root, "o5"), "--to", "olmo", "--force"]);
  assertExit(unknown, 2);
  assert.match(unknown.stderr, /unknown option --force/);
  await Deno.remove(root, { recursive: true });
});
