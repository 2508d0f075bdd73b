/**
 * The data-parallel part of `deno task bench`: the worker on 2 ranks (collective bandwidth at
 * 1/16/64 MiB, then ZeRO training of the config's global batch), skipped without MPICH; and the
 * same-global-batch training benchmark in one process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/mod.ts";
import { benchDataParallelTraining } from "../lib/bench/distributed.ts";
import type { BenchRecord } from "../lib/bench/report.ts";
import { loadBenchConfig } from "../lib/bench/suite.ts";
import { SingleProcessWorld } from "../lib/distributed/world.ts";
import { DENO, HAS_MPICH, run } from "./distributed/run.ts";

/** bench-small shrunk to seconds per step; a global batch of 4 sequences. */
const TINY_OVERRIDES = [
  "model.d_model=32",
  "model.n_heads=2",
  "model.n_layers=1",
  "model.max_sequence_length=16",
  "model.vocab_size=64",
  "model.embedding_size=64",
  "global_train_batch_size=4",
  "device_train_microbatch_size=2",
];
const CONFIG = { name: "bench-small", path: "configs/bench/bench-small.yaml" };

Deno.test("benchDataParallelTraining in one process: the global batch, timed steps, finite losses", async () => {
  await initBackend("cpu", { quiet: true });
  const cfg = await loadBenchConfig(CONFIG, TINY_OVERRIDES);
  const r = await benchDataParallelTraining(new SingleProcessWorld(), cfg, {
    steps: 2,
    warmupSteps: 1,
  });
  assert.equal(r.worldSize, 1);
  assert.equal(r.globalBatchSize, 4);
  assert.equal(r.losses.length, 3);
  assert.ok(r.losses.every(Number.isFinite));
  assert.ok(Math.abs(r.losses[0] - Math.log(64)) < 0.5, `loss ${r.losses[0]} at init`);
  assert.equal(r.tokensPerSecond, (4 * 16) / r.medianStepSeconds);
  await assert.rejects(
    () => benchDataParallelTraining(new SingleProcessWorld(), cfg, { globalBatchSize: 2.5 }),
    /does not split over 1 ranks/,
  );
});

Deno.test({
  name: "bench worker on 2 ranks: collectives at 1/16/64 MiB and ZeRO training of one global batch",
  ignore: !HAS_MPICH,
  fn: async () => {
    const result = await run(DENO, [
      "run",
      "-A",
      "cli/launch.ts",
      "--nproc-per-node=2",
      "cli/bench.ts",
      "--distributed-worker",
      "--config",
      CONFIG.path,
      "--backend",
      "cpu",
      "--steps",
      "1",
      ...TINY_OVERRIDES.map((o) => `--${o}`),
    ], { timeoutMs: 120_000 });
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const records: BenchRecord[] = result.stdout.split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    const collectives = records.filter((r) => r.kind === "collective");
    assert.deepEqual(
      collectives.map((r) =>
        r.kind === "collective" && `${r.op} ${r.worldSize} ${Math.round(r.sizeMB)}`
      ),
      [1, 16, 64].flatMap((mb) =>
        ["allReduceSum", "reduceScatterSum", "allGather"].map((op) => `${op} 2 ${mb}`)
      ),
    );
    const train = records.filter((r) => r.kind === "distributed-train");
    assert.equal(train.length, 1, "rank 0 alone emits the training record");
    assert.ok(train[0].kind === "distributed-train" && train[0].worldSize === 2);
    assert.ok(train[0].tokensPerSecond > 0);
  },
});
