/**
 * The fused AdamW kernel is bit-identical to the op chain (both lerp forms, with and without
 * weight decay, on cpu and wasm), and `adamwUpdate` uses it there.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import {
  adamwScalars,
  adamwUpdate,
  adamwUpdateOps,
  disposeAdamWScalars,
  fusedAdamWUpdate,
} from "../lib/optim/mod.ts";

/** Deterministic values spanning several magnitudes, some zero. */
function values(count: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const u = state / 2 ** 32 - 0.5;
    out[i] = i % 17 === 0 ? 0 : u * scale * 10 ** ((i % 5) - 3);
  }
  return out;
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`fused AdamW equals the op chain bit for bit (${backend})`, async () => {
    await initBackend(backend, { quiet: true });
    const n = 1000;
    const p = tf.tensor1d(values(n, 1, 1));
    const g = tf.tensor1d(values(n, 2, 0.1));
    const m = tf.tensor1d(values(n, 3, 0.01));
    const v = tf.tensor1d(values(n, 4, 0.001).map(Math.abs));
    for (const [beta1, weightDecay, step] of [[0.9, 0.1, 1], [0.3, 0, 7], [0.9, 0, 3]]) {
      const s = adamwScalars({ lr: 4e-4, beta1, beta2: 0.95, eps: 1e-5, weightDecay, step });
      const fused = fusedAdamWUpdate(p, g, m, v, s.values);
      assert.ok(fused, `no fused kernel on ${backend}`);
      const ops = adamwUpdateOps(p, g, m, v, s);
      const viaUpdate = adamwUpdate(p, g, m, v, s);
      const pairs: [tf.Tensor, tf.Tensor, string][] = [
        [fused[0], ops.param, "param"],
        [fused[1], ops.expAvg, "exp_avg"],
        [fused[2], ops.expAvgSq, "exp_avg_sq"],
        [viaUpdate.param, ops.param, "adamwUpdate param"],
      ];
      for (const [a, b, what] of pairs) {
        assert.deepEqual(
          await a.data(),
          await b.data(),
          `${what} (beta1 ${beta1}, wd ${weightDecay})`,
        );
      }
      tf.dispose([...fused, ops.param, ops.expAvg, ops.expAvgSq, viaUpdate.param]);
      tf.dispose([viaUpdate.expAvg, viaUpdate.expAvgSq]);
      disposeAdamWScalars(s);
    }
    tf.dispose([p, g, m, v]);
  });
}
