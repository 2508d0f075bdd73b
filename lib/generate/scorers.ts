/**
 * Final sequence scorers: how `BeamSearch` ranks its finished beams (OLMo `olmo/beam_search.py`
 * `FinalSequenceScorer`).
 *
 * @module
 */

/** Predictions of a finished search on the host: (batch, beam, steps) class ids. */
export interface HostPredictions {
  /** Batch size. */
  batchSize: number;
  /** Beams per batch row. */
  beamSize: number;
  /** Sequence length T. */
  steps: number;
  /** `batchSize * beamSize * steps` ids; (b, j, t) is `data[(b * beamSize + j) * steps + t]`. */
  data: Int32Array;
}

/** Scores the final sequences of a beam search. */
export interface FinalSequenceScorer {
  /**
   * @param predictions (batch, beam, T) class ids.
   * @param logProbs (batch·beam) summed log-probabilities of each sequence.
   * @param endIndex the end-of-sequence class.
   * @returns (batch·beam) scores; higher is better.
   */
  score(predictions: HostPredictions, logProbs: Float32Array, endIndex: number): Float32Array;
}

/** Scores a sequence by its summed token log-probabilities (the default). */
export class SequenceLogProbabilityScorer implements FinalSequenceScorer {
  /** Returns a copy of `logProbs` unchanged. */
  score(_predictions: HostPredictions, logProbs: Float32Array, _endIndex: number): Float32Array {
    return logProbs.slice();
  }
}

/**
 * Scores a sequence by `logProb / length ** lengthPenalty`. The length counts the non-end tokens,
 * plus one when the sequence ended (its log-probability includes the transition to the end).
 * A penalty above 1 favours longer sequences, below 1 shorter ones.
 */
export class LengthNormalizedSequenceLogProbabilityScorer implements FinalSequenceScorer {
  /** Exponent of the length. */
  lengthPenalty: number;

  /**
   * A scorer dividing by the length to the power `lengthPenalty`.
   * @param lengthPenalty exponent of the length (default 1: plain average).
   */
  constructor(lengthPenalty = 1.0) {
    this.lengthPenalty = lengthPenalty;
  }

  /** Length-normalised scores, (batch·beam). */
  score(predictions: HostPredictions, logProbs: Float32Array, endIndex: number): Float32Array {
    const { batchSize, beamSize, steps, data } = predictions;
    const out = new Float32Array(batchSize * beamSize);
    for (let g = 0; g < batchSize * beamSize; g++) {
      let length = 0;
      for (let t = 0; t < steps; t++) if (data[g * steps + t] !== endIndex) length++;
      if (data[g * steps + steps - 1] === endIndex) length++;
      out[g] = logProbs[g] / Math.fround(length ** this.lengthPenalty);
    }
    return out;
  }
}
