/**
 * The `native` engine's oneDNN and copy kernels agree with tfjs's pure-JS `cpu` backend: every
 * element-wise, broadcasting binary (including the swapped and fallback broadcasts), softmax,
 * transpose, reduction, slice, split, concat, gather and scatter-update case, above and below the size where kernels go
 * native, with gradients through them, and no leaked buffers. A missing oneDNN names the package.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { DNNL_INSTALL_HINT, initBackend, nativeEngineAvailable } from "../lib/backend/mod.ts";
import { Dnnl } from "../lib/backend/host/dnnl.ts";
import { POOL_MIN_LENGTH } from "../lib/backend/host/buffer_pool.ts";
import { mergeBroadcastAxes, NATIVE_MIN_ELEMENTS } from "../lib/backend/host/kernels_math.ts";

const HAS_NATIVE = nativeEngineAvailable();

/** Deterministic values in [-1, 1) from a small LCG. */
function values(shape: number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((p, d) => p * d, 1));
  let state = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

type Case = [string, (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], number[][], number];

/** Big: (64, 24, 32) = 49152 elements, above NATIVE_MIN_ELEMENTS. */
const B = [64, 24, 32];
const CASES: Case[] = [
  ["add, same shape", ([a, b]) => tf.add(a, b), [B, B], 0],
  ["add, row broadcast", ([a, b]) => tf.add(a, b), [B, [32]], 0],
  ["add, first operand broadcast (swapped)", ([a, b]) => tf.add(a, b), [[32], B], 0],
  ["sub, column broadcast", ([a, b]) => tf.sub(a, b), [B, [64, 24, 1]], 0],
  ["sub, first operand broadcast (negated)", ([a, b]) => tf.sub(a, b), [[64, 24, 1], B], 0],
  ["div, first operand broadcast (cpu fallback)", ([a, b]) => tf.div(a, b), [[64, 1, 32], B], 0],
  ["mul, both broadcast (cpu fallback)", ([a, b]) => tf.mul(a, b), [[64, 1, 32], [1, 24, 32]], 0],
  ["mul by a scalar", ([a]) => tf.mul(a, 3), [B], 0],
  ["maximum, middle broadcast", ([a, b]) => tf.maximum(a, b), [B, [64, 1, 32]], 0],
  ["minimum", ([a, b]) => tf.minimum(a, b), [B, B], 0],
  ["exp", ([a]) => tf.exp(a), [B], 3e-7],
  ["sigmoid", ([a]) => tf.sigmoid(a), [B], 1e-7],
  ["tanh", ([a]) => tf.tanh(a), [B], 3e-7],
  ["relu, neg, abs", ([a]) => tf.add(tf.relu(a), tf.abs(tf.neg(a))), [B], 0],
  ["sqrt, square", ([a]) => tf.sqrt(tf.square(a)), [B], 1e-7],
  ["log (cpu kernel)", ([a]) => tf.log(tf.add(tf.abs(a), 0.5)), [B], 0],
  ["softmax", ([a]) => tf.softmax(a), [B], 1e-7],
  ["transpose", ([a]) => tf.transpose(a, [2, 0, 1]), [B], 0],
  ["transpose 4-D (attention heads)", ([a]) => tf.transpose(a, [0, 2, 1, 3]), [[4, 16, 8, 24]], 0],
  ["sum, inner axis", ([a]) => tf.sum(a, -1), [B], 1e-6],
  ["sum, leading axes", ([a]) => tf.sum(a, [0, 1]), [B], 1e-6],
  ["sum, middle axis kept", ([a]) => tf.sum(a, 1, true), [B], 1e-6],
  ["sum, all", ([a]) => tf.sum(a), [B], 1e-5],
  ["mean, inner, kept", ([a]) => tf.mean(a, -1, true), [B], 1e-7],
  ["max, inner (oneDNN rows) and leading", ([a]) => [tf.max(a, -1), tf.max(a, 0)], [B], 0],
  [
    "max with NaN and -Infinity rows",
    ([a]) => {
      const rows = tf.reshape(a, [64 * 24, 32]);
      const marks = tf.concat([
        tf.fill([1, 32], NaN),
        tf.fill([1, 32], -Infinity),
        tf.zeros([1534, 32]),
      ]);
      return tf.max(tf.add(rows, marks), -1);
    },
    [B],
    0,
  ],
  ["slice", ([a]) => tf.slice(a, [1, 0, 2], [2, 24, 20]), [B], 0],
  ["slice of many short runs (oneDNN reorder)", ([a]) => tf.slice(a, [0, 1, 2], [64, 23, 8]), [
    B,
  ], 0],
  ["slice of whole rows", ([a]) => tf.slice(a, [3, 0, 0], [5, 24, 32]), [B], 0],
  ["split, last axis", ([a]) => tf.split(a, 4, -1), [B], 0],
  ["split, middle axis, uneven", ([a]) => tf.split(a, [5, 19], 1), [B], 0],
  ["concat, last axis", ([a, b]) => tf.concat([a, b], -1), [B, [64, 24, 8]], 0],
  ["concat, first axis", ([a, b]) => tf.concat([a, b], 0), [B, [2, 24, 32]], 0],
  [
    "int32 concat and slice",
    ([a]) => {
      const i = tf.cast(tf.mul(a, 100), "int32");
      return [tf.concat([i, i], 1), tf.slice(i, [0, 1, 0], [3, 2, 32])];
    },
    [B],
    0,
  ],
  [
    "small tensors (cpu kernels)",
    ([a, b]) => tf.softmax(tf.sub(tf.exp(a), b)),
    [[3, 5], [5]],
    1e-7,
  ],
];

/** Runs every case on the active backend. */
function runCases(): Float32Array[][] {
  return CASES.map(([, f, shapes], i) =>
    tf.tidy(() => {
      const xs = shapes.map((s, j) => tf.tensor(values(s, 10 * i + j + 1), s));
      const out = f(xs);
      return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
    })
  );
}

Deno.test({
  name: "native kernels agree with cpu on every case, without leaks",
  ignore: !HAS_NATIVE,
  fn: async () => {
    assert.ok(B.reduce((p, d) => p * d, 1) >= NATIVE_MIN_ELEMENTS, "cases must reach oneDNN");
    await initBackend("cpu", { quiet: true });
    const expected = runCases();
    await initBackend("native", { quiet: true });
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const got = runCases();
    assert.equal(backend.numDataIds(), before, "a native kernel leaked buffers");
    CASES.forEach(([label, , , tol], i) => {
      assert.equal(got[i].length, expected[i].length, `${label}: outputs`);
      got[i].forEach((g, k) => {
        const e = expected[i][k];
        assert.equal(g.length, e.length, `${label}: length`);
        for (let j = 0; j < g.length; j++) {
          const ok = Object.is(g[j], e[j]) || Math.abs(g[j] - e[j]) <= tol * (1 + Math.abs(e[j]));
          assert.ok(ok, `${label}[${k}][${j}]: ${g[j]} vs ${e[j]}`);
        }
      });
    });
  },
});

Deno.test({
  name: "gradients through native kernels agree with cpu",
  ignore: !HAS_NATIVE,
  fn: async () => {
    const grads = async () => {
      const x = tf.tensor(values(B, 5), B);
      const w = tf.tensor(values([32], 6), [32]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
        const h = tf.sigmoid(tf.mul(tf.sub(a, tf.mean(a, -1, true)), b));
        return tf.sum(tf.mul(tf.softmax(h), tf.transpose(tf.exp(a), [0, 1, 2])));
      })([x, w]);
      const out = await Promise.all(g.map(async (t) => Float32Array.from(await t.data())));
      tf.dispose([x, w, ...g]);
      return out;
    };
    await initBackend("cpu", { quiet: true });
    const expected = await grads();
    await initBackend("native", { quiet: true });
    const got = await grads();
    expected.forEach((e, k) => {
      for (let j = 0; j < e.length; j++) {
        assert.ok(Math.abs(got[k][j] - e[j]) <= 1e-5 * (1 + Math.abs(e[j])), `d${k}[${j}]`);
      }
    });
  },
});

Deno.test("broadcast axes merge into the fewest oneDNN axes", () => {
  assert.deepEqual(mergeBroadcastAxes([4, 4, 512, 512], [4, 4, 512, 1]), [[8192, 512], [
    8192,
    1,
  ]]);
  assert.deepEqual(mergeBroadcastAxes([2, 3, 4], [1, 1, 4]), [[6, 4], [1, 4]]);
  assert.deepEqual(mergeBroadcastAxes([2, 1, 4], [2, 1, 1]), [[2, 4], [2, 1]]);
  assert.deepEqual(mergeBroadcastAxes([1], [1]), [[1], [1]]);
});

Deno.test("a missing oneDNN fails with the paths tried and the package to install", () => {
  assert.throws(() => Dnnl.open(["/nonexistent/libnodnnl.so"]), (e: Error) => {
    assert.match(e.message, /\/nonexistent\/libnodnnl\.so/);
    assert.ok(e.message.includes(DNNL_INSTALL_HINT));
    assert.match(e.message, /apt-get install libdnnl2/);
    return true;
  });
});

Deno.test({
  name: "native gather still rejects out-of-range indices (tfjs's own error)",
  ignore: !HAS_NATIVE,
  fn: async () => {
    await initBackend("native", { quiet: true });
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const bad = tf.tensor1d([0, 2], "int32");
    assert.throws(() => tf.gather(x, bad), /GatherV2: the index value 2 is not in \[0, 1\]/);
    tf.dispose([x, bad]);
  },
});

/** Element-wise equality without assert's (slow, huge) diff of long arrays. */
function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

Deno.test({
  name: "native output buffers are reused only when nothing refers to them",
  ignore: !HAS_NATIVE,
  fn: async () => {
    await initBackend("native", { quiet: true });
    const n = 4 * POOL_MIN_LENGTH;
    const pool = (tf.backend() as unknown as { pool: { idleBytes: number } }).pool;
    const source = tf.tensor1d(values([n], 3));
    // A read hands out a copy: reusing the buffer later must not change it.
    const a = tf.exp(source);
    const read = await a.data();
    const expected = Float32Array.from(read);
    a.dispose();
    const idle = pool.idleBytes;
    assert.ok(idle >= n * 4, "the freed output went back to the pool");
    const b = tf.neg(source); // takes the same buffer back
    assert.ok(pool.idleBytes < idle, "the pooled buffer was reused");
    assert.ok(
      sameValues(read as Float32Array, expected),
      "a read changed when its buffer was reused",
    );
    // tfjs's cpu StridedSlice returns a view of its input's buffer: the buffer must stay out of
    // the pool while the view lives, even after the input is freed.
    const c = tf.sigmoid(source);
    const view = tf.stridedSlice(c, [8], [n], [1]);
    const viewBefore = Float32Array.from(await view.data());
    c.dispose();
    const d = tf.tanh(source); // would take c's buffer if the view did not hold it
    assert.ok(
      sameValues(await view.data() as Float32Array, viewBefore),
      "the view was overwritten",
    );
    tf.dispose([source, b, view, d]);
  },
});
