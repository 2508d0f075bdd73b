/**
 * `cli/unshard.ts` as a subprocess (spec §7.4): sharded checkpoints saved by 1, 2 and 3 ranks
 * unshard to exactly the unsharded checkpoint saved at the same step; the default output name,
 * `--model-only`, `--overwrite`, and clear errors for broken or wrong inputs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CheckpointManager, loadCheckpoint, shardStateDicts } from "../lib/checkpoint/mod.ts";
import { flatLayout } from "../lib/distributed/zero/layout.ts";
import type { TrainerState } from "../lib/checkpoint/mod.ts";
import type { OptimizerStateDict } from "../lib/optim/mod.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";
import { assertBitExact, assertExit, f32, listDir, makeBarrier, runCli } from "./_cli.ts";

const CONFIG = "run_name: unshard-test\nseed: 6198\n";

/** Parameters whose sizes do not divide evenly by 2 or 3, so shards split tensors. */
function model(): NamedHostTensors {
  return new Map([
    ["transformer.wte.weight", f32([11, 4], 1)],
    ["transformer.blocks.0.att_proj.weight", f32([12, 4], 2)],
    ["transformer.blocks.0.attn_out.weight", f32([4, 4], 3)],
    ["transformer.ln_f.weight", f32([4], 4)],
  ]);
}

/** AdamW-like state: moments and a step for all but `ln_f`, plus an adaptive-clipping EMA. */
function optim(m: NamedHostTensors): OptimizerStateDict {
  const state: NamedHostTensors = new Map();
  let seed = 20;
  for (const [name, t] of m) {
    if (name === "transformer.ln_f.weight") continue;
    state.set(`${name}.exp_avg`, f32(t.shape, seed++));
    state.set(`${name}.exp_avg_sq`, f32(t.shape, seed++));
    state.set(`${name}.step`, { dtype: "float32", shape: [], data: Float32Array.of(4) });
  }
  state.set("transformer.ln_f.weight.grad_norm_exp_avg", {
    dtype: "float32",
    shape: [],
    data: Float32Array.of(0.25),
  });
  const group = (names: string[], wd: number) => ({
    param_names: names,
    lr: 0.002,
    initial_lr: 0.004,
    weight_decay: wd,
    betas: [0.9, 0.95] as [number, number],
    eps: 1e-5,
    max_grad_norm: 1,
    max_grad_norm_ratio: 2,
    sharded: false,
  });
  return {
    state,
    paramGroups: [
      group(["transformer.blocks.0.att_proj.weight", "transformer.blocks.0.attn_out.weight"], 0.1),
      group(["transformer.ln_f.weight", "transformer.wte.weight"], 0),
    ],
  };
}

function trainer(step: number, worldSize: number): TrainerState {
  return {
    global_step: step,
    global_data_step: step,
    global_train_examples_seen: step * 6,
    global_train_tokens_seen: step * 6 * 16,
    world_size: worldSize,
    checkpoints: [],
    unsharded_checkpoints: [],
    data_position: { epoch: 0, offset: step * 6 },
  };
}

/** Saves `step{step}/` of `folder` as `worldSize` ranks would, each with its own RNG state. */
async function saveSharded(folder: string, step: number, worldSize: number): Promise<string> {
  const m = model();
  const o = optim(m);
  const layout = flatLayout(m, worldSize);
  const barrier = makeBarrier(worldSize);
  const dirs = await Promise.all(
    Array.from({ length: worldSize }, (_, rank) => {
      const mgr = new CheckpointManager({ saveFolder: folder, rank, worldSize, barrier });
      const rankTrainer = { ...trainer(step, worldSize), rng: { rank, state: [rank, 7] } };
      const shard = shardStateDicts(m, o, layout, rank, rankTrainer);
      return mgr.saveSharded(step, { layout, shard, config: CONFIG });
    }),
  );
  return dirs[0];
}

/** The unsharded checkpoint of the same state, saved directly (rank 0's trainer state). */
async function saveReference(folder: string, step: number, worldSize: number): Promise<string> {
  const m = model();
  const mgr = new CheckpointManager({ saveFolder: folder });
  const rank0 = { ...trainer(step, worldSize), rng: { rank: 0, state: [0, 7] } };
  return await mgr.saveUnsharded(step, {
    model: m,
    optim: optim(m),
    trainer: rank0,
    config: CONFIG,
  });
}

/** A trainer state without the fields that differ by rank or by run folder. */
function sharedTrainerFields(t: TrainerState | null): Record<string, unknown> {
  assert.ok(t, "trainer state missing");
  const { rng: _rng, checkpoints: _c, unsharded_checkpoints: _u, ...rest } = t;
  return rest;
}

for (const worldSize of [1, 2, 3]) {
  Deno.test(`unshard: a ${worldSize}-rank sharded checkpoint equals the unsharded save`, async () => {
    const root = await Deno.makeTempDir();
    const run = join(root, "run");
    const sharded = await saveSharded(run, 4, worldSize);
    const reference = await saveReference(join(root, "reference"), 4, worldSize);
    const res = await runCli("unshard.ts", [sharded]);
    assertExit(res, 0);
    const out = join(run, "step4-unsharded");
    assert.ok(res.stdout.includes(out), res.stdout);
    assert.deepEqual(listDir(out), [
      "config.yaml",
      "model.safetensors",
      "optim.json",
      "optim.safetensors",
      "train.json",
    ]);
    assert.ok(!listDir(run).some((n) => n.endsWith("-tmp")), "no temporary folder is left");
    const got = await loadCheckpoint(out);
    const want = await loadCheckpoint(reference);
    assert.equal(got.sharded, false);
    assertBitExact(got.model, want.model!, "model");
    assertBitExact(got.optim!.state, want.optim!.state, "optimizer state");
    assert.deepEqual(got.optim!.paramGroups, want.optim!.paramGroups);
    assert.deepEqual(sharedTrainerFields(got.trainer), sharedTrainerFields(want.trainer));
    assert.equal(got.trainer!.rng, undefined, "the per-rank RNG state is dropped");
    assert.equal(got.trainer!.world_size, worldSize);
    assert.equal(got.configYaml, CONFIG);
    await Deno.remove(root, { recursive: true });
  });
}

Deno.test("unshard: --model-only, explicit output, overwrite rules, a `latest` link", async () => {
  const root = await Deno.makeTempDir();
  const run = join(root, "run");
  const sharded = await saveSharded(run, 6, 2);
  // Through the `latest` link: the default output is named after the real folder.
  const viaLink = await runCli("unshard.ts", [join(run, "latest"), "--model-only"]);
  assertExit(viaLink, 0);
  const out = join(run, "step6-unsharded");
  assert.deepEqual(listDir(out), ["config.yaml", "model.safetensors", "train.json"]);
  const loaded = await loadCheckpoint(out, { loadOptimizerState: false });
  assertBitExact(loaded.model, model(), "model-only model");
  await assert.rejects(() => loadCheckpoint(out), /no optimizer state/);
  // An existing output is refused without --overwrite and left alone.
  const refused = await runCli("unshard.ts", [sharded]);
  assertExit(refused, 1);
  assert.match(refused.stderr, /step6-unsharded already exists; pass --overwrite/);
  assert.deepEqual(listDir(out), ["config.yaml", "model.safetensors", "train.json"]);
  const replaced = await runCli("unshard.ts", [sharded, out, "--overwrite"]);
  assertExit(replaced, 0);
  assert.deepEqual(listDir(out), [
    "config.yaml",
    "model.safetensors",
    "optim.json",
    "optim.safetensors",
    "train.json",
  ]);
  // Another output name works but is flagged: restore dispatch would not recognise it.
  const custom = join(root, "exported");
  const named = await runCli("unshard.ts", [sharded, custom]);
  assertExit(named, 0);
  assert.match(named.stderr, /not named step\{N\}-unsharded/);
  assertBitExact((await loadCheckpoint(custom)).model, model(), "custom-named output");
  await Deno.remove(root, { recursive: true });
});

Deno.test("unshard: missing, truncated and corrupt rank files are reported by name", async () => {
  const root = await Deno.makeTempDir();
  const sharded = await saveSharded(join(root, "run"), 2, 3);
  const copy = async (name: string) => {
    const dir = join(root, name, "step2");
    await Deno.mkdir(dir, { recursive: true });
    for (const f of listDir(sharded)) await Deno.copyFile(join(sharded, f), join(dir, f));
    return dir;
  };
  const expectFailure = async (dir: string, pattern: RegExp) => {
    const res = await runCli("unshard.ts", [dir]);
    assertExit(res, 1);
    assert.match(res.stderr, pattern);
    assert.deepEqual(listDir(join(dir, "..")), ["step2"], "nothing is written");
  };

  const missing = await copy("missing");
  await Deno.remove(join(missing, "rank1.safetensors"));
  await expectFailure(missing, /incomplete: rank1\.safetensors missing .*3 rank\(s\)/);

  const truncated = await copy("truncated");
  const bytes = await Deno.readFile(join(truncated, "rank2.safetensors"));
  await Deno.writeFile(join(truncated, "rank2.safetensors"), bytes.subarray(0, bytes.length - 9));
  await expectFailure(truncated, /rank2\.safetensors.*(truncated|must be float32)/);

  const badMeta = await copy("bad-meta");
  await Deno.writeTextFile(join(badMeta, "metadata.json"), "{");
  await expectFailure(badMeta, /metadata\.json/);

  const badRank = await copy("bad-rank");
  const rank0 = JSON.parse(await Deno.readTextFile(join(badRank, "rank0.json")));
  delete rank0.trainer.global_step;
  await Deno.writeTextFile(join(badRank, "rank0.json"), JSON.stringify(rank0));
  await expectFailure(badRank, /rank0\.json "trainer": "global_step"/);

  const stray = await copy("stray");
  await Deno.copyFile(join(stray, "rank0.json"), join(stray, "rank3.json"));
  await expectFailure(stray, /mixes two saves: rank3\.json/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("unshard: wrong inputs and usage errors", async () => {
  const root = await Deno.makeTempDir();
  const unsharded = await saveReference(join(root, "run"), 3, 1);
  const already = await runCli("unshard.ts", [unsharded]);
  assertExit(already, 1);
  assert.match(already.stderr, /already an unsharded checkpoint \(it has model\.safetensors\)/);

  const olmoSharded = join(root, "olmo", "step3");
  await Deno.mkdir(olmoSharded, { recursive: true });
  await Deno.writeTextFile(join(olmoSharded, "rank0.pt"), "");
  const olmo = await runCli("unshard.ts", [olmoSharded]);
  assertExit(olmo, 1);
  assert.match(olmo.stderr, /OLMo \(PyTorch\) sharded checkpoint/);

  const absent = await runCli("unshard.ts", [join(root, "nope")]);
  assertExit(absent, 1);
  assert.match(absent.stderr, /nope cannot be opened/);

  const sharded = await saveSharded(join(root, "other"), 5, 2);
  const renamed = join(root, "other", "final");
  await Deno.rename(sharded, renamed);
  const noName = await runCli("unshard.ts", [renamed]);
  assertExit(noName, 2);
  assert.match(noName.stderr, /cannot name the output after final .*give OUTPUT_DIR/);
  const same = await runCli("unshard.ts", [renamed, renamed, "--overwrite"]);
  assertExit(same, 2);
  assert.match(same.stderr, /is the input folder/);

  assertExit(await runCli("unshard.ts", []), 2);
  const unknown = await runCli("unshard.ts", [renamed, "--modelonly"]);
  assertExit(unknown, 2);
  assert.match(unknown.stderr, /unknown option --modelonly/);
  const help = await runCli("unshard.ts", ["--help"]);
  assertExit(help, 0);
  assert.match(help.stdout, /usage: deno task unshard INPUT_DIR \[OUTPUT_DIR\]/);
  await Deno.remove(root, { recursive: true });
});
