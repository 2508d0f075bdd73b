/**
 * `headTrainingLoss` (output projection + CE/z-loss, chunked over the vocabulary) equals
 * `lmTrainingLoss` on explicitly computed logits: loss parts and gradients for the hidden
 * states, head weight and bias, with one chunk and with several (uneven) chunks.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { headTrainingLoss } from "../lib/train/head_loss.ts";
import { lmTrainingLoss, nextTokenTargets } from "../lib/train/loss.ts";

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const B = 2, S = 5, D = 6, V = 23;

async function run(
  fused: boolean,
  opts: { zLoss: boolean; bias: boolean; scale: number; chunk?: number },
) {
  const h = tf.variable(tf.tensor3d(values(B * S * D, 1), [B, S, D]));
  const w = tf.variable(tf.tensor2d(values(V * D, 2), [V, D]));
  const bias = opts.bias ? tf.variable(tf.tensor1d(values(V, 3))) : undefined;
  const ids = tf.tensor2d([[3, 22, 0, 7, 7], [1, 2, 19, 5, 11]], [B, S], "int32");
  const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 0, 1, 1]], [B, S]);
  const { labels, weights } = nextTokenTargets(ids, mask);
  const vars = [h, w, ...(bias ? [bias] : [])];
  let ce: tf.Scalar | null = null;
  let z: tf.Scalar | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = fused
      ? headTrainingLoss(h, { weight: w, bias, scale: opts.scale }, labels, weights, {
        zLoss: opts.zLoss,
        scale: 0.5,
        chunkElements: opts.chunk,
      })
      : (() => {
        let l = tf.matMul(tf.reshape(h, [B * S, D]), w, false, true);
        if (bias) l = tf.add(l, bias);
        const logits = tf.reshape(tf.mul(l, opts.scale), [B, S, V]) as tf.Tensor3D;
        return lmTrainingLoss(logits, labels, weights, { zLoss: opts.zLoss, scale: 0.5 });
      })();
    ce = out.ce;
    z = out.z;
    return out.loss;
  }, vars);
  const result = {
    loss: (await value.data())[0],
    ce: (await ce!.data())[0],
    z: z ? (await (z as tf.Scalar).data())[0] : null,
    grads: await Promise.all(vars.map(async (v) => Float32Array.from(await grads[v.name].data()))),
  };
  tf.dispose([
    value,
    ce!,
    ...(z ? [z] : []),
    ...Object.values(grads),
    ...vars,
    ids,
    mask,
    labels,
    weights,
  ]);
  return result;
}

function close(a: number, b: number, label: string) {
  assert.ok(Math.abs(a - b) <= 1e-5 * (1 + Math.abs(b)), `${label}: ${a} vs ${b}`);
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`headTrainingLoss matches lmTrainingLoss on explicit logits (${backend})`, async () => {
    await initBackend(backend, { quiet: true });
    const variants = [
      { zLoss: false, bias: false, scale: 1 },
      { zLoss: true, bias: true, scale: 1 },
      { zLoss: true, bias: true, scale: 0.5, chunk: 70 }, // width 7: chunks 7, 7, 7, 2
      { zLoss: false, bias: false, scale: 1, chunk: 10 }, // width 1: a chunk per column
    ];
    for (const v of variants) {
      const label = JSON.stringify(v);
      const ref = await run(false, v);
      const got = await run(true, v);
      close(got.loss, ref.loss, `${label} loss`);
      close(got.ce, ref.ce, `${label} ce`);
      assert.equal(got.z === null, ref.z === null);
      if (ref.z !== null) close(got.z!, ref.z, `${label} z`);
      assert.equal(got.grads.length, ref.grads.length);
      ref.grads.forEach((g, i) => {
        assert.equal(got.grads[i].length, g.length);
        g.forEach((x, j) => close(got.grads[i][j], x, `${label} grad ${i}[${j}]`));
      });
    }
  });
}
