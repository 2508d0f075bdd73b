import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals } from "./_assert.ts";
import { lmTrainingLoss, nextTokenTargets, perSequenceEvalLoss } from "../lib/train/loss.ts";

tf.env().set("PROD", true);

// Hand reference in float64: logits (1, 3, 4), ids [2, 0, 3], mask [1, 1, 0].
const LOGITS = [[[0.1, 0.5, -0.3, 1.2], [2.0, -1.0, 0.0, 0.3], [0.7, 0.7, 0.1, -0.4]]];
function lse(row: number[]): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
}

Deno.test("next-token CE, z-loss and eval loss match hand-computed values", async () => {
  const logits = tf.tensor3d(LOGITS);
  const ids = tf.tensor2d([[2, 0, 3]], [1, 3], "int32");
  const mask = tf.tensor2d([[1, 1, 0]]);
  const { labels, weights } = nextTokenTargets(ids, mask);
  assert((await labels.array())[0].join() === "0,3,0");
  assert((await weights.array())[0].join() === "1,0,0");
  // Only position 0 (label 0) is counted: mask of token 1 is 1, token 2 is 0.
  const ceRef = lse(LOGITS[0][0]) - LOGITS[0][0][0];
  const zRef = 1e-4 * LOGITS[0].reduce((a, r) => a + lse(r) ** 2, 0) / 3;
  const out = lmTrainingLoss(logits, labels, weights, { zLoss: true, scale: 0.5 });
  assertAlmostEquals((await out.ce.data())[0], ceRef, 1e-6);
  assertAlmostEquals((await out.z!.data())[0], zRef, 1e-7);
  assertAlmostEquals((await out.loss.data())[0], 0.5 * (ceRef + zRef), 1e-6);
  const evalLoss = await perSequenceEvalLoss(logits, labels, weights).data();
  assertAlmostEquals(evalLoss[0], ceRef / 2, 1e-6); // divided by S-1 = 2
  tf.dispose([logits, ids, mask, labels, weights, out.ce, out.z!, out.loss]);
});

Deno.test("loss gradient equals tf's autodiff of the same formula", async () => {
  const x = tf.variable(tf.tensor3d(LOGITS));
  const labels = tf.tensor2d([[1, 3, 0]], [1, 3], "int32");
  const weights = tf.tensor2d([[1, 1, 0]]);
  const mine = tf.variableGrads(() => {
    const r = lmTrainingLoss(x, labels, weights, { zLoss: true, scale: 1 / 3 });
    tf.dispose([r.ce, r.z!]);
    return r.loss;
  }, [x]);
  const ref = tf.variableGrads(() => {
    const lp = tf.logSoftmax(x);
    const oh = tf.oneHot(tf.reshape(labels, [1, 3]), 4);
    const nll = tf.neg(tf.sum(tf.mul(lp, oh), -1));
    const ce = tf.div(tf.sum(tf.mul(nll, weights)), tf.sum(weights));
    const z = tf.mul(tf.mean(tf.square(tf.logSumExp(x, -1))), 1e-4);
    return tf.mul(tf.add(ce, z), 1 / 3) as tf.Scalar;
  }, [x]);
  const a = await mine.grads[x.name].data();
  const b = await ref.grads[x.name].data();
  for (let i = 0; i < a.length; i++) assertAlmostEquals(a[i], b[i], 1e-6);
  tf.dispose([x, labels, weights, mine.value, ref.value]);
});
