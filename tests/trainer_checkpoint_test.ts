/**
 * Run-folder checkpoints (spec §6.6, §6.7, §7.1–7.3): bit-exact round trips of both kinds,
 * `latest` links, keep-N pruning, overwrite rules, world-size checks, unsharding, and a save
 * killed with SIGKILL half-way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CheckpointManager,
  findLatestCheckpoint,
  loadCheckpoint,
  shardStateDicts,
  unshardCheckpoint,
} from "../lib/checkpoint/mod.ts";
import { flatLayout } from "../lib/distributed/zero/layout.ts";
import type { TrainerState } from "../lib/checkpoint/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import type { OptimizerStateDict } from "../lib/optim/mod.ts";
import type { HostTensor, NamedHostTensors } from "../lib/util/host_tensor.ts";
import { assertBitExact, makeBarrier } from "./_cli.ts";
import { HAS_SHARED, referenceCaseDir } from "./_shared.ts";

/** Deterministic float32 data including -0, a subnormal, infinities and a NaN payload. */
function f32(shape: number[], seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 1000 + i) * 10 ** ((i % 7) - 3);
  const bits = new Uint32Array(data.buffer);
  if (n > 4) {
    data[0] = -0;
    bits[1] = 0x00000003; // subnormal
    data[2] = Infinity;
    bits[3] = 0x7fc01234; // NaN with a payload
  }
  return { dtype: "float32", shape, data };
}

function model(seed = 1): NamedHostTensors {
  return new Map([
    ["transformer.wte.weight", f32([8, 4], seed)],
    ["transformer.blocks.0.att_proj.weight", f32([12, 4], seed + 1)],
    ["transformer.ln_f.weight", f32([4], seed + 2)],
  ]);
}

function optim(m: NamedHostTensors, step: number): OptimizerStateDict {
  const state: NamedHostTensors = new Map();
  let seed = 10;
  for (const [name, t] of m) {
    if (name === "transformer.ln_f.weight") continue; // a parameter without state
    state.set(`${name}.exp_avg`, f32(t.shape, seed++));
    state.set(`${name}.exp_avg_sq`, f32(t.shape, seed++));
    state.set(`${name}.step`, { dtype: "float32", shape: [], data: Float32Array.of(step) });
  }
  state.set("transformer.ln_f.weight.grad_norm_exp_avg", {
    dtype: "float32",
    shape: [],
    data: Float32Array.of(0.1),
  });
  const group = (names: string[], wd: number) => ({
    param_names: names,
    lr: 0.003,
    initial_lr: 0.01,
    weight_decay: wd,
    betas: [0.9, 0.95] as [number, number],
    eps: 1e-5,
    max_grad_norm: 1,
    max_grad_norm_ratio: null,
    sharded: false,
  });
  return {
    state,
    paramGroups: [
      group(["transformer.blocks.0.att_proj.weight"], 0.1),
      group(["transformer.ln_f.weight", "transformer.wte.weight"], 0),
    ],
  };
}

function trainer(step: number, worldSize = 1): TrainerState {
  return {
    global_step: step,
    global_data_step: step,
    global_train_examples_seen: step * 8,
    global_train_tokens_seen: step * 8 * 32,
    world_size: worldSize,
    checkpoints: [],
    unsharded_checkpoints: [],
    data_position: { epoch: 0 },
    rng: { seed: 6198, state: [1, 2, 3] },
  };
}

const CONFIG = "run_name: test\nseed: 6198\n";

Deno.test("unsharded save/restore is bit-exact and links latest-unsharded relatively", async () => {
  const folder = await Deno.makeTempDir();
  const mgr = new CheckpointManager({ saveFolder: folder });
  const m = model();
  const o = optim(m, 3);
  const dir = await mgr.saveUnsharded(3, {
    model: m,
    optim: o,
    trainer: trainer(3),
    config: CONFIG,
  });
  assert.equal(dir, join(folder, "step3-unsharded"));
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(files, [
    "config.yaml",
    "model.safetensors",
    "optim.json",
    "optim.safetensors",
    "train.json",
  ]);
  assert.equal(await Deno.readLink(join(folder, "latest-unsharded")), "step3-unsharded");
  const loaded = await loadCheckpoint(join(folder, "latest-unsharded"));
  assert.equal(loaded.sharded, false);
  assert.equal(loaded.dir, await Deno.realPath(dir));
  assertBitExact(loaded.model, m, "model");
  assertBitExact(loaded.optim!.state, o.state, "optim");
  assert.deepEqual(loaded.optim!.paramGroups, o.paramGroups);
  assert.deepEqual(loaded.trainer, { ...trainer(3), unsharded_checkpoints: [dir] });
  assert.equal(loaded.configYaml, CONFIG);
  // Model-only loading (reset_optimizer_state) skips the optimizer.
  assert.equal((await loadCheckpoint(dir, { loadOptimizerState: false })).optim, null);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("sharded save with one process is a valid 1-rank checkpoint", async () => {
  const folder = await Deno.makeTempDir();
  const mgr = new CheckpointManager({ saveFolder: folder });
  const m = model();
  const o = optim(m, 5);
  const dir = await mgr.saveSharded(5, { model: m, optim: o, trainer: trainer(5), config: CONFIG });
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(files, ["config.yaml", "metadata.json", "rank0.json", "rank0.safetensors"]);
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "metadata.json")));
  assert.equal(meta.world_size, 1);
  assert.equal(await Deno.readLink(join(folder, "latest")), "step5");
  const loaded = await loadCheckpoint(join(folder, "latest"));
  assert.equal(loaded.sharded, true);
  assertBitExact(loaded.model, m, "model");
  assertBitExact(loaded.optim!.state, o.state, "optim");
  assert.deepEqual(loaded.optim!.paramGroups, o.paramGroups);
  assert.deepEqual(loaded.trainer, { ...trainer(5), checkpoints: [dir] });
  assert.equal(loaded.shard!.params.length, 8 * 4 + 12 * 4 + 4);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("3-rank sharded save: world-size check, per-rank restore, unshard is bit-exact", async () => {
  const folder = await Deno.makeTempDir();
  const m = model();
  const o = optim(m, 7);
  const layout = flatLayout(m, 3);
  const barrier = makeBarrier(3);
  const dirs = await Promise.all([0, 1, 2].map((rank) => {
    const mgr = new CheckpointManager({ saveFolder: folder, rank, worldSize: 3, barrier });
    const shard = shardStateDicts(m, o, layout, rank, { ...trainer(7, 3), rng: { rank } });
    return mgr.saveSharded(7, { layout, shard, config: CONFIG });
  }));
  const dir = join(folder, "step7");
  assert.deepEqual(dirs, [dir, dir, dir]);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(files, [
    "config.yaml",
    "metadata.json",
    "rank0.json",
    "rank0.safetensors",
    "rank1.json",
    "rank1.safetensors",
    "rank2.json",
    "rank2.safetensors",
  ]);
  // Another world size: a clear error with the unshard command.
  await assert.rejects(
    () => loadCheckpoint(dir),
    (e: Error) => {
      assert.match(e.message, /written by 3 process\(es\) but this run has 1/);
      assert.ok(
        e.message.includes(`deno run -A cli/unshard.ts ${dir} ${join(folder, "step7-unsharded")}`),
      );
      return true;
    },
  );
  // Same world size: each rank gets its own slice and its own RNG state.
  const r1 = await loadCheckpoint(dir, { rank: 1, worldSize: 3 });
  assert.equal(r1.model, null);
  const { start, end } = layout.ranks[1];
  assert.deepEqual(r1.shard!.params, shardStateDicts(m, o, layout, 1, trainer(7)).params);
  assert.equal(r1.shard!.params.length, end - start);
  assert.deepEqual(r1.trainer!.rng, { rank: 1 });
  // Unsharding joins the slices; the trainer state is rank 0's without RNG.
  const out = join(folder, "step7-unsharded");
  await unshardCheckpoint(dir, out);
  const u = await loadCheckpoint(out);
  assertBitExact(u.model, m, "unsharded model");
  assertBitExact(u.optim!.state, o.state, "unsharded optim");
  assert.equal(u.trainer!.rng, undefined);
  assert.equal(u.trainer!.global_step, 7);
  assert.equal(u.configYaml, CONFIG);
  await assert.rejects(() => unshardCheckpoint(dir, out), /exists and is not empty/);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("keep-N pruning of both kinds, latest stays on the newest", async () => {
  const folder = await Deno.makeTempDir();
  const mgr = new CheckpointManager({ saveFolder: folder, keepSharded: 2, keepUnsharded: 1 });
  const m = model();
  for (const step of [1, 2, 3, 4]) {
    await mgr.saveSharded(step, { model: m, optim: null, trainer: trainer(step) });
    if (step % 2 === 0) {
      await mgr.saveUnsharded(step, { model: m, optim: null, trainer: trainer(step) });
    }
  }
  const names = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
  assert.deepEqual(names, ["latest", "latest-unsharded", "step3", "step4", "step4-unsharded"]);
  assert.equal(await Deno.readLink(join(folder, "latest")), "step4");
  assert.equal(await Deno.readLink(join(folder, "latest-unsharded")), "step4-unsharded");
  assert.deepEqual(mgr.checkpoints, [join(folder, "step3"), join(folder, "step4")]);
  // The lists are saved in the trainer state, and a restart keeps the existing ones only.
  const state = (await loadCheckpoint(join(folder, "latest"), { loadOptimizerState: false }))
    .trainer!;
  // As in OLMo, the saved list is the one before pruning; a restart drops missing folders.
  assert.deepEqual(state.checkpoints, [join(folder, "step2"), ...mgr.checkpoints]);
  assert.deepEqual(state.unsharded_checkpoints, [join(folder, "step2-unsharded")]);
  const restarted = new CheckpointManager({ saveFolder: folder });
  await restarted.restoreLists({
    ...state,
    checkpoints: [join(folder, "step1"), ...state.checkpoints, "/elsewhere/step9"],
  });
  assert.deepEqual(restarted.checkpoints, [join(folder, "step3"), join(folder, "step4")]);
  assert.deepEqual(restarted.unshardedCheckpoints, []);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("an existing checkpoint is refused unless save_overwrite", async () => {
  const folder = await Deno.makeTempDir();
  const m1 = model(1);
  const m2 = model(2);
  const mgr = new CheckpointManager({ saveFolder: folder });
  await mgr.saveSharded(2, { model: m1, optim: null, trainer: trainer(2) });
  await assert.rejects(
    () => mgr.saveSharded(2, { model: m2, optim: null, trainer: trainer(2) }),
    /^Error: Checkpoint for step 2 already exists, use --save-overwrite to overwrite/,
  );
  assertBitExact(
    (await loadCheckpoint(join(folder, "step2"), { loadOptimizerState: false })).model,
    m1,
    "kept",
  );
  const over = new CheckpointManager({ saveFolder: folder, saveOverwrite: true });
  await over.saveSharded(2, { model: m2, optim: null, trainer: trainer(2) });
  assertBitExact(
    (await loadCheckpoint(join(folder, "step2"), { loadOptimizerState: false })).model,
    m2,
    "replaced",
  );
  // An empty folder of that name is not a checkpoint and is simply replaced.
  await Deno.mkdir(join(folder, "step3-unsharded"));
  await mgr.saveUnsharded(3, { model: m1, optim: null, trainer: trainer(3) });
  assertBitExact(
    (await loadCheckpoint(join(folder, "step3-unsharded"), { loadOptimizerState: false })).model,
    m1,
    "u",
  );
  // Optimizer state requested from a checkpoint saved without it: a clear error.
  await assert.rejects(
    () => loadCheckpoint(join(folder, "step3-unsharded")),
    /--reset_optimizer_state/,
  );
  await Deno.remove(folder, { recursive: true });
});

Deno.test("findLatestCheckpoint: highest step, sharded wins a tie, -tmp ignored", async () => {
  const folder = await Deno.makeTempDir();
  assert.equal(await findLatestCheckpoint(folder), null);
  assert.equal(await findLatestCheckpoint(join(folder, "missing")), null);
  for (
    const d of ["step2", "step10-unsharded", "step9", "step11-tmp", "step12-unsharded-tmp", "stepX"]
  ) {
    await Deno.mkdir(join(folder, d));
  }
  assert.equal(await findLatestCheckpoint(folder), join(folder, "step10-unsharded"));
  await Deno.mkdir(join(folder, "step10"));
  assert.equal(await findLatestCheckpoint(folder), join(folder, "step10"));
  await assert.rejects(() => loadCheckpoint(join(folder, "step11-tmp")), /incomplete checkpoint/);
  await Deno.remove(folder, { recursive: true });
});

Deno.test("corrupt trainer state is reported with file and key", async () => {
  const folder = await Deno.makeTempDir();
  const mgr = new CheckpointManager({ saveFolder: folder });
  const dir = await mgr.saveUnsharded(1, { model: model(), optim: null, trainer: trainer(1) });
  const path = join(dir, "train.json");
  const json = JSON.parse(await Deno.readTextFile(path));
  delete json.global_step;
  await Deno.writeTextFile(path, JSON.stringify(json));
  await assert.rejects(
    () => loadCheckpoint(dir, { loadOptimizerState: false }),
    (e: Error) => e.message.includes(path) && e.message.includes('"global_step"'),
  );
  await Deno.remove(folder, { recursive: true });
});

Deno.test("a save killed with SIGKILL leaves latest on the previous complete checkpoint", async () => {
  const folder = await Deno.makeTempDir();
  const m = model();
  const o = optim(m, 1);
  const mgr = new CheckpointManager({ saveFolder: folder });
  await mgr.saveSharded(1, { model: m, optim: o, trainer: trainer(1), config: CONFIG });
  // A child process saves a ~100 MB step-2 checkpoint into the same folder, keeping only one.
  const script = join(folder, "child_save.ts");
  const lib = new URL("../lib/checkpoint/mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { CheckpointManager } from "${lib}";
const n = 8 * 1024 * 1024;
const big = () => ({ dtype: "float32", shape: [n], data: new Float32Array(n).fill(1.5) });
const model = new Map([["transformer.wte.weight", big()]]);
const state = new Map([["transformer.wte.weight.exp_avg", big()], ["transformer.wte.weight.exp_avg_sq", big()]]);
const trainer = { global_step: 2, global_data_step: 2, global_train_examples_seen: 0,
  global_train_tokens_seen: 0, world_size: 1, checkpoints: [], unsharded_checkpoints: [] };
// Keep 1: step1 (the one latest points at) may only go once step2 is complete.
const mgr = new CheckpointManager({ saveFolder: ${JSON.stringify(folder)}, keepSharded: 1 });
mgr.checkpoints = [${JSON.stringify(join(folder, "step1"))}];
console.log("saving");
await mgr.saveSharded(2, { model, optim: { state, paramGroups: [] }, trainer });
console.log("done");
`,
  );
  const configPath = new URL("../deno.json", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", configPath, script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Kill as soon as the child has started writing into step2-tmp.
  const tmp = join(folder, "step2-tmp");
  const deadline = Date.now() + 60_000;
  while (!(await hasEntries(tmp))) {
    assert.ok(Date.now() < deadline, "the child never started writing");
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  assert.ok(!(await exists(join(folder, "step2"))), "the killed save must not have completed");
  assert.ok(await exists(tmp), "the interrupted save leaves step2-tmp behind");
  assert.equal(await Deno.readLink(join(folder, "latest")), "step1");
  assert.equal(await findLatestCheckpoint(folder), join(folder, "step1"));
  const restored = await loadCheckpoint(join(folder, "latest"));
  assertBitExact(restored.model, m, "model after kill");
  assertBitExact(restored.optim!.state, o.state, "optim after kill");
  // The next save of that step cleans the leftover and completes; with keep 1, step1 goes now.
  const keepOne = new CheckpointManager({ saveFolder: folder, keepSharded: 1 });
  keepOne.checkpoints = [join(folder, "step1")];
  await keepOne.saveSharded(2, { model: m, optim: o, trainer: trainer(2) });
  assert.ok(!(await exists(tmp)));
  assert.equal(await Deno.readLink(join(folder, "latest")), "step2");
  assert.ok(!(await exists(join(folder, "step1"))));
  const st = await readSafetensors(join(folder, "step2", "rank0.safetensors"));
  assert.equal(st.tensors.get("params")!.shape[0], 8 * 4 + 12 * 4 + 4);
  await Deno.remove(folder, { recursive: true });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function hasEntries(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return true;
  } catch {
    // not created yet
  }
  return false;
}

Deno.test({
  name: "an OLMo model.pt folder loads its weights for fine-tuning",
  ignore: !HAS_SHARED,
  fn: async () => {
    const caseDir = referenceCaseDir("rope-swiglu-seq");
    const folder = await Deno.makeTempDir();
    const dir = join(folder, "step1000-unsharded");
    await Deno.mkdir(dir);
    await Deno.copyFile(join(caseDir, "model.pt"), join(dir, "model.pt"));
    await Deno.copyFile(join(caseDir, "config.yaml"), join(dir, "config.yaml"));
    const loaded = await loadCheckpoint(dir, { loadOptimizerState: false });
    assert.equal(loaded.format, "olmo-torch");
    assert.equal(loaded.trainer, null);
    const reference = (await readSafetensors(join(caseDir, "model.safetensors"))).tensors;
    assertBitExact(loaded.model, reference, "model.pt vs model.safetensors");
    await assert.rejects(
      () => loadCheckpoint(dir),
      /only its model\.pt can be read.*--reset_optimizer_state/,
    );
    await Deno.remove(folder, { recursive: true });
  },
});
