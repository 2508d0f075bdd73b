/**
 * Constraints edit the log-probabilities during beam search, with per-beam state that follows
 * the beams' backpointers (OLMo `olmo/beam_search.py` `Constraint`).
 *
 * @module
 */
import { FLOAT32_MIN, type Float32Matrix, type Int32Matrix } from "./host_matrix.ts";

/**
 * Constraint state: one list per batch row, holding one entry per beam (a single entry before
 * the first prediction).
 */
export type ConstraintState<S> = S[][];

/**
 * A constraint on beam search outputs. Subclasses implement `initState`, `apply` and
 * `updateBeamState`; `updateState` copies each beam's parent state (following the backpointers)
 * before updating it, so every beam owns its state.
 */
export abstract class Constraint<S = unknown> {
  /** The initial state: `batchSize` lists of one entry each. */
  abstract initState(batchSize: number): ConstraintState<S>;

  /**
   * Enforces the constraint on `classLogProbs`, a (batch·beams, numClasses) matrix whose row
   * `i * beams + j` belongs to `state[i][j]` (`beams` is 1 before the first prediction).
   * Modifies the matrix in place and returns it.
   */
  abstract apply(state: ConstraintState<S>, classLogProbs: Float32Matrix): Float32Matrix;

  /**
   * Updates the state of one beam (already a private copy) with its last predicted class.
   * @returns the new state of that beam.
   */
  protected abstract updateBeamState(beamState: S, prediction: number): S;

  /**
   * The state after a step: beam (i, j) starts from a deep copy of its parent
   * `state[i][backpointer[i, j]]` (parent 0 on the first step, when there is no backpointer) and
   * is updated with `lastPrediction[i, j]`.
   * @param lastPrediction (batch, beam) predicted classes.
   * @param lastBackpointer (batch, beam) parent beam of each prediction.
   */
  updateState(
    state: ConstraintState<S>,
    lastPrediction: Int32Matrix,
    lastBackpointer?: Int32Matrix,
  ): ConstraintState<S> {
    const { rows: batchSize, cols: beamSize } = lastPrediction;
    const out: ConstraintState<S> = [];
    for (let i = 0; i < batchSize; i++) {
      const beams: S[] = [];
      for (let j = 0; j < beamSize; j++) {
        const parent = lastBackpointer ? lastBackpointer.data[i * beamSize + j] : 0;
        const copy = structuredClone(state[i][parent]);
        beams.push(this.updateBeamState(copy, lastPrediction.data[i * beamSize + j]));
      }
      out.push(beams);
    }
    return out;
  }
}

/** The state of one beam under `RepeatedNGramBlockingConstraint`. */
export interface NGramBeamState {
  /** For each (n−1)-gram prefix seen (ids joined with ","), the classes that followed it. */
  seenNgrams: Map<string, number[]>;
  /** The last n−1 predicted classes (always empty for n = 1). */
  currentPrefix: number[];
}

/** Blocks any n-gram from occurring twice in a beam's predictions. */
export class RepeatedNGramBlockingConstraint extends Constraint<NGramBeamState> {
  /** The n of the n-grams. */
  readonly ngramSize: number;

  /**
   * A constraint blocking every repeated n-gram of `ngramSize` tokens.
   * @param ngramSize n ≥ 1.
   */
  constructor(ngramSize: number) {
    super();
    if (!(Number.isInteger(ngramSize) && ngramSize >= 1)) {
      throw new Error(
        `RepeatedNGramBlockingConstraint: ngramSize must be an integer ≥ 1, got ${ngramSize}`,
      );
    }
    this.ngramSize = ngramSize;
  }

  /** One empty state per batch row. */
  initState(batchSize: number): ConstraintState<NGramBeamState> {
    return Array.from({ length: batchSize }, () => [{ seenNgrams: new Map(), currentPrefix: [] }]);
  }

  /** Sets the log-probability of every class that would repeat an n-gram to `FLOAT32_MIN`. */
  apply(state: ConstraintState<NGramBeamState>, classLogProbs: Float32Matrix): Float32Matrix {
    const beams = state.length === 0 ? 1 : state[0].length;
    if (classLogProbs.rows !== state.length * beams) {
      throw new Error(
        `RepeatedNGramBlockingConstraint.apply: log-probs have ${classLogProbs.rows} rows, the state ` +
          `${state.length} batch rows × ${beams} beams`,
      );
    }
    state.forEach((batch, i) => {
      batch.forEach((beam, j) => {
        const disallowed = beam.seenNgrams.get(beam.currentPrefix.join(","));
        if (!disallowed) return;
        const offset = (i * beams + j) * classLogProbs.cols;
        for (const c of disallowed) classLogProbs.data[offset + c] = FLOAT32_MIN;
      });
    });
    return classLogProbs;
  }

  /** Records the completed n-gram, then shifts the prefix. */
  protected updateBeamState(beam: NGramBeamState, prediction: number): NGramBeamState {
    const prefix = beam.currentPrefix;
    if (prefix.length === this.ngramSize - 1) {
      const key = prefix.join(",");
      const followers = beam.seenNgrams.get(key);
      if (followers) followers.push(prediction);
      else beam.seenNgrams.set(key, [prediction]);
    }
    prefix.push(prediction);
    if (prefix.length === this.ngramSize) prefix.shift();
    return beam;
  }
}
