/**
 * Smoke tests of the benchmark harness plumbing (no timing assertions): a one-step suite run
 * on a shrunken bench config, the report formats, and the helpers with hand-checked values.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../lib/backend/mod.ts";
import {
  benchDataLoader,
  type BenchRecord,
  formatReport,
  generationPlan,
  profileKernels,
  runBenchSuite,
  toJsonLine,
  type TrainRecord,
} from "../lib/bench/mod.ts";
import { defaultModelConfig } from "../lib/config/mod.ts";
import { median } from "../lib/util/median.ts";

/**
 * Edits of `bench-small.yaml` that shrink it to a one-layer toy (same file name, so the PyTorch
 * reference still applies to it by name).
 */
const SHRINK: [RegExp, string][] = [
  [/^ {2}d_model: \d+$/m, "  d_model: 32"],
  [/^ {2}n_heads: \d+$/m, "  n_heads: 2"],
  [/^ {2}n_layers: \d+$/m, "  n_layers: 1"],
  [/^ {2}max_sequence_length: \d+$/m, "  max_sequence_length: 16"],
  [/^ {2}vocab_size: \d+$/m, "  vocab_size: 64"],
  [/^ {2}embedding_size: \d+$/m, "  embedding_size: 64"],
  [/^global_train_batch_size: \d+$/m, "global_train_batch_size: 2"],
  [/^device_train_microbatch_size: \d+$/m, "device_train_microbatch_size: 2"],
];

/** A shrunken copy of `configs/bench/bench-small.yaml` in a temporary folder. */
async function shrunkenBenchSmall(): Promise<{ name: string; path: string; dir: string }> {
  const source = fileURLToPath(new URL("../configs/bench/bench-small.yaml", import.meta.url));
  let text = await Deno.readTextFile(source);
  for (const [pattern, line] of SHRINK) {
    assert.match(text, pattern);
    text = text.replace(pattern, line);
  }
  const dir = await Deno.makeTempDir({ prefix: "olmo-bench-test-" });
  const path = join(dir, "bench-small.yaml");
  await Deno.writeTextFile(path, text);
  return { name: "bench-small", path, dir };
}

Deno.test("median of odd and even lists", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /no values/);
});

Deno.test("generationPlan drops contexts beyond learned positions, widens RoPE/ALiBi", () => {
  const learned = { ...defaultModelConfig(), max_sequence_length: 512, rope: false, alibi: false };
  const a = generationPlan(learned, [64, 512], 32);
  assert.deepEqual(a.contexts, [64]);
  assert.deepEqual(a.dropped, [512]);
  assert.equal(a.model.max_sequence_length, 512);
  const rope = { ...learned, rope: true, max_sequence_length: 256 };
  const b = generationPlan(rope, [64, 512], 32);
  assert.deepEqual(b.contexts, [64, 512]);
  assert.equal(b.model.max_sequence_length, 544);
  assert.equal(rope.max_sequence_length, 256, "the input config is not modified");
});

Deno.test("profileKernels attributes a matmul to BatchMatMul", async () => {
  await initBackend("cpu", { quiet: true });
  const a = tf.ones([8, 4]);
  const b = tf.ones([4, 3]);
  const p = await profileKernels(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  });
  tf.dispose([a, b]);
  const row = p.byKernel.find((k) => k.kernel === "BatchMatMul");
  assert.ok(row, `kernels seen: ${p.byKernel.map((k) => k.kernel)}`);
  assert.equal(row.calls, 1);
  assert.ok(p.byShape.some((k) => k.kernel === "BatchMatMul [8,4]x[4,3]"));
});

Deno.test("benchDataLoader reads whole batches and cleans up", async () => {
  const r = await benchDataLoader({
    seqLen: 16,
    batchSize: 3,
    vocabSize: 70000,
    fileTokens: 4096,
    minSeconds: 0.01,
  });
  assert.equal(r.dtype, "uint32");
  assert.ok(r.batches >= 1);
  assert.ok(Math.abs(r.tokensPerSecond - (r.batches * 48) / r.seconds) < 1e-6);
  await assert.rejects(
    () => benchDataLoader({ seqLen: 64, batchSize: 4, vocabSize: 100, fileTokens: 100 }),
    /do not fill one batch/,
  );
});

Deno.test("runBenchSuite: one step of a shrunken bench config on cpu", async () => {
  const config = await shrunkenBenchSmall();
  const records: BenchRecord[] = [];
  await runBenchSuite({
    configs: [{ name: config.name, path: config.path }],
    backends: ["cpu"],
    steps: 1,
    warmupSteps: 1,
    matmul: true,
    generate: true,
    generateContexts: [4, 8],
    generateTokens: 2,
    profile: true,
    dataSeconds: 0.01,
    dataFileTokens: 1024,
  }, (r) => records.push(r));
  await Deno.remove(config.dir, { recursive: true });
  const kinds = records.map((r) => r.kind);
  for (const k of ["machine", "matmul", "train", "profile", "generate", "data"]) {
    assert.ok(kinds.includes(k as BenchRecord["kind"]), `missing ${k} record in ${kinds}`);
  }
  const train = records.find((r): r is TrainRecord => r.kind === "train")!;
  assert.equal(train.config, "bench-small");
  assert.equal(train.backend, "cpu");
  assert.equal(train.batchSize, 2);
  assert.equal(train.seqLen, 16);
  assert.equal(train.losses.length, 2);
  // Random tokens over 64 ids: the first loss is close to ln(64) at init.
  assert.ok(Math.abs(train.losses[0] - Math.log(64)) < 0.5, `loss ${train.losses[0]}`);
  assert.equal(train.tokensPerSecond, 32 / train.medianStepSeconds);
  assert.equal(train.pytorchTokensPerSecond, 1800);
  assert.equal(train.ratioToPytorch, train.tokensPerSecond / 1800);
  assert.ok(train.mfu !== null && train.mfu > 0);
  // ALiBi: generation runs at both contexts with a widened max_sequence_length.
  const gen = records.filter((r) => r.kind === "generate");
  assert.deepEqual(gen.map((g) => g.kind === "generate" && g.contextLength), [4, 8]);
  for (const r of records) assert.deepEqual(JSON.parse(toJsonLine(r)), r);
  const text = formatReport(records);
  for (const part of ["training", "bench-small", "generation", "data loader", "profile"]) {
    assert.ok(text.includes(part), `report lacks "${part}"`);
  }
});

Deno.test("runBenchSuite: overrides drop the PyTorch comparison", async () => {
  const records: BenchRecord[] = [];
  await runBenchSuite({
    configs: [{
      name: "bench-tiny",
      path: fileURLToPath(new URL("../configs/bench/bench-tiny.yaml", import.meta.url)),
    }],
    backends: ["cpu"],
    steps: 1,
    warmupSteps: 0,
    matmul: false,
    generate: false,
    data: false,
    overrides: [
      "model.n_layers=1",
      "model.max_sequence_length=8",
      "device_train_microbatch_size=1",
    ],
  }, (r) => records.push(r));
  const train = records.find((r): r is TrainRecord => r.kind === "train")!;
  assert.equal(train.seqLen, 8);
  assert.equal(train.pytorchTokensPerSecond, null);
  assert.equal(train.ratioToPytorch, null);
  assert.equal(train.mfu, null);
});
