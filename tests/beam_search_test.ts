/**
 * Beam search with its samplers, scorers and constraints: every expectation of OLMo's
 * `tests/beam_search_test.py` (spec §3.4) on the same toy transition-matrix models, plus checks of
 * the seeded sampling, state ownership and tensor disposal that the TypeScript port adds. The
 * samplers' own unit tests are in `beam_samplers_test.ts`.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  BeamSearch,
  type BeamSearchOptions,
  EMPTY_SEQUENCES_WARNING,
  NEGLIGIBLE_LOG_PROBS_WARNING,
} from "../lib/generate/beam_search.ts";
import type { BeamSearchState, StepFunction } from "../lib/generate/search_state.ts";
import {
  type NGramBeamState,
  RepeatedNGramBlockingConstraint,
} from "../lib/generate/constraints.ts";
import { FLOAT32_MIN, float32MatrixFrom, int32MatrixToArray } from "../lib/generate/host_matrix.ts";
import { Rng } from "../lib/model/random.ts";
import {
  GumbelSampler,
  MultinomialSampler,
  TopKSampler,
  TopPSampler,
} from "../lib/generate/samplers.ts";
import { LengthNormalizedSequenceLogProbabilityScorer } from "../lib/generate/scorers.ts";

tf.env().set("PROD", true);

// Toy models: row i holds p(next = j | last = i) over [START=0, 1, 2, 3, 4, END=5].
const TRANSITIONS = [
  [0.0, 0.4, 0.3, 0.2, 0.1, 0.0],
  [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
  [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
  [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
  [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
  [0.2, 0.1, 0.2, 0.2, 0.2, 0.1],
];
const SHORT_SEQUENCE_TRANSITIONS = [
  [0.0, 0.1, 0.0, 0.0, 0.0, 0.9],
  [0.0, 0.0, 0.1, 0.0, 0.0, 0.9],
  [0.0, 0.0, 0.0, 0.1, 0.0, 0.9],
  [0.0, 0.0, 0.0, 0.0, 0.1, 0.9],
  [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
  [0.2, 0.1, 0.2, 0.2, 0.2, 0.1],
];
const REPEATED_NGRAM_TRANSITIONS_0 = [
  [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
  [0.0, 0.0, 0.4, 0.6, 0.0, 1e-9],
  [0.0, 0.0, 0.0, 1.0, 0.0, 1e-9],
  [0.0, 1.0, 0.0, 0.0, 0.0, 1e-9],
  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
  [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
];
const REPEATED_NGRAM_TRANSITIONS_1 = [
  [0.0, 0.4, 0.3, 0.2, 0.1, 0.0],
  [0.0, 0.4, 0.3, 0.2, 0.1, 0.1],
  [0.0, 0.0, 0.4, 0.3, 0.2, 0.1],
  [0.0, 0.0, 0.3, 0.4, 0.2, 0.1],
  [0.0, 0.0, 0.2, 0.3, 0.4, 0.1],
  [0.2, 0.1, 0.2, 0.2, 0.2, 0.1],
];
const END = 5;

type TwoArgStep = (last: tf.Tensor1D, state: BeamSearchState) => [tf.Tensor2D, BeamSearchState];

/** A 2-argument step function looking up `log(matrix[last])`. */
function toyStep(matrix: number[][]): TwoArgStep {
  return (last, state) => [
    tf.tidy(() => tf.log(tf.gather(tf.tensor2d(matrix), last)) as tf.Tensor2D),
    state,
  ];
}

/** The same with the timestep argument (so `step.length` is 3). */
function stepFunction(matrix: number[][], withTimestep: boolean): StepFunction {
  const step = toyStep(matrix);
  if (!withTimestep) return step;
  return (last: tf.Tensor1D, state: BeamSearchState, timestep: number) => {
    assert.ok(Number.isInteger(timestep));
    return step(last, state);
  };
}
const takeStepWithTimestep = stepFunction(TRANSITIONS, true);
const takeStepNoTimestep = toyStep(TRANSITIONS);
const takeShortSequenceStep = stepFunction(SHORT_SEQUENCE_TRANSITIONS, false);

const EXPECTED_TOP_K = [[1, 2, 3, 4, 5], [2, 3, 4, 5, 5], [3, 4, 5, 5, 5]];
const EXPECTED_LOG_PROBS = [0.4, 0.3, 0.2].map(Math.log);

function defaultSearch(options: BeamSearchOptions = {}): BeamSearch {
  return new BeamSearch(END, { maxSteps: 10, beamSize: 3, ...options });
}

function assertAllClose(actual: number[], expected: number[], rtol = 1e-6): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} != ${expected.length}`);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.ok(
      Math.abs(a - e) <= rtol * Math.abs(e),
      `element ${i}: ${a} != ${e} (rtol ${rtol}); actual ${actual}, expected ${expected}`,
    );
  });
}

/** Runs a search from START for every batch row and checks batch row 0, like OLMo's helper. */
async function checkResults(options: {
  batchSize?: number;
  expectedTopK?: number[][];
  expectedLogProbs?: number[];
  beamSearch?: BeamSearch;
  state?: BeamSearchState;
  step?: StepFunction;
}): Promise<void> {
  const batchSize = options.batchSize ?? 5;
  const beamSearch = options.beamSearch ?? defaultSearch();
  const start = tf.zeros([batchSize], "int32") as tf.Tensor1D;
  const { predictions, scores } = await beamSearch.search(
    start,
    options.state ?? {},
    options.step ?? takeStepWithTimestep,
  );
  start.dispose();
  assert.deepEqual(predictions.shape.slice(0, 2), [batchSize, beamSearch.beamSize]);
  assert.deepEqual(scores.shape, [batchSize, beamSearch.beamSize]);
  const ids = (await predictions.array()) as number[][][];
  const lps = (await scores.array()) as number[][];
  predictions.dispose();
  scores.dispose();
  assert.deepEqual(ids[0], options.expectedTopK ?? EXPECTED_TOP_K);
  assertAllClose(lps[0], options.expectedLogProbs ?? EXPECTED_LOG_PROBS);
}

Deno.test("search with a 3-argument (timestep) step function", async () => {
  await checkResults({ step: takeStepWithTimestep });
});

Deno.test("search with a 2-argument step function", async () => {
  await checkResults({ step: takeStepNoTimestep });
});

Deno.test("the timestep argument counts 0, 1, 2, ... across calls", async () => {
  const seen: number[] = [];
  const step = (last: tf.Tensor1D, state: BeamSearchState, timestep: number) => {
    seen.push(timestep);
    return takeStepNoTimestep(last, state);
  };
  await checkResults({ step });
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

Deno.test("finished state: each row repeated beam times, mutated in place", async () => {
  const state: BeamSearchState = {
    foo: tf.tensor2d([[1, 0, 1], [2, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]], undefined, "int32"),
  };
  await checkResults({ state });
  const expected = [[1, 0, 1], [2, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]].flatMap((
    r,
  ) => [r, r, r]);
  assert.deepEqual(state.foo.shape, [15, 3]);
  assert.deepEqual(await state.foo.array(), expected);
  state.foo.dispose();
});

Deno.test("batch size of one", async () => {
  await checkResults({ batchSize: 1 });
});

Deno.test("greedy search", async () => {
  await checkResults({
    beamSearch: new BeamSearch(END, { beamSize: 1 }),
    expectedTopK: [[1, 2, 3, 4, 5]],
    expectedLogProbs: [Math.log(0.4)],
  });
});

Deno.test("single step", async () => {
  const beamSearch = defaultSearch();
  beamSearch.maxSteps = 1;
  await checkResults({ beamSearch, expectedTopK: [[1], [2], [3]] });
});

Deno.test("early stopping at max_steps", async () => {
  await checkResults({
    beamSearch: new BeamSearch(END, { beamSize: 3, maxSteps: 3 }),
    expectedTopK: [[1, 2, 3], [2, 3, 4], [3, 4, 5]],
  });
});

Deno.test("short sequence step (beam 5)", async () => {
  const beamSearch = defaultSearch();
  beamSearch.beamSize = 5;
  await checkResults({
    beamSearch,
    expectedTopK: [[5, 5, 5, 5, 5], [1, 5, 5, 5, 5], [1, 2, 5, 5, 5], [1, 2, 3, 5, 5], [
      1,
      2,
      3,
      4,
      5,
    ]],
    expectedLogProbs: [0.9, 0.09, 0.009, 0.0009, 0.0001].map(Math.log),
    step: takeShortSequenceStep,
  });
});

Deno.test("min_steps", async () => {
  const warnings: string[] = [];
  const beamSearch = defaultSearch({ onWarning: (m) => warnings.push(m) });
  beamSearch.beamSize = 1;

  beamSearch.minSteps = 0;
  await checkResults({
    beamSearch,
    expectedTopK: [[5]],
    expectedLogProbs: [Math.log(0.9)],
    step: takeShortSequenceStep,
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Empty sequences predicted/);

  beamSearch.minSteps = 1;
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 5]],
    expectedLogProbs: [Math.log(0.09)],
    step: takeShortSequenceStep,
  });
  beamSearch.minSteps = 2;
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 5]],
    expectedLogProbs: [Math.log(0.009)],
    step: takeShortSequenceStep,
  });
  beamSearch.beamSize = 3;
  beamSearch.minSteps = 2;
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 5, 5, 5], [1, 2, 3, 5, 5], [1, 2, 3, 4, 5]],
    expectedLogProbs: [0.009, 0.0009, 0.0001].map(Math.log),
    step: takeShortSequenceStep,
  });
  assert.equal(warnings.length, 1);
});

Deno.test("different per-node beam sizes give the same result", async () => {
  for (const perNodeBeamSize of [1, 2]) {
    await checkResults({ beamSearch: new BeamSearch(END, { beamSize: 3, perNodeBeamSize }) });
  }
});

Deno.test("bad config: beam size larger than the vocabulary", async () => {
  const before = tf.memory().numTensors;
  await assert.rejects(
    checkResults({ beamSearch: new BeamSearch(END, { beamSize: 20 }) }),
    /Vocab size \(6\) too small relative to per_node_beam_size \(20\)/,
  );
  // Only the caller's start tensor may remain (checkResults did not reach its dispose).
  assert.ok(tf.memory().numTensors <= before + 1);
});

Deno.test("constructor validation", () => {
  assert.throws(() => new BeamSearch(END, { maxSteps: 0 }), /maxSteps must be positive/);
  assert.throws(() => new BeamSearch(END, { beamSize: 0 }), /beamSize must be positive/);
  assert.throws(
    () => new BeamSearch(END, { perNodeBeamSize: 0 }),
    /perNodeBeamSize must be positive/,
  );
  assert.throws(() => new BeamSearch(END, { minSteps: -1 }), /minSteps must be non-negative/);
  assert.throws(() => new BeamSearch(END, { maxSteps: 3, minSteps: 4 }), /less than or equal/);
  const ok = new BeamSearch(END, { maxSteps: 3, minSteps: 3, beamSize: 4 });
  assert.equal(ok.perNodeBeamSize, 4);
  assert.equal(ok.minSteps, 3);
});

Deno.test("warns for negligible log probabilities", async () => {
  const warnings: string[] = [];
  const beamSearch = defaultSearch({ onWarning: (m) => warnings.push(m) });
  const start = tf.tensor1d([END - 1, END - 1], "int32");
  const { predictions, scores } = await beamSearch.search(start, {}, takeStepNoTimestep);
  tf.dispose([start, predictions, scores]);
  assert.deepEqual(warnings, [NEGLIGIBLE_LOG_PROBS_WARNING]);
  assert.match(warnings[0], /Negligible log probabilities/);
});

Deno.test("no warning for a normal search", async () => {
  const warnings: string[] = [];
  await checkResults({ beamSearch: defaultSearch({ onWarning: (m) => warnings.push(m) }) });
  assert.deepEqual(warnings, []);
});

Deno.test("empty sequences", async () => {
  const warnings: string[] = [];
  const beamSearch = new BeamSearch(END, { beamSize: 1, onWarning: (m) => warnings.push(m) });
  const start = tf.tensor1d([END - 1, END - 1], "int32");
  const { predictions, scores } = await beamSearch.search(start, {}, takeStepWithTimestep);
  assert.deepEqual(warnings, [EMPTY_SEQUENCES_WARNING]);
  assert.deepEqual(predictions.shape, [2, 1, 1]);
  assert.deepEqual(scores.shape, [2, 1]);
  assert.ok(Array.from(await predictions.data()).every((c) => c === END));
  assert.ok(Array.from(await scores.data()).every((lp) => lp === 0));
  tf.dispose([start, predictions, scores]);
});

/** Runs a sampled search from START over batch 5 and checks shape and value range. */
async function sampledSearch(options: BeamSearchOptions): Promise<number[][][]> {
  const start = tf.zeros([5], "int32") as tf.Tensor1D;
  const { predictions, scores } = await new BeamSearch(END, {
    beamSize: 3,
    maxSteps: 10,
    ...options,
  })
    .search(start, {}, takeStepWithTimestep);
  assert.deepEqual(predictions.shape.slice(0, 2), [5, 3]);
  assert.deepEqual(scores.shape, [5, 3]);
  const ids = (await predictions.array()) as number[][][];
  tf.dispose([start, predictions, scores]);
  assert.ok(ids.flat(2).every((c) => c >= 0 && c <= 5));
  return ids;
}

Deno.test("top-p search", async () => {
  for (let seed = 0; seed < 5; seed++) {
    await sampledSearch({
      sampler: new TopPSampler({ p: 0.8, rng: new Rng(seed) }),
      onWarning: () => {},
    });
  }
});

Deno.test("p must lie in [0, 1]", () => {
  for (const p of [-1.0, 1.2, 1.1, Infinity, NaN]) {
    assert.throws(
      () => new TopPSampler({ p, withReplacement: true }),
      /p must be a number in \[0, 1\]/,
    );
  }
});

Deno.test("top-k search", async () => {
  for (let seed = 0; seed < 5; seed++) {
    await sampledSearch({
      sampler: new TopKSampler({ k: 5, withReplacement: true, rng: new Rng(seed) }),
      onWarning: () => {},
    });
  }
});

Deno.test("k must lie in [per_node_beam_size, vocabulary size]", async () => {
  for (const k of [-1, 0]) {
    await assert.rejects(
      sampledSearch({ sampler: new TopKSampler({ k, withReplacement: true }) }),
      /k must be an integer no less than per_node_beam_size/,
    );
  }
});

Deno.test("stochastic beam search: once END appears, only END follows", async () => {
  for (let seed = 0; seed < 5; seed++) {
    const ids = await sampledSearch({
      sampler: new GumbelSampler({ rng: new Rng(seed) }),
      onWarning: () => {},
    });
    for (const beam of ids.flat(1)) {
      const firstEnd = beam.indexOf(END);
      if (firstEnd >= 0) assert.ok(beam.slice(firstEnd).every((c) => c === END), `${beam}`);
    }
  }
});

Deno.test("seeded samplers are reproducible", async () => {
  const makeSamplers = () => [
    new MultinomialSampler({ rng: new Rng(7) }),
    new TopKSampler({ k: 4, rng: new Rng(7) }),
    new TopPSampler({ p: 0.9, rng: new Rng(7) }),
    new GumbelSampler({ rng: new Rng(7) }),
  ];
  const a = makeSamplers();
  const b = makeSamplers();
  for (let i = 0; i < a.length; i++) {
    const first = await sampledSearch({ sampler: a[i], onWarning: () => {} });
    const second = await sampledSearch({ sampler: b[i], onWarning: () => {} });
    assert.deepEqual(first, second);
  }
});

Deno.test("length-normalized sequence log-prob scorer", async () => {
  const beamSearch = defaultSearch();
  const logProbs = [0.4, 0.3, 0.2].map(Math.log);

  beamSearch.finalSequenceScorer = new LengthNormalizedSequenceLogProbabilityScorer();
  await checkResults({ beamSearch, expectedLogProbs: logProbs.map((lp, i) => lp / [5, 4, 3][i]) });

  beamSearch.finalSequenceScorer = new LengthNormalizedSequenceLogProbabilityScorer(2.0);
  await checkResults({
    beamSearch,
    expectedLogProbs: logProbs.map((lp, i) => lp / [25, 16, 9][i]),
  });

  // A penalty so extreme that the order reverses.
  beamSearch.finalSequenceScorer = new LengthNormalizedSequenceLogProbabilityScorer(-2.0);
  await checkResults({
    beamSearch,
    expectedTopK: [[3, 4, 5, 5, 5], [2, 3, 4, 5, 5], [1, 2, 3, 4, 5]],
    expectedLogProbs: [0.2, 0.3, 0.4].map((p, i) => Math.log(p) / [3, 4, 5][i] ** -2),
  });

  // max_steps 4: the first sequence cannot finish, so its length has no end token.
  beamSearch.maxSteps = 4;
  beamSearch.finalSequenceScorer = new LengthNormalizedSequenceLogProbabilityScorer(2.0);
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 5]],
    expectedLogProbs: logProbs.map((lp, i) => lp / [4, 4, 3][i] ** 2),
  });
});

function ngramState(): NGramBeamState[][] {
  return [
    [
      { currentPrefix: [0, 1], seenNgrams: new Map() },
      { currentPrefix: [2, 3], seenNgrams: new Map([["2,3", [4]]]) },
    ],
    [
      { currentPrefix: [4, 5], seenNgrams: new Map([["8,9", []]]) },
      { currentPrefix: [6, 7], seenNgrams: new Map([["6,7", [0, 1, 2]]]) },
    ],
  ];
}

Deno.test("repeated n-gram blocking: init_state", () => {
  const state = new RepeatedNGramBlockingConstraint(3).initState(2);
  assert.equal(state.length, 2);
  for (const beams of state) {
    assert.equal(beams.length, 1);
    assert.deepEqual(Object.keys(beams[0]).sort(), ["currentPrefix", "seenNgrams"]);
    assert.equal(beams[0].currentPrefix.length, 0);
    assert.equal(beams[0].seenNgrams.size, 0);
  }
});

Deno.test("repeated n-gram blocking: apply", () => {
  const rng = new Rng(3);
  const lp = float32MatrixFrom(
    Array.from({ length: 4 }, () => Array.from({ length: 10 }, () => rng.next())),
  );
  new RepeatedNGramBlockingConstraint(3).apply(ngramState(), lp);
  const blocked: number[][] = [];
  lp.data.forEach((v, i) => {
    if (v === FLOAT32_MIN) blocked.push([Math.floor(i / 20), Math.floor(i / 10) % 2, i % 10]);
  });
  assert.deepEqual(blocked, [[0, 1, 4], [1, 1, 0], [1, 1, 1], [1, 1, 2]]);
});

Deno.test("repeated n-gram blocking: update_state copies parents along backpointers", () => {
  const state = ngramState();
  const updated = new RepeatedNGramBlockingConstraint(3).updateState(
    state,
    { rows: 2, cols: 2, data: Int32Array.from([5, 6, 0, 3]) },
    { rows: 2, cols: 2, data: Int32Array.from([1, 1, 0, 1]) },
  );
  assert.deepEqual(updated, [
    [
      { currentPrefix: [3, 5], seenNgrams: new Map([["2,3", [4, 5]]]) },
      { currentPrefix: [3, 6], seenNgrams: new Map([["2,3", [4, 6]]]) },
    ],
    [
      { currentPrefix: [5, 0], seenNgrams: new Map([["8,9", []], ["4,5", [0]]]) },
      { currentPrefix: [7, 3], seenNgrams: new Map([["6,7", [0, 1, 2, 3]]]) },
    ],
  ]);
  // The input state is untouched (each beam got a deep copy).
  assert.deepEqual(state, ngramState());
});

Deno.test("repeated n-gram step without a constraint", async () => {
  const beamSearch = defaultSearch({ beamSize: 2, maxSteps: 5 });
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 3, 1, 3, 1], [1, 2, 3, 1, 3]],
    expectedLogProbs: [0.36, 0.24].map(Math.log),
    step: stepFunction(REPEATED_NGRAM_TRANSITIONS_0, false),
  });
});

Deno.test("repeated n-gram blocking end to end: unigrams", async () => {
  const beamSearch = defaultSearch({ beamSize: 2, maxSteps: 3 });
  beamSearch.constraints = [new RepeatedNGramBlockingConstraint(1)];
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 3], [1, 3, 5]],
    expectedLogProbs: [0.4, 0.6 * 1e-9].map(Math.log),
    step: stepFunction(REPEATED_NGRAM_TRANSITIONS_0, false),
  });
  beamSearch.maxSteps = 5;
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 3, 4, 5], [1, 2, 4, 3, 5]],
    expectedLogProbs: [0.4 * 0.3 * 0.3 * 0.2 * 0.1, 0.4 * 0.3 * 0.2 * 0.3 * 0.1].map(Math.log),
    step: stepFunction(REPEATED_NGRAM_TRANSITIONS_1, false),
  });
});

Deno.test("repeated n-gram blocking end to end: bigrams", async () => {
  const beamSearch = defaultSearch({ beamSize: 2, maxSteps: 4 });
  beamSearch.constraints = [new RepeatedNGramBlockingConstraint(2)];
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 3, 1], [1, 3, 1, 2]],
    expectedLogProbs: [0.4, 0.24].map(Math.log),
    step: stepFunction(REPEATED_NGRAM_TRANSITIONS_0, false),
  });
});

Deno.test("repeated n-gram blocking end to end: trigrams", async () => {
  const beamSearch = defaultSearch({ beamSize: 2, maxSteps: 5 });
  beamSearch.constraints = [new RepeatedNGramBlockingConstraint(3)];
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 2, 3, 1, 3], [1, 2, 3, 1, 2]],
    expectedLogProbs: [0.24, 0.16].map(Math.log),
    step: stepFunction(REPEATED_NGRAM_TRANSITIONS_0, false),
  });
});

Deno.test("repeated n-gram blocking with END repeated", async () => {
  const beamSearch = defaultSearch({ beamSize: 2 });
  beamSearch.constraints = [new RepeatedNGramBlockingConstraint(1)];
  await checkResults({
    beamSearch,
    expectedTopK: [[1, 3, 5, 5], [1, 2, 3, 5]],
    expectedLogProbs: [0.6 * 1e-9, 0.4 * 1e-9].map(Math.log),
    step: stepFunction(REPEATED_NGRAM_TRANSITIONS_0, false),
  });
});

Deno.test("no tensor leaks; dropped state tensors are disposed", async () => {
  const before = tf.memory().numTensors;
  // A step that keeps a running count in the state, replacing the tensor each call.
  const step = (last: tf.Tensor1D, state: BeamSearchState): [tf.Tensor2D, BeamSearchState] => {
    const next = tf.add(state.count, 1);
    return [
      tf.tidy(() => tf.log(tf.gather(tf.tensor2d(TRANSITIONS), last)) as tf.Tensor2D),
      { count: next, scratch: tf.zeros([last.shape[0], 2]) },
    ];
  };
  const state: BeamSearchState = { count: tf.zeros([5, 1], "int32") };
  const beamSearch = defaultSearch();
  const start = tf.zeros([5], "int32") as tf.Tensor1D;
  const result = await beamSearch.search(start, state, step);
  // predictions, scores, start, and the final state's two tensors are all that is left.
  assert.equal(tf.memory().numTensors, before + 5);
  assert.deepEqual(Object.keys(result.state).sort(), ["count", "scratch"]);
  assert.deepEqual(result.state.count.shape, [15, 1]);
  // Every beam took 5 steps (START→1→2→3→4→END is the longest path).
  assert.deepEqual(Array.from(await result.state.count.data()), new Array(15).fill(5));
  tf.dispose([result.predictions, result.scores, start]);
  assert.equal(tf.memory().numTensors, before + 2);
  tf.dispose(Object.values(result.state));
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("onPredictions reports each step's classes and backpointers", async () => {
  const steps: { classes: number[][]; backpointers: number[][] | null }[] = [];
  const beamSearch = defaultSearch({
    onPredictions: (classes, backpointers) =>
      steps.push({
        classes: int32MatrixToArray(classes),
        backpointers: backpointers && int32MatrixToArray(backpointers),
      }),
  });
  await checkResults({ beamSearch, batchSize: 1 });
  assert.deepEqual(steps.map((s) => s.classes), [
    [[1, 2, 3]],
    [[2, 3, 4]],
    [[3, 4, 5]],
    [[4, 5, 5]],
    [[
      5,
      5,
      5,
    ]],
  ]);
  assert.equal(steps[0].backpointers, null);
  assert.deepEqual(steps[1].backpointers, [[0, 1, 2]]);
});
