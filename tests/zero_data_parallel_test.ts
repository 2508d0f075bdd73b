/**
 * ZeRO data parallelism in one process (world size 1, no MPI): the sharded path must train
 * exactly like the trainer's local optimizer — bit for bit without clipping, within float
 * rounding with clipping (its norms are summed in float64) — and its checkpoint state must be
 * the local optimizer's. Multi-rank runs are in `distributed_train_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import type { CollatedBatch } from "../lib/data/collator.ts";
import { LocalDataParallel } from "../lib/distributed/data_parallel.ts";
import { SingleProcessWorld } from "../lib/distributed/world.ts";
import { ZeroDataParallel } from "../lib/distributed/zero/data_parallel.ts";
import { zeroFullOptimizerState, zeroShardState } from "../lib/distributed/zero/gather.ts";
import { layoutMismatch } from "../lib/distributed/zero/layout.ts";
import { Olmo } from "../lib/model/olmo.ts";
import { createOptimizer } from "../lib/optim/optimizer.ts";
import { runTrainStep, type TrainStepContext } from "../lib/train/train_step.ts";
import { makeTinyEnv, patternTokens, tinyTrainConfig } from "./_train_fixture.ts";

await initBackend("cpu", { quiet: true });

function batchOf(seed: number): CollatedBatch {
  const tokens = patternTokens(4 * 16, seed);
  return { inputIds: { dtype: "int32", shape: [4, 16], data: Int32Array.from(tokens) } };
}

/** Trains the tiny model `steps` steps locally and with ZeRO at size 1; returns both. */
async function trainBoth(extra: Record<string, unknown>, steps: number, collectAt = -1) {
  const env = await makeTinyEnv();
  try {
    const cfg = await tinyTrainConfig(env, `${env.dir}/run`, extra);
    const ctx = (model: Olmo): Omit<TrainStepContext, "dataParallel"> => ({
      model,
      microBatchSize: 2,
      zLoss: cfg.softmax_auxiliary_loss,
      dropoutSeed: (m) => 100 + m,
    });
    const localModel = new Olmo(cfg.model, { seed: 3 });
    const localOptimizer = createOptimizer(cfg.optimizer, localModel.params, cfg);
    const local = {
      ...ctx(localModel),
      dataParallel: new LocalDataParallel(localModel, localOptimizer),
      optimizer: localOptimizer,
    };
    const zeroModel = new Olmo(cfg.model, { seed: 3 });
    const zero = await ZeroDataParallel.create(new SingleProcessWorld(), zeroModel, cfg);
    const sharded = { ...ctx(zeroModel), dataParallel: zero };
    const results = {
      local: [] as number[],
      zero: [] as number[],
      metrics: [] as Record<string, number>[],
    };
    for (let step = 1; step <= steps; step++) {
      const batch = batchOf(step);
      const a = await runTrainStep(local, batch, step, 0.01, step === collectAt);
      const b = await runTrainStep(sharded, batch, step, 0.01, step === collectAt);
      results.local.push(a.ce);
      results.zero.push(b.ce);
      if (step === collectAt) results.metrics.push(a.optimMetrics, b.optimMetrics);
    }
    return { results, local, zero, localModel, zeroModel };
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function paramsDiff(a: Olmo, b: Olmo): Promise<number> {
  const sa = await a.stateDict();
  const sb = await b.stateDict();
  let m = 0;
  for (const [name, t] of sa) {
    m = Math.max(m, maxAbsDiff(t.data as Float32Array, sb.get(name)!.data as Float32Array));
  }
  return m;
}

Deno.test("ZeRO at world size 1 without clipping: the local optimizer's losses and parameters, bit for bit", async () => {
  const run = await trainBoth({ max_grad_norm: null }, 3);
  try {
    assert.deepEqual(run.results.zero, run.results.local);
    assert.equal(await paramsDiff(run.localModel, run.zeroModel), 0);
    // The gathered optimizer state is the local one.
    const want = await run.local.optimizer.stateDict();
    const got = await zeroFullOptimizerState(run.zero);
    assert.deepEqual([...got.state.keys()].sort(), [...want.state.keys()].sort());
    for (const [k, t] of want.state) assert.deepEqual(got.state.get(k)!.data, t.data, k);
    assert.deepEqual(
      got.paramGroups.map((g) => g.param_names),
      want.paramGroups.map((g) => g.param_names),
    );
  } finally {
    run.zero.dispose();
    run.local.optimizer.dispose();
    run.localModel.dispose();
    run.zeroModel.dispose();
  }
});

for (
  const [label, extra] of [
    ["global clipping, AdamW", { max_grad_norm: 0.05 }],
    ["adaptive clipping, LionW, z-loss", {
      max_grad_norm_ratio: 1.5,
      softmax_auxiliary_loss: true,
      optimizer: { name: "lionw", learning_rate: 1e-3 },
    }],
  ] as const
) {
  Deno.test(`ZeRO at world size 1 with ${label}: same losses, parameters and metrics`, async () => {
    const run = await trainBoth(extra, 4, 3);
    try {
      run.results.zero.forEach((ce, i) => assert.ok(Math.abs(ce - run.results.local[i]) < 1e-5));
      assert.ok(await paramsDiff(run.localModel, run.zeroModel) < 1e-5);
      const [want, got] = run.results.metrics;
      assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
      assert.ok(want.clipping_rate > 0, "the test must clip");
      for (const [k, v] of Object.entries(want)) {
        assert.ok(
          Math.abs(got[k] - v) <= 1e-5 * Math.max(1, Math.abs(v)),
          `${k}: ${got[k]} vs ${v}`,
        );
      }
      const post = [await run.local.optimizer.postStepMetrics(), await run.zero.postStepMetrics()];
      assert.deepEqual(Object.keys(post[1]), Object.keys(post[0]));
      for (const [k, v] of Object.entries(post[0])) assert.ok(Math.abs(post[1][k] - v) < 1e-6);
    } finally {
      run.zero.dispose();
      run.local.optimizer.dispose();
      run.localModel.dispose();
      run.zeroModel.dispose();
    }
  });
}

Deno.test("ZeRO rank shard: a sharded save restores into a fresh run exactly; a foreign layout is refused", async () => {
  const run = await trainBoth({ max_grad_norm_ratio: 1.5 }, 3);
  const fresh = new Olmo(run.zeroModel.config, { seed: 99 });
  const env = await makeTinyEnv();
  const cfg = await tinyTrainConfig(env, `${env.dir}/run`, { max_grad_norm_ratio: 1.5 });
  const restored = await ZeroDataParallel.create(new SingleProcessWorld(), fresh, cfg);
  try {
    const shard = await zeroShardState(run.zero);
    assert.equal(shard.params.length, run.zero.layout.numel);
    assert.ok(
      Object.values(shard.optimScalars).every((s) => s.step === 3 && s.grad_norm_exp_avg! > 0),
    );
    const layout = run.zero.layout;
    await restored.loadShardState(layout, shard, "test", true);
    assert.equal(await paramsDiff(run.zeroModel, fresh), 0);
    const want = await zeroFullOptimizerState(run.zero);
    const got = await zeroFullOptimizerState(restored);
    for (const [k, t] of want.state) assert.deepEqual(got.state.get(k)!.data, t.data, k);

    const reordered = { ...layout, params: [...layout.params].reverse() };
    assert.match(
      layoutMismatch(layout, reordered) ?? "",
      /parameters differ from this model's \(entry 0/,
    );
    await assert.rejects(
      () => restored.loadShardState(reordered, shard, "ckpt/step3", true),
      /ckpt\/step3: the checkpoint's parameters differ/,
    );
  } finally {
    await Deno.remove(env.dir, { recursive: true });
    restored.dispose();
    fresh.dispose();
    run.zero.dispose();
    run.local.optimizer.dispose();
    run.localModel.dispose();
    run.zeroModel.dispose();
  }
});

Deno.test("ZeRO steps leak no tensors", async () => {
  const run = await trainBoth({ max_grad_norm: 1.0 }, 1);
  try {
    const ctx: TrainStepContext = {
      model: run.zeroModel,
      dataParallel: run.zero,
      microBatchSize: 2,
      zLoss: false,
      dropoutSeed: (m) => m,
    };
    const counts: number[] = [];
    for (let step = 2; step <= 5; step++) {
      await runTrainStep(ctx, batchOf(step), step, 0.01, step === 4);
      counts.push(tf.memory().numTensors);
    }
    assert.deepEqual(counts, [counts[0], counts[0], counts[0], counts[0]]);
  } finally {
    run.zero.dispose();
    run.local.optimizer.dispose();
    run.localModel.dispose();
    run.zeroModel.dispose();
  }
});
