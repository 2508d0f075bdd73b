/**
 * `clipCoefficients`, the clipping rule the local optimizer and ZeRO share, on hand-computed
 * norms: global clipping by `max(grad_norm) / (total + 1e-6)`, adaptive clipping from the EMA
 * (started at the norm, stored from step 2), groups without clipping left alone, and
 * `clipping_rate` over the eligible parameters. It reads nothing and changes nothing it is given.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { clipCoefficients } from "../lib/optim/clipping.ts";
import type { ParamGroup } from "../lib/optim/param_groups.ts";

function group(names: string[], maxNorm: number | null, ratio: number | null): ParamGroup {
  return {
    param_names: names,
    lr: 1e-3,
    initial_lr: 1e-3,
    weight_decay: 0,
    betas: [0.9, 0.95],
    max_grad_norm: maxNorm,
    max_grad_norm_ratio: ratio,
    sharded: false,
  };
}

await initBackend("cpu", { quiet: true });

const value = async (t: tf.Tensor) => (await t.data())[0];

Deno.test("clipCoefficients: global, adaptive and unclipped groups; step-1 EMAs not stored", async () => {
  const norms = new Map([["a", tf.scalar(5)], ["b", tf.scalar(10)], ["c", tf.scalar(1)]]);
  const total = tf.scalar(13);
  const groups = [group(["a", "x"], 1, null), group(["b"], null, 2), group(["c"], null, null)];
  const before = tf.memory().numTensors;
  const plan = clipCoefficients({
    groups,
    norms,
    totalNorm: total,
    gradNormEma: () => undefined,
    globalStep: 1,
  });
  // "x" has no gradient this step: skipped. "c" is in a group that does not clip.
  assert.deepEqual([...plan.coefficients.keys()], ["a", "b"]);
  assert.ok(Math.abs((await value(plan.coefficients.get("a")!)) - 1 / (13 + 1e-6)) < 1e-8);
  // Adaptive at step 1: the EMA starts at the norm, so 2·10 / (10 + 1e-6) is capped at 1.
  assert.equal(await value(plan.coefficients.get("b")!), 1);
  assert.deepEqual([...plan.nextEmas.keys()], ["b"]);
  assert.equal(await value(plan.nextEmas.get("b")!), 10);
  assert.deepEqual([...plan.storeEmas], [], "OLMo stores the EMA from step 2 on");
  // Of the eligible a and b, only a is clipped.
  assert.equal(await value(plan.clippingRate), 0.5);
  const made = [...plan.coefficients.values(), ...plan.nextEmas.values(), plan.clippingRate];
  assert.equal(tf.memory().numTensors, before + made.length, "only the returned tensors remain");
  tf.dispose(made);

  // Step 3 with a stored EMA of 4: coef = 2·4 / (10 + 1e-6); the EMA moves 5% toward norm·coef.
  const ema = tf.scalar(4);
  const later = clipCoefficients({
    groups,
    norms,
    totalNorm: total,
    gradNormEma: (n) => (n === "b" ? ema : undefined),
    globalStep: 3,
  });
  const coef = 8 / (10 + 1e-6);
  assert.ok(Math.abs((await value(later.coefficients.get("b")!)) - coef) < 1e-6);
  assert.ok(
    Math.abs((await value(later.nextEmas.get("b")!)) - (4 + 0.05 * (10 * coef - 4))) < 1e-5,
  );
  assert.deepEqual([...later.storeEmas], ["b"]);
  assert.equal(await value(later.clippingRate), 1);
  assert.equal(await value(ema), 4, "the stored EMA is not changed");
  tf.dispose([...later.coefficients.values(), ...later.nextEmas.values(), later.clippingRate]);
  tf.dispose([ema, total, ...norms.values()]);
});
