/**
 * OLMo's `ICLMetric.compute` rules on hand-made scores (first result per pair wins, documents
 * with a gap in their continuation ids skipped, ties to the first continuation, each metric's
 * normalisation, binary F1 with continuation 0 positive), and the `DistributedSampler` split
 * against index lists worked out by hand from PyTorch's code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { binaryF1, computeMetric, type RequestScore } from "../lib/eval/metric.ts";
import { distributedSplit, rankPositions } from "../lib/eval/rank_split.ts";

function score(
  docId: number,
  contId: number,
  labelId: number,
  logLikelihood: number,
  extra: Partial<RequestScore> = {},
): RequestScore {
  return { docId, contId, labelId, logLikelihood, dcLogLikelihood: NaN, contStrLen: 1, ...extra };
}

Deno.test("acc: argmax per document, duplicates dropped, gaps skipped, ties to the first", () => {
  const scores = [
    score(0, 0, 1, -2),
    score(0, 1, 1, -1), // doc 0: argmax 1 = label → right
    score(1, 0, 1, -1),
    score(1, 1, 1, -3), // doc 1: argmax 0 ≠ label → wrong
    score(2, 1, 0, -1), // doc 2: continuation 0 missing → skipped
    score(3, 0, 0, -5), // doc 3: only continuation 0 seen → scored over it (OLMo) → right
    score(4, 0, 1, -1),
    score(4, 1, 1, -1), // doc 4: tie → continuation 0 → wrong
    score(0, 0, 1, 0), // a later duplicate of doc 0 / continuation 0 does not count
  ];
  assert.deepEqual(computeMetric("acc", scores), {
    metric: "acc",
    value: 0.5,
    documents: 4,
    incomplete: 1,
  });
});

Deno.test("len_norm divides by the characters, pmi_dc by the domain-conditional likelihood", () => {
  const lenNorm = [
    score(0, 0, 1, -2, { contStrLen: 1 }), // -2
    score(0, 1, 1, -3, { contStrLen: 10 }), // -0.3 → argmax 1 (plain acc would pick 0)
  ];
  assert.equal(computeMetric("len_norm", lenNorm).value, 1);
  assert.equal(computeMetric("acc", lenNorm).value, 0);
  const pmi = [
    score(0, 0, 0, -4, { dcLogLikelihood: -1 }), // 4
    score(0, 1, 0, -3, { dcLogLikelihood: -3 }), // 1 → argmax 0
  ];
  assert.equal(computeMetric("pmi_dc", pmi).value, 1);
  assert.equal(computeMetric("acc", pmi).value, 0);
});

Deno.test("f1: binary F1 with continuation 0 the positive class; no documents give NaN", () => {
  // golds 0 0 1 1 0, preds 0 1 1 0 0: tp 2, fp 1, fn 1 → 4/6.
  const golds = [0, 0, 1, 1, 0];
  const preds = [0, 1, 1, 0, 0];
  const scores = golds.flatMap((g, d) => [
    score(d, 0, g, preds[d] === 0 ? -1 : -2),
    score(d, 1, g, preds[d] === 1 ? -1 : -2),
  ]);
  assert.equal(computeMetric("f1", scores).value, 4 / 6);
  assert.equal(binaryF1([1, 1], [1, 1], 0), 0); // undefined → 0, as scikit-learn reports it
  const none = computeMetric("acc", []);
  assert.ok(Number.isNaN(none.value));
  assert.equal(none.documents, 0);
});

Deno.test("the rank split is DistributedSampler(shuffle=False)'s", () => {
  // 5 items on 2 ranks: padded with item 0 to 6; rank 0 gets 0, 2, 4 and rank 1 gets 1, 3, 0.
  const split = distributedSplit(5, 2, false);
  assert.deepEqual(split, { indices: [0, 1, 2, 3, 4, 0], perRank: 3 });
  assert.deepEqual(rankPositions(split, 0, 2).map((p) => split.indices[p]), [0, 2, 4]);
  assert.deepEqual(rankPositions(split, 1, 2).map((p) => split.indices[p]), [1, 3, 0]);
  // drop_last: ceil((5 - 2) / 2) = 2 per rank, items 0..3.
  assert.deepEqual(distributedSplit(5, 2, true), { indices: [0, 1, 2, 3], perRank: 2 });
  // Fewer items than ranks: the list repeats.
  assert.deepEqual(distributedSplit(2, 5, false), { indices: [0, 1, 0, 1, 0], perRank: 1 });
  assert.deepEqual(distributedSplit(6, 3, false), { indices: [0, 1, 2, 3, 4, 5], perRank: 2 });
});
