/**
 * The `native` engine's matmul (OpenBLAS through FFI on host-memory tensors) and the wasm
 * sharing `Identity`: matmuls of every layout agree with the pure-JS cpu backend, gradients too,
 * switching between wasm and native keeps the wasm fixes, a missing library gives the install
 * hint, clones share buffers without breaking disposal, and training steps keep tf.memory()
 * flat.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { activeBackend, initBackend, nativeEngineAvailable } from "../lib/backend/mod.ts";
import { isWasmIdentityFixRegistered } from "../lib/backend/wasm_identity_fix.ts";
import { isWasmMatMulFixRegistered } from "../lib/backend/wasm_matmul_fix.ts";
import { openBlasLibrary } from "../lib/backend/blas_library.ts";
import { buildTrainStep } from "../lib/bench/train_step.ts";
import { loadTrainConfig } from "../lib/config/mod.ts";

const HAS_NATIVE = nativeEngineAvailable();

/** Deterministic values in [-1, 1) from a small LCG. */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

interface MatmulCase {
  label: string;
  a: number[];
  b: number[];
  transposeA?: boolean;
  transposeB?: boolean;
}

const CASES: MatmulCase[] = [
  { label: "2-D", a: [5, 7], b: [7, 3] },
  { label: "transposeA", a: [7, 5], b: [7, 3], transposeA: true },
  { label: "transposeB", a: [5, 7], b: [3, 7], transposeB: true },
  { label: "both transposed", a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
  { label: "batched", a: [4, 5, 7], b: [4, 7, 3] },
  { label: "shared b (one sgemm)", a: [2, 3, 5, 7], b: [7, 3] },
  { label: "shared b, transposeA", a: [4, 7, 5], b: [1, 7, 3], transposeA: true },
  { label: "shared a", a: [5, 7], b: [4, 3, 7], transposeB: true },
  { label: "attention-like", a: [2, 4, 16, 8], b: [2, 4, 16, 8], transposeB: true },
  { label: "empty rows", a: [0, 7], b: [7, 3] },
  { label: "one row (matrix-vector)", a: [1, 7], b: [3, 7], transposeB: true },
  { label: "one row, b not transposed", a: [1, 7], b: [7, 3] },
  { label: "one row, transposeA", a: [7, 1], b: [7, 3], transposeA: true },
  { label: "one row per batch", a: [4, 1, 7], b: [4, 3, 7], transposeB: true },
];

/** Results of every case on the active backend. */
async function runCases(): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const [i, c] of CASES.entries()) {
    const r = tf.tidy(() => {
      const a = tf.tensor(values(c.a.reduce((p, d) => p * d, 1), 2 * i + 1), c.a);
      const b = tf.tensor(values(c.b.reduce((p, d) => p * d, 1), 2 * i + 2), c.b);
      return tf.matMul(a, b, c.transposeA, c.transposeB);
    });
    out.push(Float32Array.from(await r.data()));
    r.dispose();
  }
  return out;
}

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `${label}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("a missing CBLAS library fails with the paths tried and the install hint", () => {
  assert.throws(
    () => openBlasLibrary(["/nonexistent/libnoblas.so"]),
    (e: Error) => {
      assert.match(e.message, /\/nonexistent\/libnoblas\.so/);
      assert.match(e.message, /apt-get install libopenblas0-pthread/);
      assert.match(e.message, /OLMO_BLAS_LIB/);
      return true;
    },
  );
});

Deno.test({
  name: "native matmul agrees with cpu for every layout, batch broadcast and empty shapes",
  ignore: !HAS_NATIVE,
  fn: async () => {
    await initBackend("cpu", { quiet: true });
    const expected = await runCases();
    assert.equal(await initBackend("native", { quiet: true }), "native");
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const got = await runCases();
    assert.equal(backend.numDataIds(), before, "the native kernel leaked buffers");
    for (const [i, c] of CASES.entries()) assertClose(got[i], expected[i], 1e-5, c.label);
    // General broadcasting of the outer axes (tfjs' own kernels only broadcast a batch of 1).
    const broadcast = async (tile: boolean) => {
      const r = tf.tidy(() => {
        const a = tf.tensor(values(2 * 5 * 7, 21), [2, 1, 5, 7]);
        const b = tf.tensor(values(3 * 7 * 3, 22), [1, 3, 7, 3]);
        return tile
          ? tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1]))
          : tf.matMul(a, b);
      });
      assert.deepEqual(r.shape, [2, 3, 5, 3]);
      const v = Float32Array.from(await r.data());
      r.dispose();
      return v;
    };
    const broadcastNative = await broadcast(false);
    await initBackend("cpu", { quiet: true });
    assertClose(broadcastNative, await broadcast(true), 1e-5, "broadcast outer axes");
    await initBackend("native", { quiet: true });
    // K = 0: the product is all zeros, also in a freshly allocated (dirty) output.
    const zeros = tf.tidy(() => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 2])));
    assert.deepEqual(Array.from(await zeros.data()), [0, 0, 0, 0, 0, 0]);
    zeros.dispose();
  },
});

Deno.test({
  name: "native matmul gradients agree with cpu",
  ignore: !HAS_NATIVE,
  fn: async () => {
    const grads = async () => {
      const a = tf.tensor(values(2 * 5 * 7, 11), [2, 5, 7]);
      const b = tf.tensor(values(2 * 3 * 7, 12), [2, 3, 7]);
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(x, y, false, true)))
      )([a, b]);
      const out = [Float32Array.from(await g[0].data()), Float32Array.from(await g[1].data())];
      tf.dispose([a, b, ...g]);
      return out;
    };
    await initBackend("cpu", { quiet: true });
    const expected = await grads();
    await initBackend("native", { quiet: true });
    const got = await grads();
    assertClose(got[0], expected[0], 1e-5, "d a");
    assertClose(got[1], expected[1], 1e-5, "d b");
  },
});

Deno.test({
  name: "switching wasm <-> native keeps the wasm fixes; tensors move between them",
  ignore: !HAS_NATIVE,
  fn: async () => {
    assert.equal(await initBackend("native", { quiet: true }), "native");
    assert.equal(activeBackend(), "native");
    assert.equal(tf.getBackend(), "native");
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    assert.equal(await initBackend("wasm", { quiet: true }), "wasm");
    assert.equal(activeBackend(), "wasm");
    assert.ok(isWasmMatMulFixRegistered());
    assert.ok(isWasmIdentityFixRegistered());
    const y = tf.matMul(x, x); // x moves from host memory onto the wasm heap
    assert.deepEqual(Array.from(await y.data()), [7, 10, 15, 22]);
    assert.equal(await initBackend("native", { quiet: true }), "native");
    const z = tf.matMul(y, x, true, false);
    assert.deepEqual(Array.from(await z.data()), [7 + 45, 14 + 60, 10 + 66, 20 + 88]);
    tf.dispose([x, y, z]);
  },
});

Deno.test("wasm Identity shares the buffer; each reference frees on its own", async () => {
  await initBackend("wasm", { quiet: true });
  assert.ok(isWasmIdentityFixRegistered());
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = backend.numDataIds();
  const x = tf.tensor1d([1.5, -2, 3]);
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), before + 1, "the clone must not allocate a buffer");
  x.dispose();
  assert.deepEqual(Array.from(await y.data()), [1.5, -2, 3]);
  const z = tf.add(y, 1);
  assert.deepEqual(Array.from(await z.data()), [2.5, -1, 4]);
  tf.dispose([y, z]);
  assert.equal(backend.numDataIds(), before);
  // A saved-for-gradient tensor (cloned by tfjs) still gives the right gradient.
  const w = tf.tensor1d([2, 3]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, t)))(w);
  assert.deepEqual(Array.from(await g.data()), [4, 6]);
  tf.dispose([w, g]);
});

Deno.test({
  name: "native training steps keep tf.memory() flat",
  ignore: !HAS_NATIVE,
  fn: async () => {
    await initBackend("native", { quiet: true });
    const cfg = await loadTrainConfig(
      fileURLToPath(new URL("../configs/bench/bench-small.yaml", import.meta.url)),
      { validatePaths: false, overrides: ["model.n_layers=1", "model.max_sequence_length=32"] },
    );
    const rig = buildTrainStep(cfg);
    try {
      await rig.step();
      const after = [];
      for (let i = 0; i < 3; i++) {
        await rig.step();
        const m = tf.memory();
        after.push([
          m.numTensors,
          m.numBytes,
          (tf.backend() as unknown as { numDataIds(): number }).numDataIds(),
        ]);
      }
      assert.deepEqual(after[1], after[0]);
      assert.deepEqual(after[2], after[0]);
    } finally {
      rig.dispose();
    }
  },
});
