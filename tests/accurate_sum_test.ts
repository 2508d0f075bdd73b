/**
 * Accurate reductions: Σx, Σx² and the optimizer's global gradient norm over more than 10M
 * elements agree with a float64 reference computed here to 1e-6 relative on every backend
 * available (cpu, wasm, native, webgpu), and the gradient of the sums is right. The plain float32
 * `tf.sum` of wasm is shown to miss that bound on the same data, so the check can fail.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  accurateMean,
  accurateSum,
  accurateSumOfSquares,
  type BackendName,
  initBackend,
  nativeEngineAvailable,
} from "../lib/backend/mod.ts";
import { webgpuAdapterAvailable } from "../lib/backend/webgpu.ts";
import { createOptimizer, type OptimizerSettings } from "../lib/optim/mod.ts";

/** More than 10M elements, not a power of the pairwise width. */
const COUNT = 10_000_003;
const TOLERANCE = 1e-6;

const BACKENDS: BackendName[] = [
  "cpu",
  "wasm",
  ...(nativeEngineAvailable() ? ["native" as const] : []),
  ...(await webgpuAdapterAvailable() ? ["webgpu" as const] : []),
];

/** Deterministic values in [lo, lo + 1) from a small LCG. */
function values(count: number, seed: number, lo: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = lo + state / 2 ** 32;
  }
  return out;
}

/** Float64 Σx, Σ|x| and Σx² of float32 values. */
function reference(x: Float32Array): { sum: number; abs: number; squares: number } {
  let sum = 0, abs = 0, squares = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i];
    abs += Math.abs(x[i]);
    squares += x[i] * x[i];
  }
  return { sum, abs, squares };
}

const POSITIVE = values(COUNT, 7, 0.5); // sequential float32 sums of these drift visibly
const SIGNED = values(COUNT, 11, -0.5);
const POSITIVE_REF = reference(POSITIVE);
const SIGNED_REF = reference(SIGNED);

for (const backend of BACKENDS) {
  Deno.test(`accurate sums of ${COUNT} elements on ${backend} within ${TOLERANCE}`, async () => {
    await initBackend(backend, { quiet: true });
    const before = tf.memory().numTensors;
    const pos = tf.tensor1d(POSITIVE);
    const signed = tf.tensor2d(SIGNED, [1, COUNT]);
    const got = tf.tidy(() =>
      tf.stack([
        accurateSum(pos),
        accurateSumOfSquares(pos),
        accurateMean(pos),
        accurateSum(signed),
        accurateSumOfSquares(signed),
      ])
    );
    const [sum, squares, mean, signedSum, signedSquares] = await got.data();
    const rel = (a: number, b: number, scale = Math.abs(b)) => Math.abs(a - b) / scale;
    assert.ok(rel(sum, POSITIVE_REF.sum) < TOLERANCE, `Σx off by ${rel(sum, POSITIVE_REF.sum)}`);
    assert.ok(rel(squares, POSITIVE_REF.squares) < TOLERANCE, `Σx² ${squares}`);
    assert.ok(rel(mean, POSITIVE_REF.sum / COUNT) < TOLERANCE, `mean ${mean}`);
    // A signed sum is accurate relative to Σ|x| (cancellation is not the reduction's error).
    const signedErr = rel(signedSum, SIGNED_REF.sum, SIGNED_REF.abs);
    assert.ok(signedErr < TOLERANCE, `signed Σx off by ${signedErr} of Σ|x|`);
    assert.ok(rel(signedSquares, SIGNED_REF.squares) < TOLERANCE, `signed Σx² ${signedSquares}`);
    tf.dispose([pos, signed, got]);
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  });

  // The optimizer path once per CPU backend (webgpu's software adapter takes ~20 s for it).
  if (backend === "webgpu") continue;
  Deno.test(`global gradient norm over ${COUNT} elements on ${backend}`, async () => {
    await initBackend(backend, { quiet: true });
    const split = 7_000_001;
    const params = new Map<string, tf.Variable>([
      ["transformer.blocks.0.att_proj.weight", tf.variable(tf.zeros([split]))],
      ["transformer.ln_f.weight", tf.variable(tf.zeros([COUNT - split]))],
    ]);
    const settings: OptimizerSettings = {
      name: "adamw",
      learning_rate: 0.01,
      weight_decay: 0.1,
      betas: [0.9, 0.95],
    };
    const opt = createOptimizer(settings, params, { max_grad_norm: 1.0 });
    const grads = new Map<string, tf.Tensor>([
      ["transformer.blocks.0.att_proj.weight", tf.tensor1d(POSITIVE.subarray(0, split))],
      ["transformer.ln_f.weight", tf.tensor1d(POSITIVE.subarray(split))],
    ]);
    const r = await opt.clipGradsAndCollectMetrics(grads, 1, true);
    const norm = Math.sqrt(POSITIVE_REF.squares);
    const err = Math.abs(r.totalGradNorm - norm) / norm;
    assert.ok(err < TOLERANCE, `total grad norm ${r.totalGradNorm} vs ${norm}: ${err}`);
    const first = reference(POSITIVE.subarray(0, split));
    const m = r.metrics;
    const avg = m["grad/transformer.blocks.0.att_proj.weight.avg"];
    const pnorm = m["grad/transformer.blocks.0.att_proj.weight.norm"];
    assert.ok(Math.abs(avg - first.sum / split) / (first.sum / split) < TOLERANCE, `avg ${avg}`);
    const firstNorm = Math.sqrt(first.squares);
    assert.ok(Math.abs(pnorm - firstNorm) / firstNorm < TOLERANCE, `norm ${pnorm}`);
    tf.dispose([...grads.values(), ...r.grads.values(), ...params.values()]);
    opt.dispose();
  });
}

Deno.test("wasm's plain float32 tf.sum misses the bound on the same data", async () => {
  await initBackend("wasm", { quiet: true });
  const x = tf.tensor1d(POSITIVE);
  const plain = tf.sum(x);
  const got = (await plain.data())[0];
  tf.dispose([x, plain]);
  const err = Math.abs(got - POSITIVE_REF.sum) / POSITIVE_REF.sum;
  assert.ok(err > TOLERANCE, `sequential float32 sum was accurate (${err}): the test data is weak`);
});

Deno.test("the gradients of the accurate sums are the incoming gradient broadcast", async () => {
  await initBackend("cpu", { quiet: true });
  const x = tf.tensor2d([[1, -2, 3], [0.5, 4, -1]]);
  const g =
    tf.grads((t: tf.Tensor) => tf.add(tf.mul(accurateSum(t), 3), accurateSumOfSquares(t)))([x])[0];
  // d/dx (3Σx + Σx²) = 3 + 2x.
  assert.deepEqual(Array.from(await g.data()), [5, -1, 9, 4, 11, 1]);
  const mean = tf.grad((t: tf.Tensor) => accurateMean(t))(x);
  assert.deepEqual(Array.from(await mean.data()), new Array(6).fill(Math.fround(1 / 6)));
  tf.dispose([x, g, mean]);
});
