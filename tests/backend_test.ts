/**
 * Backends: the same tiny network gives the same loss and gradients on cpu, wasm and webgpu; the
 * embedding gradient matches a hand-computed one everywhere; the wasm matmul fix is registered and
 * bit-identical to transposing by hand; the wasm memory guard throws clear errors; unknown and
 * missing backends fail clearly.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  activeBackend,
  BACKEND_NAMES,
  type BackendName,
  checkWasmMemory,
  DEFAULT_WASM_MEMORY_LIMIT_BYTES,
  initBackend,
  nativeEngineAvailable,
  setWasmMemoryLimit,
  wasmMemoryLimit,
  webgpuHardwareAdapterAvailable,
} from "../lib/backend/mod.ts";
import { findTensorflowPackage } from "../lib/backend/tensorflow.ts";
import {
  installWasmMemoryGuard,
  type WasmHeapModule,
  wasmLiveBytes,
} from "../lib/backend/memory_guard.ts";
import {
  isWasmMatMulFixRegistered,
  registerWasmMatMulFix,
} from "../lib/backend/wasm_matmul_fix.ts";
import { webgpuAdapterAvailable } from "../lib/backend/webgpu.ts";
import { embedding } from "../lib/model/mod.ts";

// Mesa's Vulkan driver prints harmless errors when XDG_RUNTIME_DIR is unset; CI sets it (the
// test may not: the environment is the whole process's, shared by every test file).
const HAS_WEBGPU = await webgpuAdapterAvailable();
const HAS_TENSORFLOW = findTensorflowPackage() !== null;
/**
 * What `auto` must pick without tensorflow: webgpu on a hardware GPU (never a software one),
 * else native when OpenBLAS and oneDNN load, else wasm.
 */
const AUTO_WITHOUT_TENSORFLOW = await webgpuHardwareAdapterAvailable()
  ? "webgpu"
  : nativeEngineAvailable()
  ? "native"
  : "wasm";

/** Deterministic values in [-0.5, 0.5) from a small LCG, identical on every backend. */
function pseudoRandom(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 32 - 0.5;
  }
  return out;
}

/**
 * Asserts |actual - expected| <= rtol * (|expected| + 0.2 * max|expected|) elementwise: relative,
 * with a floor for the entries of a gradient that are tiny next to its largest one.
 */
function assertClose(actual: Float32Array, expected: Float32Array, rtol: number, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = rtol * (Math.abs(expected[i]) + 0.2 * scale);
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance,
      `${label}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tolerance})`,
    );
  }
}

const V = 13; // vocabulary
const D = 8; // model width
const B = 2; // batch
const T = 5; // sequence length
const IDS = [[3, 7, 3, 12, 0], [7, 7, 1, 5, 3]]; // duplicates exercise the scatter gradient
const TARGETS = [[7, 3, 12, 0, 4], [7, 1, 5, 3, 9]];
const PARAM_SHAPES: Record<string, number[]> = {
  emb: [V, D],
  wq: [D, D],
  wk: [D, D],
  wv: [D, D],
  gain: [D],
};

interface NetworkResult {
  loss: number;
  grads: Record<string, Float32Array>;
}

/**
 * Loss and gradients of a one-block attention network with a tied head on the active backend:
 * embedding, layer norm, batched matmuls with transposeA and transposeB, masked softmax, cross
 * entropy.
 */
async function runTinyNetwork(): Promise<NetworkResult> {
  const names = Object.keys(PARAM_SHAPES);
  const params = names.map((name, i) => {
    const shape = PARAM_SHAPES[name];
    const values = pseudoRandom(shape.reduce((a, b) => a * b, 1), 17 + i);
    return name === "gain" ? tf.add(tf.tensor(values, shape), 1) : tf.tensor(values, shape);
  });
  const ids = tf.tensor2d(IDS, [B, T], "int32");
  const targets = tf.oneHot(tf.tensor2d(TARGETS, [B, T], "int32"), V); // (B, T, V)
  const causal = tf.cast(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), "bool"); // (T, T)
  const lossFn = (emb: tf.Tensor, wq: tf.Tensor, wk: tf.Tensor, wv: tf.Tensor, gain: tf.Tensor) => {
    const x = embedding(emb as tf.Tensor2D, ids); // (B, T, D)
    const centered = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.square(centered), -1, true);
    const h = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, 1e-5))), gain); // (B, T, D)
    const flat = tf.reshape(h, [B * T, D]);
    const project = (w: tf.Tensor) => tf.reshape(tf.matMul(flat, w as tf.Tensor2D), [B, T, D]);
    const [q, k, v] = [project(wq), project(wk), project(wv)];
    const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(D)); // (B, T, T)
    const masked = tf.where(causal, scores, tf.fill([B, T, T], -1e9));
    const y = tf.matMul(tf.softmax(masked), v); // (B, T, D)
    const gram = tf.matMul(h, y, true, false); // (B, D, D): batched transposeA
    const logits = tf.matMul(tf.reshape(tf.add(y, h), [B * T, D]), emb as tf.Tensor2D, false, true);
    const logProbs = tf.reshape(tf.logSoftmax(logits), [B, T, V]);
    const crossEntropy = tf.neg(tf.mean(tf.sum(tf.mul(targets, logProbs), -1)));
    return tf.add(crossEntropy, tf.mul(1e-3, tf.mean(tf.square(gram)))) as tf.Scalar;
  };
  const { value, grads } = tf.tidy(() => {
    const result = tf.valueAndGrads(lossFn as (...args: tf.Tensor[]) => tf.Scalar)(params);
    return { value: result.value, grads: result.grads };
  });
  const out: NetworkResult = { loss: (await value.data())[0], grads: {} };
  for (let i = 0; i < names.length; i++) {
    out.grads[names[i]] = await grads[i].data() as Float32Array;
  }
  tf.dispose([value, grads, params, ids, targets, causal]);
  return out;
}

/** Hand-computed check of `embedding`'s forward rows and gradient on the active backend. */
async function checkEmbeddingGradient(): Promise<Float32Array> {
  const vocab = 6;
  const dim = 3;
  const ids = [[1, 4, 1], [0, 4, 4]];
  const weightValues = pseudoRandom(vocab * dim, 5);
  const coefValues = pseudoRandom(2 * 3 * dim, 9);
  const weight = tf.tensor2d(weightValues, [vocab, dim]);
  const idTensor = tf.tensor2d(ids, [2, 3], "int32");
  const coef = tf.tensor3d(coefValues, [2, 3, dim]);
  const rows = embedding(weight, idTensor);
  const grad = tf.grad((w: tf.Tensor) =>
    tf.sum(tf.mul(embedding(w as tf.Tensor2D, idTensor), coef))
  );
  const gradTensor = grad(weight);
  const [rowValues, gradValues] = [await rows.data(), await gradTensor.data() as Float32Array];
  const expectedRows = new Float32Array(2 * 3 * dim);
  const expectedGrad = new Float64Array(vocab * dim); // d/dW[v] = sum of coef rows where id == v
  ids.flat().forEach((id, position) => {
    for (let d = 0; d < dim; d++) {
      expectedRows[position * dim + d] = weightValues[id * dim + d];
      expectedGrad[id * dim + d] += coefValues[position * dim + d];
    }
  });
  assert.deepEqual(Array.from(rowValues), Array.from(expectedRows), "embedding rows");
  assertClose(gradValues, new Float32Array(expectedGrad), 1e-6, "embedding gradient");
  tf.dispose([weight, idTensor, coef, rows, gradTensor]);
  return gradValues;
}

Deno.test("unknown backend names are rejected with the valid list", async () => {
  assert.deepEqual([...BACKEND_NAMES], ["auto", "tensorflow", "native", "wasm", "webgpu", "cpu"]);
  await assert.rejects(
    initBackend("gpu" as BackendName, { quiet: true }),
    /Unknown backend "gpu": expected one of auto, tensorflow, native, wasm, webgpu, cpu/,
  );
});

Deno.test({
  name: "tensorflow backend missing: clear install message; auto falls back silently",
  ignore: HAS_TENSORFLOW,
  fn: async () => {
    await assert.rejects(initBackend("tensorflow", { quiet: true }), (error: Error) => {
      assert.match(error.message, /@tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node/);
      assert.match(error.message, /deno add npm:@tensorflow\/tfjs-node@4\.22\.0/);
      assert.match(error.message, /deno install --allow-scripts=npm:@tensorflow\/tfjs-node@/);
      return true;
    });
    const printed: unknown[] = [];
    const saved = { error: console.error, warn: console.warn, log: console.log };
    console.error = console.warn = console.log = (...args: unknown[]) => printed.push(args);
    try {
      assert.equal(await initBackend("auto", { quiet: true }), AUTO_WITHOUT_TENSORFLOW);
    } finally {
      Object.assign(console, saved);
    }
    assert.deepEqual(printed, []);
    assert.equal(activeBackend(), AUTO_WITHOUT_TENSORFLOW);
  },
});

Deno.test("tiny network: same loss and gradients on cpu, wasm and webgpu", async () => {
  assert.equal(await initBackend("cpu", { quiet: true }), "cpu");
  assert.equal(await initBackend("cpu", { quiet: true }), "cpu"); // idempotent
  const reference = await runTinyNetwork();
  assert.ok(Number.isFinite(reference.loss) && reference.loss > 0);
  const others: string[] = HAS_WEBGPU ? ["wasm", "webgpu"] : ["wasm"];
  for (const name of others) {
    assert.equal(await initBackend(name as BackendName, { quiet: true }), name);
    assert.equal(activeBackend(), name);
    const result = await runTinyNetwork();
    assertClose(new Float32Array([result.loss]), new Float32Array([reference.loss]), 1e-5, name);
    for (const param of Object.keys(reference.grads)) {
      assertClose(result.grads[param], reference.grads[param], 1e-5, `${name} grad ${param}`);
    }
  }
});

Deno.test("embedding gradient equals the hand-computed one on every backend", async () => {
  await initBackend("cpu", { quiet: true });
  const reference = await checkEmbeddingGradient();
  for (const name of HAS_WEBGPU ? ["wasm", "webgpu"] : ["wasm"]) {
    await initBackend(name as BackendName, { quiet: true });
    assertClose(await checkEmbeddingGradient(), reference, 1e-6, `${name} vs cpu`);
  }
});

/** Host values of `fn()`'s result on the active backend, disposing everything it made. */
async function valuesOf(fn: () => tf.Tensor): Promise<number[]> {
  const result = tf.tidy(fn);
  const values = Array.from(await result.data());
  result.dispose();
  return values;
}

Deno.test("wasm matmul fix: registered once, bit-identical, frees temporaries", async () => {
  await initBackend("wasm", { quiet: true });
  assert.ok(isWasmMatMulFixRegistered());
  const kernelBefore = tf.getKernel("BatchMatMul", "wasm").kernelFunc;
  registerWasmMatMulFix();
  assert.equal(tf.getKernel("BatchMatMul", "wasm").kernelFunc, kernelBefore, "wrapped twice");

  const a = tf.tensor3d(pseudoRandom(2 * 5 * 7, 1), [2, 5, 7]); // (B, M, K)
  const aT = tf.tensor3d(pseudoRandom(2 * 7 * 5, 2), [2, 7, 5]); // (B, K, M)
  const b = tf.tensor3d(pseudoRandom(2 * 7 * 9, 3), [2, 7, 9]); // (B, K, N)
  const bT = tf.tensor3d(pseudoRandom(2 * 9 * 7, 4), [2, 9, 7]); // (B, N, K)
  const swap = (x: tf.Tensor) => tf.transpose(x, [0, 2, 1]);
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const dataIdsBefore = backend.numDataIds();
  const cases: [string, () => tf.Tensor, () => tf.Tensor][] = [
    ["transposeB", () => tf.matMul(a, bT, false, true), () => tf.matMul(a, swap(bT))],
    ["transposeA", () => tf.matMul(aT, b, true, false), () => tf.matMul(swap(aT), b)],
    ["both", () => tf.matMul(aT, bT, true, true), () => tf.matMul(swap(aT), swap(bT))],
    [
      "rank 2 with a unit axis",
      () => tf.matMul(tf.ones([7, 1]), tf.ones([3, 7]), true, true),
      () => tf.matMul(tf.ones([1, 7]), tf.ones([7, 3])),
    ],
    [
      "fused with bias and relu",
      () =>
        tf.fused.matMul({ a: aT, b: bT, transposeA: true, transposeB: true, activation: "relu" }),
      () => tf.fused.matMul({ a: swap(aT), b: swap(bT), activation: "relu" }),
    ],
  ];
  const fixedResults: number[][] = [];
  for (const [label, fixed, reference] of cases) {
    const fixedValues = await valuesOf(fixed);
    assert.deepEqual(fixedValues, await valuesOf(reference), `${label}: not bit-identical`);
    fixedResults.push(fixedValues);
  }
  assert.equal(backend.numDataIds(), dataIdsBefore, "transposed temporaries leaked");
  // The fixed kernel computes the right product: compare with the cpu backend.
  await initBackend("cpu", { quiet: true });
  for (let i = 0; i < cases.length; i++) {
    const cpuValues = new Float32Array(await valuesOf(cases[i][1]));
    assertClose(new Float32Array(fixedResults[i]), cpuValues, 1e-5, `${cases[i][0]} vs cpu`);
  }
  tf.dispose([a, aT, b, bT]);
});

Deno.test("wasm memory guard: clear errors at a lowered limit, no corruption", async () => {
  await initBackend("wasm", { quiet: true });
  const heap = () => (tf.backend() as unknown as { wasm: WasmHeapModule }).wasm.HEAPU8;
  assert.equal(wasmMemoryLimit(), DEFAULT_WASM_MEMORY_LIMIT_BYTES);
  checkWasmMemory(); // far below the default limit
  const kept = tf.tensor1d([1.5, -2, 3.25]);
  try {
    // Live tensor bytes plus the request exceed the limit: refused before allocating.
    setWasmMemoryLimit(wasmLiveBytes() + 2 ** 20);
    assert.throws(() => tf.zeros([2 ** 20]), /wasm memory guard: allocating 4\.0 MiB would/);
    // The allocation fits the live-bytes budget but grows the heap past the limit.
    const heapBytes = heap().buffer.byteLength;
    setWasmMemoryLimit(heapBytes + 2 ** 21);
    const floats = Math.floor((wasmMemoryLimit() - wasmLiveBytes() - 1024) / 4);
    assert.throws(() => tf.zeros([floats]), /grew the wasm heap to .* above the safety limit/);
    assert.throws(() => checkWasmMemory(), /the wasm heap is .* MiB, above the safety limit/);
    // Nothing was corrupted and small allocations still work.
    assert.deepEqual(Array.from(await kept.data()), [1.5, -2, 3.25]);
    assert.deepEqual(await valuesOf(() => tf.add(kept, 1)), [2.5, -1, 4.25]);
    await initBackend("cpu", { quiet: true });
    setWasmMemoryLimit(1);
    checkWasmMemory(); // no-op on other backends
  } finally {
    setWasmMemoryLimit(DEFAULT_WASM_MEMORY_LIMIT_BYTES);
    kept.dispose();
  }
  assert.throws(() => setWasmMemoryLimit(-1), /expected a positive number of bytes, got -1/);
});

Deno.test("wasm memory guard: a failed malloc throws instead of returning address 0", () => {
  const freed: number[] = [];
  let nextResult = 64;
  const rawMalloc = (_numBytes: number) => nextResult;
  const fake: WasmHeapModule = {
    HEAPU8: new Uint8Array(1024),
    // Like emscripten's lazy export stub: replaces itself with the raw export on first call.
    _malloc: (numBytes: number) => {
      fake._malloc = rawMalloc;
      return rawMalloc(numBytes);
    },
    _free: (pointer: number) => void freed.push(pointer),
  };
  installWasmMemoryGuard(fake);
  installWasmMemoryGuard(fake); // idempotent: one wrapper
  assert.equal(fake._malloc(16), 64);
  assert.equal(fake._malloc(16), 64); // the stub's self-replacement kept the guard
  nextResult = 0;
  assert.throws(() => fake._malloc(16), /malloc of 0\.0 MiB failed with the heap at 0\.0 MiB/);
  assert.deepEqual(freed, []);
});
