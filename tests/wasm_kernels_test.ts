/**
 * The wasm kernel replacements: `Slice`/`SplitV`/`GatherV2` copy exactly what the cpu backend
 * computes for contiguous and strided boxes of every dtype; the memory guard counts buffers at
 * addresses past 2 GiB (which `malloc` returns as negative int32) and frees them again.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { areWasmCopyKernelsRegistered } from "../lib/backend/wasm_copy_kernels.ts";
import {
  installWasmMemoryGuard,
  type WasmHeapModule,
  wasmLiveBytes,
} from "../lib/backend/memory_guard.ts";

type Case = [string, (x: tf.Tensor) => tf.Tensor | tf.Tensor[]];

const CASES: Case[] = [
  ["contiguous rows", (x) => tf.slice(x, [1, 0, 0], [2, -1, -1])],
  ["inner box", (x) => tf.slice(x, [1, 1, 2], [2, 2, 3])],
  ["last axis", (x) => tf.slice(x, [0, 0, 4], [-1, -1, 2])],
  ["single element", (x) => tf.slice(x, [3, 2, 5], [1, 1, 1])],
  ["empty", (x) => tf.slice(x, [0, 0, 0], [0, 3, 6])],
  ["split axis 0", (x) => tf.split(x, [1, 3], 0)],
  ["split last axis", (x) => tf.split(x, [2, 1, 3], -1)],
  ["split middle axis", (x) => tf.split(x, 3, 1)],
  ["gather rows", (x) => tf.gather(x, tf.tensor1d([3, 0, 3, 1], "int32"))],
  ["gather with 2-D indices", (x) => tf.gather(x, tf.tensor2d([[1, 2], [0, 0]], [2, 2], "int32"))],
  ["gather axis 1 (tfjs kernel)", (x) => tf.gather(x, tf.tensor1d([2, 0], "int32"), 1)],
  ["gather scalars", (x) => tf.gather(tf.reshape(x, [-1]), tf.tensor1d([5, 71, 0], "int32"))],
];

async function runAll(dtype: "float32" | "int32" | "bool"): Promise<number[][]> {
  const data = Array.from({ length: 4 * 3 * 6 }, (_, i) => (dtype === "bool" ? i % 3 === 0 : i));
  const x = tf.tensor(data as number[], [4, 3, 6], dtype);
  const out: number[][] = [];
  for (const [, f] of CASES) {
    const r = tf.tidy(() => f(x));
    for (const t of Array.isArray(r) ? r : [r]) {
      out.push([...t.shape, ...Array.from(await t.data())]);
      t.dispose();
    }
  }
  x.dispose();
  return out;
}

Deno.test("wasm Slice/SplitV/GatherV2 equal the cpu backend for every layout and dtype", async () => {
  for (const dtype of ["float32", "int32", "bool"] as const) {
    await initBackend("cpu", { quiet: true });
    const expected = await runAll(dtype);
    await initBackend("wasm", { quiet: true });
    assert.ok(areWasmCopyKernelsRegistered());
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    assert.deepEqual(await runAll(dtype), expected, dtype);
    assert.equal(backend.numDataIds(), before, `${dtype}: buffers leaked`);
  }
  // Slices of a 4-D tensor through the gradient (slice's gradient pads).
  const x = tf.tensor4d(Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i / 7), [2, 3, 4, 5]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.slice(t, [1, 0, 1, 2], [1, 3, 2, 3]))))(
    x,
  );
  const got = Array.from(await g.data());
  await initBackend("cpu", { quiet: true });
  const xc = tf.tensor4d(Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i / 7), [2, 3, 4, 5]);
  const gc = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.slice(t, [1, 0, 1, 2], [1, 3, 2, 3]))))(
    xc,
  );
  assert.deepEqual(got, Array.from(await gc.data()));
  tf.dispose([x, g, xc, gc]);
});

Deno.test("wasm batched matmuls (one 2-D product per batch) equal the cpu backend", async () => {
  const run = async () => {
    const out: number[][] = [];
    const shapes: [number[], number[], boolean, boolean][] = [
      [[3, 4, 5], [3, 5, 2], false, false],
      [[2, 3, 4, 5], [2, 3, 2, 5], false, true], // attention-like q·kᵀ
      [[2, 3, 5, 4], [2, 3, 5, 2], true, false],
      [[3, 4, 5], [5, 2], false, false], // shared b
      [[4, 5], [3, 5, 2], false, false], // shared a
    ];
    for (const [sa, sb, ta, tb] of shapes) {
      const r = tf.tidy(() => {
        const a = tf.tensor(
          Array.from({ length: sa.reduce((p, d) => p * d) }, (_, i) => i % 7 - 3),
          sa,
        );
        const b = tf.tensor(
          Array.from({ length: sb.reduce((p, d) => p * d) }, (_, i) => i % 5 - 2),
          sb,
        );
        return tf.matMul(a, b, ta, tb);
      });
      out.push([...r.shape, ...Array.from(await r.data())]);
      r.dispose();
    }
    return out;
  };
  await initBackend("cpu", { quiet: true });
  const expected = await run();
  await initBackend("wasm", { quiet: true });
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = backend.numDataIds();
  assert.deepEqual(await run(), expected); // small integers: exact in float32
  assert.equal(backend.numDataIds(), before, "views or partial products leaked");
});

Deno.test("wasm transposed operands are cached for inference only, and dropped with their source", async () => {
  await initBackend("wasm", { quiet: true });
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const data = Array.from({ length: 300 * 300 }, (_, i) => (i % 11) - 5);
  const x = tf.tensor2d(Array.from({ length: 2 * 300 }, (_, i) => i % 3), [2, 300]);
  const w = tf.tensor2d(data, [300, 300]);
  const expected = await tf.tidy(() => tf.matMul(x, tf.transpose(w))).data();
  const base = backend.numDataIds();
  const first = tf.matMul(x, w, false, true);
  assert.deepEqual(await first.data(), expected);
  assert.equal(backend.numDataIds(), base + 2, "result + one cached transpose");
  const second = tf.matMul(x, w, false, true);
  assert.deepEqual(await second.data(), expected);
  assert.equal(backend.numDataIds(), base + 3, "a hit allocates only the result");
  tf.dispose([first, second]);
  // While gradients are recorded nothing is cached.
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(x, t, false, true)))(w);
  g.dispose();
  assert.equal(backend.numDataIds(), base + 1);
  // Disposing the source drops its transpose at the next caching call.
  w.dispose();
  const w2 = tf.tensor2d(data, [300, 300]);
  const third = tf.matMul(x, w2, false, true);
  assert.deepEqual(await third.data(), expected);
  assert.equal(backend.numDataIds(), base - 1 + 1 + 2, "old transpose freed, new one cached");
  tf.dispose([third, w2, x]);
});

Deno.test("wasm GatherV2 rejects an index out of range without leaking", async () => {
  await initBackend("wasm", { quiet: true });
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const x = tf.ones([3, 2]);
  const idx = tf.tensor1d([0, 3], "int32");
  const before = backend.numDataIds();
  assert.throws(() => tf.gather(x, idx), /GatherV2: the index value 3 is not in \[0, 2\]/);
  assert.equal(backend.numDataIds(), before);
  tf.dispose([x, idx]);
});

Deno.test("memory guard: addresses past 2 GiB are counted and released", () => {
  const high = 0x80000010; // what tfjs passes to _free (unsigned)
  const fake: WasmHeapModule = {
    HEAPU8: new Uint8Array(64),
    _malloc: (_n: number) => high | 0, // malloc's signed int32 view of the same address
    _free: (_p: number) => {},
  };
  installWasmMemoryGuard(fake);
  const before = wasmLiveBytes();
  const pointer = fake._malloc(1000);
  assert.equal(wasmLiveBytes(), before + 1000);
  fake._free(pointer >>> 0);
  assert.equal(wasmLiveBytes(), before);
});
