/**
 * The node samplers of beam search (multinomial, top-k, top-p, Gumbel) on their own: OLMo's
 * sampler unit tests of `tests/beam_search_test.py` (spec §3.4), plus the exact distribution of
 * seeded multinomial sampling. The searches that use them are tested in `beam_search_test.ts`.
 */
import assert from "node:assert/strict";
import {
  type Float32Matrix,
  float32MatrixFrom,
  int32MatrixToArray,
  multinomialRows,
} from "../lib/generate/host_matrix.ts";
import {
  GumbelSampler,
  MultinomialSampler,
  TopKSampler,
  TopPSampler,
} from "../lib/generate/samplers.ts";
import { Rng } from "../lib/model/random.ts";
import { assertAllClose } from "./_assert.ts";

// Sampler unit tests on log([[.1, .3, .3, .3, 0, 0], [0, 0, .4, .3, .2, .1]]), computed like
// `torch.log(torch.tensor(...))`: the logarithm of the float32 probabilities. The p = 0.7 case
// depends on it: exp(log .4) + exp(log .3) lands exactly on float32(0.7) only then.
function samplerLogProbs(): Float32Matrix {
  return float32MatrixFrom(
    [[0.1, 0.3, 0.3, 0.3, 0, 0], [0, 0, 0.4, 0.3, 0.2, 0.1]].map((r) =>
      r.map((p) => Math.log(Math.fround(p)))
    ),
  );
}

Deno.test("multinomial sampler", () => {
  for (let seed = 0; seed < 50; seed++) {
    const sampler = new MultinomialSampler({ temperature: 0.9, rng: new Rng(seed) });
    const { logProbs, indices } = sampler.sampleNodes(samplerLogProbs(), 3, {});
    assert.deepEqual([logProbs.rows, logProbs.cols, indices.rows, indices.cols], [2, 3, 2, 3]);
    const [row0, row1] = int32MatrixToArray(indices);
    assert.ok(row0.every((c) => c < 4), `${row0}`);
    assert.ok(row1.every((c) => c > 1), `${row1}`);
    assert.equal(new Set(row0).size, 3, "without replacement");
    // The original log-probabilities of the chosen classes come back.
    const lp = samplerLogProbs();
    indices.data.forEach((c, i) =>
      assert.equal(logProbs.data[i], lp.data[Math.floor(i / 3) * 6 + c])
    );
  }
});

Deno.test("top-k sampler", () => {
  for (let seed = 0; seed < 50; seed++) {
    const sampler = new TopKSampler({ k: 3, temperature: 0.9, rng: new Rng(seed) });
    const { logProbs, indices } = sampler.sampleNodes(samplerLogProbs(), 3, {});
    assert.deepEqual([logProbs.rows, logProbs.cols, indices.rows, indices.cols], [2, 3, 2, 3]);
    const [row0, row1] = int32MatrixToArray(indices);
    assert.ok(row0.every((c) => c > 0 && c < 4), `${row0}`);
    assert.ok(row1.every((c) => c > 1 && c < 5), `${row1}`);
  }
});

Deno.test("top-p sampler", () => {
  for (let seed = 0; seed < 50; seed++) {
    const sampler = new TopPSampler({ p: 0.8, temperature: 0.9, rng: new Rng(seed) });
    const { logProbs, indices } = sampler.sampleNodes(samplerLogProbs(), 3, {});
    assert.deepEqual([logProbs.rows, logProbs.cols, indices.rows, indices.cols], [2, 3, 2, 3]);
    const [row0, row1] = int32MatrixToArray(indices);
    assert.ok(row0.every((c) => c > 0 && c < 4), `${row0}`);
    assert.ok(row1.every((c) => c > 1 && c < 5), `${row1}`);

    // The first class whose cumulative probability exceeds p is included.
    const exact = new TopPSampler({ p: 0.7, temperature: 1.0, rng: new Rng(seed) });
    const two = int32MatrixToArray(exact.sampleNodes(samplerLogProbs(), 2, {}).indices);
    assert.ok(two[0].every((c) => c === 1 || c === 2 || c === 3), `${two[0]}`);
    assert.ok(two[1].every((c) => c === 2 || c === 3), `${two[1]}`);
  }
});

Deno.test("sample-time checks: top-k's k above the vocabulary, top-p's per-node size", () => {
  const lp = samplerLogProbs(); // 6 classes
  assert.throws(
    () => new TopKSampler({ k: 7, rng: new Rng(0) }).sampleNodes(lp, 3, {}),
    /no greater than the vocabulary size \(6\), got k=7/,
  );
  assert.throws(
    () => new TopKSampler({ k: 2, rng: new Rng(0) }).sampleNodes(lp, 3, {}),
    /no less than per_node_beam_size \(3\)/,
  );
  assert.throws(
    () => new TopPSampler({ rng: new Rng(0) }).sampleNodes(lp, 7, {}),
    /per_node_beam_size \(7\) cannot be greater than the vocabulary size \(6\)/,
  );
  // OLMo's `temperature or 1.0`: a temperature of 0 means 1 for top-k and top-p.
  assert.equal(new TopKSampler({ temperature: 0 }).temperature, 1);
  assert.equal(new TopPSampler({ temperature: 0 }).temperature, 1);
});

Deno.test("gumbel sampler", () => {
  for (let seed = 0; seed < 50; seed++) {
    const sampler = new GumbelSampler({ rng: new Rng(seed) });
    const lp = samplerLogProbs();
    const state = sampler.initState(lp, 2, lp.cols);
    const { logProbs, indices } = sampler.sampleBeams(lp, 3, state);
    assert.deepEqual([logProbs.rows, logProbs.cols, indices.rows, indices.cols], [2, 3, 2, 3]);
    for (let r = 0; r < 2; r++) {
      const row = Array.from(logProbs.data.subarray(r * 3, r * 3 + 3));
      assert.deepEqual(row, [...row].sort((a, b) => b - a), "sorted descending");
    }
    const [row0, row1] = int32MatrixToArray(indices);
    assert.ok(row0.every((c) => c >= 0 && c < 4), `${row0}`);
    assert.ok(row1.every((c) => c > 1 && c <= 5), `${row1}`);
  }
});

Deno.test("gumbel_with_max: each row's maximum is exactly the given one", () => {
  const sampler = new GumbelSampler({ rng: new Rng(11) });
  const phi = float32MatrixFrom([[-1.2, -0.4, -3.0, -0.9], [-0.1, -2.5, -2.6, -5.0]]);
  const maxima = Float32Array.from([-0.7, -2.0]);
  for (let trial = 0; trial < 20; trial++) {
    const g = sampler.gumbelWithMax(phi, maxima);
    for (let r = 0; r < 2; r++) {
      const row = Array.from(g.data.subarray(r * 4, r * 4 + 4));
      assert.equal(Math.max(...row), maxima[r], `row ${r}: ${row}`);
    }
  }
});

Deno.test("multinomial sampling matches the exact distribution (fixed seed)", () => {
  // Without replacement, 2 draws from [.5, .3, .2]: P(first = 0) = .5,
  // P({0, 1}) = .5·.3/.5 + .3·.5/.7 = 0.5142857.
  const rng = new Rng(1234);
  const probs = float32MatrixFrom([[0.5, 0.3, 0.2]]);
  const n = 20000;
  let firstIsZero = 0;
  let pair01 = 0;
  for (let i = 0; i < n; i++) {
    const [a, b] = multinomialRows(probs, 2, false, rng).data;
    assert.notEqual(a, b);
    if (a === 0) firstIsZero++;
    if ((a === 0 && b === 1) || (a === 1 && b === 0)) pair01++;
  }
  assert.ok(Math.abs(firstIsZero / n - 0.5) < 0.015, `${firstIsZero / n}`);
  assert.ok(Math.abs(pair01 / n - 0.5142857) < 0.015, `${pair01 / n}`);

  // With replacement: independent draws with the given frequencies; zero weights never drawn.
  const counts = [0, 0, 0, 0];
  const weights = float32MatrixFrom([[2, 0, 1, 1]]);
  for (let i = 0; i < n / 4; i++) {
    for (const c of multinomialRows(weights, 4, true, rng).data) counts[c]++;
  }
  assert.equal(counts[1], 0);
  assertAllClose(counts.map((c) => c / n), [0.5, 0, 0.25, 0.25], { atol: 0, rtol: 0.04 });
});
