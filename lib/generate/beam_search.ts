/**
 * Beam search, ported from OLMo's `olmo/beam_search.py` (itself from AllenNLP), following the
 * algorithm of OLMo's `BeamSearch.search` step by step. The step function runs on the tfjs
 * backend; beam search reads each step's log-probabilities once (`await t.data()`) and keeps its
 * bookkeeping (top-k, backpointers, scores) on the host, so results do not depend on the
 * backend's top-k tie order.
 * State tensors (for instance a KV cache) stay on the backend and are reordered with `tf.gather`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Constraint } from "./constraints.ts";
import { before, FLOAT32_MIN, type Float32Matrix, type Int32Matrix } from "./host_matrix.ts";
import { DeterministicSampler, type Sampler, type SamplerState } from "./samplers.ts";
import {
  type FinalSequenceScorer,
  type HostPredictions,
  SequenceLogProbabilityScorer,
} from "./scorers.ts";
import {
  type BeamSearchState,
  readLogProbs,
  releaseAfterStep,
  reorderState,
  type StepFunction,
  type StepWithoutTimestep,
  type StepWithTimestep,
  tensorsOf,
} from "./search_state.ts";

/** Options of `BeamSearch` (OLMo's keyword arguments, camelCased). */
export interface BeamSearchOptions {
  /** Maximum number of predicted classes per sequence (default 50). */
  maxSteps?: number;
  /** Beam width (default 10). */
  beamSize?: number;
  /** Candidates considered per beam at each step (default `beamSize`). */
  perNodeBeamSize?: number;
  /** Picks nodes and beams (default `DeterministicSampler`). */
  sampler?: Sampler;
  /** Minimum number of predicted classes before the end class may be chosen (default 0). */
  minSteps?: number;
  /** Ranks the final beams (default `SequenceLogProbabilityScorer`). */
  finalSequenceScorer?: FinalSequenceScorer;
  /** Constraints applied at every step (default none). */
  constraints?: Constraint<unknown>[];
  /** Receives the warnings OLMo raises as `RuntimeWarning` (default `console.warn`). */
  onWarning?: (message: string) => void;
  /**
   * Called after every step with the (batch, beam) classes just chosen and the beam each one
   * extends (`null` on the first step). With beam size 1 every class is final, which is what
   * streaming output needs.
   */
  onPredictions?: (classes: Int32Matrix, backpointers: Int32Matrix | null) => void;
}

/** Result of `BeamSearch.search`. Every tensor in it is owned by the caller. */
export interface BeamSearchResult {
  /** (batch, beam, T ≤ maxSteps) int32 predicted classes, best beam first. */
  predictions: tf.Tensor3D;
  /** (batch, beam) final scores, descending. */
  scores: tf.Tensor2D;
  /**
   * The final state object (the one the last step returned, expanded and reordered in place);
   * its tensors have the batch·beam group as first dimension, or the batch after an
   * "Empty sequences predicted" early return.
   */
  state: BeamSearchState;
}

/** The warning for a greedy search whose every sequence ends immediately. */
export const EMPTY_SEQUENCES_WARNING = "Empty sequences predicted. You may want to increase the " +
  "beam size or ensure your step function is working properly.";
/** The warning for final beams with log-probability `-inf` or `FLOAT32_MIN`. */
export const NEGLIGIBLE_LOG_PROBS_WARNING = "Negligible log probabilities encountered ('-inf' or " +
  "equivalent). Some final sequences may not make sense. This can happen when the beam size is " +
  "larger than the number of valid (non-zero probability) transitions that the step function " +
  "produces.";

/** Beam search over a step function, as OLMo's `BeamSearch`. */
export class BeamSearch {
  /** The end-of-sequence class. */
  readonly endIndex: number;
  /** Maximum sequence length (mutable, as in OLMo). */
  maxSteps: number;
  /** Beam width (mutable). */
  beamSize: number;
  /** Candidates per beam and step, fixed at construction (`perNodeBeamSize ?? beamSize`). */
  readonly perNodeBeamSize: number;
  /** The node/beam sampler. */
  sampler: Sampler;
  /** Minimum sequence length before the end class is allowed (mutable). */
  minSteps: number;
  /** Final beam ranking (mutable). */
  finalSequenceScorer: FinalSequenceScorer;
  /** Constraints (mutable). */
  constraints: Constraint<unknown>[];
  /** Warning sink. */
  onWarning: (message: string) => void;
  /** Per-step observer of the chosen classes, if any. */
  onPredictions?: (classes: Int32Matrix, backpointers: Int32Matrix | null) => void;

  /**
   * A beam search that ends a beam at class `endIndex`.
   * @param endIndex the end-of-sequence class (e.g. the EOS token id).
   * @throws Error unless `maxSteps > 0`, `beamSize > 0`, `perNodeBeamSize > 0` (if given) and
   *   `0 ≤ minSteps ≤ maxSteps` (if given).
   */
  constructor(endIndex: number, options: BeamSearchOptions = {}) {
    const maxSteps = options.maxSteps ?? 50;
    const beamSize = options.beamSize ?? 10;
    const { perNodeBeamSize, minSteps } = options;
    if (!(maxSteps > 0)) throw new Error(`BeamSearch: maxSteps must be positive, got ${maxSteps}`);
    if (!(beamSize > 0)) throw new Error(`BeamSearch: beamSize must be positive, got ${beamSize}`);
    if (perNodeBeamSize !== undefined && !(perNodeBeamSize > 0)) {
      throw new Error(`BeamSearch: perNodeBeamSize must be positive, got ${perNodeBeamSize}`);
    }
    if (minSteps !== undefined) {
      if (!(minSteps >= 0)) {
        throw new Error(`BeamSearch: minSteps must be non-negative, got ${minSteps}`);
      }
      if (!(minSteps <= maxSteps)) {
        throw new Error(
          `BeamSearch: minSteps (${minSteps}) must be less than or equal to maxSteps (${maxSteps})`,
        );
      }
    }
    this.endIndex = endIndex;
    this.maxSteps = maxSteps;
    this.beamSize = beamSize;
    this.perNodeBeamSize = perNodeBeamSize || beamSize;
    this.sampler = options.sampler ?? new DeterministicSampler();
    this.minSteps = minSteps || 0;
    this.finalSequenceScorer = options.finalSequenceScorer ?? new SequenceLogProbabilityScorer();
    this.constraints = options.constraints ?? [];
    this.onWarning = options.onWarning ?? ((message) => console.warn(`Warning: ${message}`));
    this.onPredictions = options.onPredictions;
  }

  /**
   * Runs the search.
   *
   * Ownership: the search takes over the tensors of `startState` and of every state the step
   * function returns. It expands and reorders them in place in the state object the step function
   * returned (replacing and disposing the old tensors), disposes tensors the step function drops
   * from the state, and disposes each step's log-probabilities. The tensors left in that state
   * object at the end (returned as `state`) belong to the caller. `startPredictions` stays the
   * caller's.
   *
   * @param startPredictions (batch,) int32 start classes, passed to the first step.
   * @param startState tensors with the batch as first dimension.
   * @param step the step function.
   */
  async search(
    startPredictions: tf.Tensor1D,
    startState: BeamSearchState,
    step: StepFunction,
  ): Promise<BeamSearchResult> {
    if (startPredictions.rank !== 1) {
      throw new Error(
        `BeamSearch.search: startPredictions must be 1-D (batch,), got shape [${startPredictions.shape}]`,
      );
    }
    const batchSize = startPredictions.shape[0];
    const beamSize = this.beamSize;
    const perNode = this.perNodeBeamSize;
    const end = this.endIndex;
    const callStep = (last: tf.Tensor1D, state: BeamSearchState, timestep: number) =>
      step.length >= 3
        ? (step as StepWithTimestep)(last, state, timestep)
        : (step as StepWithoutTimestep)(last, state);

    const predictions: Int32Array[] = []; // each (batch·beam)
    const backpointers: Int32Array[] = []; // each (batch·beam)
    let constraintStates = this.constraints.map((c) => c.initState(batchSize));

    // 1. First step: (batch, numClasses).
    let state: BeamSearchState;
    let startLogProbs: Float32Matrix;
    {
      const before = tensorsOf(startState);
      const [logProbsTensor, newState] = await callStep(startPredictions, startState, 0);
      state = newState;
      try {
        startLogProbs = await readLogProbs(logProbsTensor, batchSize, 0);
      } finally {
        releaseAfterStep(before, state, [logProbsTensor], [startPredictions]);
      }
    }
    const numClasses = startLogProbs.cols;
    if (perNode > numClasses) {
      throw new Error(
        `Vocab size (${numClasses}) too small relative to per_node_beam_size (${perNode}).\n` +
          "Please decrease beam_size or per_node_beam_size.",
      );
    }
    // 2-3. Sampler state, constraints, min steps.
    let samplerState: SamplerState = this.sampler.initState(startLogProbs, batchSize, numClasses);
    this.constraints.forEach((c, i) => c.apply(constraintStates[i], startLogProbs));
    if (this.minSteps >= 1) setColumn(startLogProbs, end, FLOAT32_MIN);

    // 4. The first beams.
    const first = this.sampler.sampleBeams(startLogProbs, beamSize, samplerState);
    samplerState = first.state;
    this.onPredictions?.(first.indices, null);
    if (beamSize === 1 && first.indices.data.every((c) => c === end)) {
      this.onWarning(EMPTY_SEQUENCES_WARNING);
      return {
        predictions: tf.tensor3d(first.indices.data, [batchSize, 1, 1], "int32"),
        scores: tf.tensor2d(first.logProbs.data, [batchSize, 1]),
        state,
      };
    }

    // 5. Bookkeeping and the state expanded from batch to batch·beam.
    predictions.push(first.indices.data);
    let lastLogProbs = first.logProbs.data; // (batch·beam)
    const groupSize = batchSize * beamSize;
    reorderState(state, groupSize, (g) => Math.floor(g / beamSize));
    constraintStates = this.constraints.map((c, i) =>
      c.updateState(constraintStates[i], first.indices)
    );

    // 6. One step per further class.
    for (let timestep = 0; timestep < this.maxSteps - 1; timestep++) {
      const last = predictions[predictions.length - 1];
      if (last.every((c) => c === end)) break;

      const lastTensor = tf.tensor1d(last, "int32");
      const before = tensorsOf(state);
      let logProbs: Float32Matrix;
      try {
        const [logProbsTensor, newState] = await callStep(lastTensor, state, timestep + 1);
        state = newState;
        try {
          logProbs = await readLogProbs(logProbsTensor, groupSize, timestep + 1, numClasses);
        } finally {
          releaseAfterStep(before, state, [logProbsTensor], []);
        }
      } finally {
        if (!tensorsOf(state).has(lastTensor)) lastTensor.dispose();
      }

      this.constraints.forEach((c, i) => c.apply(constraintStates[i], logProbs));
      if (timestep + 2 <= this.minSteps) setColumn(logProbs, end, FLOAT32_MIN);
      // A finished beam can only emit the end class again, with log-probability 0.
      for (let g = 0; g < groupSize; g++) {
        if (last[g] !== end) continue;
        const row = logProbs.data.subarray(g * numClasses, (g + 1) * numClasses);
        row.fill(FLOAT32_MIN);
        row[end] = 0;
      }

      const nodes = this.sampler.sampleNodes(logProbs, perNode, samplerState); // (G, perNode)
      samplerState = nodes.state;
      const summed: Float32Matrix = {
        rows: batchSize,
        cols: beamSize * perNode,
        data: new Float32Array(groupSize * perNode),
      };
      for (let g = 0; g < groupSize; g++) {
        for (let k = 0; k < perNode; k++) {
          summed.data[g * perNode + k] = nodes.logProbs.data[g * perNode + k] + lastLogProbs[g];
        }
      }
      const beams = this.sampler.sampleBeams(summed, beamSize, samplerState); // (B, beam)
      samplerState = beams.state;

      const classes = new Int32Array(groupSize);
      const backpointer = new Int32Array(groupSize);
      for (let b = 0; b < batchSize; b++) {
        for (let j = 0; j < beamSize; j++) {
          const candidate = beams.indices.data[b * beamSize + j];
          classes[b * beamSize + j] = nodes.indices.data[b * beamSize * perNode + candidate];
          backpointer[b * beamSize + j] = Math.trunc(candidate / perNode);
        }
      }
      predictions.push(classes);
      backpointers.push(backpointer);
      lastLogProbs = beams.logProbs.data;

      reorderState(state, groupSize, (g) => Math.floor(g / beamSize) * beamSize + backpointer[g]);
      const classMatrix: Int32Matrix = { rows: batchSize, cols: beamSize, data: classes };
      const backpointerMatrix: Int32Matrix = { rows: batchSize, cols: beamSize, data: backpointer };
      this.onPredictions?.(classMatrix, backpointerMatrix);
      constraintStates = this.constraints.map((c, i) =>
        c.updateState(constraintStates[i], classMatrix, backpointerMatrix)
      );
    }

    // 7. Negligible log-probabilities are expected with constraints, so only warn without them.
    if (
      this.constraints.length === 0 &&
      lastLogProbs.some((lp) => !Number.isFinite(lp) || lp === FLOAT32_MIN)
    ) {
      this.onWarning(NEGLIGIBLE_LOG_PROBS_WARNING);
    }

    // 8. Sequences from the backpointers, scored and sorted best first.
    const all = reconstructSequences(predictions, backpointers, batchSize, beamSize);
    const scores = this.finalSequenceScorer.score(all, lastLogProbs, end);
    return { ...sortBeams(all, scores), state };
  }
}

/** Sets column `col` of every row to `value`. */
function setColumn(m: Float32Matrix, col: number, value: number): void {
  for (let r = 0; r < m.rows; r++) m.data[r * m.cols + col] = value;
}

/** Follows the backpointers from the last step back to the first: (batch, beam, T). */
function reconstructSequences(
  predictions: Int32Array[],
  backpointers: Int32Array[],
  batchSize: number,
  beamSize: number,
): HostPredictions {
  const steps = predictions.length;
  const data = new Int32Array(batchSize * beamSize * steps);
  for (let b = 0; b < batchSize; b++) {
    for (let j = 0; j < beamSize; j++) {
      let beam = j;
      for (let t = steps - 1; t >= 0; t--) {
        data[(b * beamSize + j) * steps + t] = predictions[t][b * beamSize + beam];
        if (t > 0) beam = backpointers[t - 1][b * beamSize + beam];
      }
    }
  }
  return { batchSize, beamSize, steps, data };
}

/** Sorts each batch row's beams by score, descending (stable), into result tensors. */
function sortBeams(
  all: HostPredictions,
  scores: Float32Array,
): { predictions: tf.Tensor3D; scores: tf.Tensor2D } {
  const { batchSize, beamSize, steps, data } = all;
  const sortedIds = new Int32Array(data.length);
  const sortedScores = new Float32Array(batchSize * beamSize);
  for (let b = 0; b < batchSize; b++) {
    const order = Array.from({ length: beamSize }, (_, j) => j);
    const s = (j: number) => scores[b * beamSize + j];
    order.sort((x, y) => (before(s(x), x, s(y), y) ? -1 : 1));
    order.forEach((j, rank) => {
      sortedScores[b * beamSize + rank] = s(j);
      sortedIds.set(
        data.subarray((b * beamSize + j) * steps, (b * beamSize + j + 1) * steps),
        (b * beamSize + rank) * steps,
      );
    });
  }
  return {
    predictions: tf.tensor3d(sortedIds, [batchSize, beamSize, steps], "int32"),
    scores: tf.tensor2d(sortedScores, [batchSize, beamSize]),
  };
}
