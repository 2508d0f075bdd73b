/**
 * Samplers pick the candidate nodes (next tokens per beam) and the beams kept at each step of
 * `BeamSearch` (OLMo `olmo/beam_search.py` `Sampler`). They work on host matrices of
 * log-probabilities; stochastic samplers draw from a seedable `Rng` (the project's sfc32
 * generator), so a seed reproduces a sampled generation on every backend.
 *
 * @module
 */
import {
  FLOAT32_MIN,
  type Float32Matrix,
  float32Matrix,
  gatherRows,
  type Int32Matrix,
  logSoftmaxRows,
  multinomialRows,
  softmaxRows,
  sortRowsDescending,
  topKRows,
} from "./host_matrix.ts";
import { Rng } from "../model/random.ts";

/** Per-search sampler state (e.g. the Gumbel sampler's perturbed scores), keyed by name. */
export type SamplerState = Record<string, Float32Array>;

/** What a sampler picked: log-probabilities and indices, both (rows, samples), and its new state. */
export interface SamplerSelection {
  /** The log-probabilities of the picked entries, (rows, samples). */
  logProbs: Float32Matrix;
  /** The picked column indices, (rows, samples). */
  indices: Int32Matrix;
  /** The sampler state to pass to the next call. */
  state: SamplerState;
}

/**
 * Picks nodes and beams during beam search. Subclasses implement `sampleNodes`; `initState` and
 * `sampleBeams` default to "no state" and "the `beamSize` highest log-probabilities".
 */
export abstract class Sampler {
  /**
   * Called once with the first step's log-probabilities (batch, numClasses).
   * @returns the initial sampler state (default `{}`).
   */
  initState(_startLogProbs: Float32Matrix, _batchSize: number, _numClasses: number): SamplerState {
    return {};
  }

  /**
   * Picks `perNodeBeamSize` candidate classes per row of `logProbs` (group, numClasses).
   */
  abstract sampleNodes(
    logProbs: Float32Matrix,
    perNodeBeamSize: number,
    state: SamplerState,
  ): SamplerSelection;

  /**
   * Picks `beamSize` beams per batch row of `logProbs` (batch, beam·perNode), or of the first
   * step's (batch, numClasses). Default: deterministic top-k, returning an empty state.
   */
  sampleBeams(logProbs: Float32Matrix, beamSize: number, _state: SamplerState): SamplerSelection {
    const { values, indices } = topKRows(logProbs, beamSize);
    return { logProbs: values, indices, state: {} };
  }
}

/** Picks the `k` most likely nodes and beams (plain beam search / greedy decoding). */
export class DeterministicSampler extends Sampler {
  /** Top-`perNodeBeamSize` classes of each row. */
  sampleNodes(
    logProbs: Float32Matrix,
    perNodeBeamSize: number,
    _state: SamplerState,
  ): SamplerSelection {
    const { values, indices } = topKRows(logProbs, perNodeBeamSize);
    return { logProbs: values, indices, state: {} };
  }
}

/** Options shared by the stochastic samplers. */
export interface StochasticSamplerOptions {
  /** Divides the log-probabilities before sampling: < 1 sharpens, > 1 flattens. Default 1. */
  temperature?: number;
  /** Sample nodes with replacement (default false). */
  withReplacement?: boolean;
  /** Random source; default a randomly seeded `Rng`. */
  rng?: Rng;
}

/**
 * Samples nodes from the full softmax distribution (`softmax(lp / T)`, or `exp(lp)` when T is 1).
 * Returns the original log-probabilities of the sampled classes; beams are kept deterministically.
 */
export class MultinomialSampler extends Sampler {
  /** Sampling temperature. */
  temperature: number;
  /** Whether nodes are drawn with replacement. */
  withReplacement: boolean;
  /** Random source. */
  rng: Rng;

  /**
   * A multinomial sampler.
   * @param options temperature (default 1), withReplacement (default false), rng.
   */
  constructor(options: StochasticSamplerOptions = {}) {
    super();
    this.temperature = options.temperature ?? 1.0;
    this.withReplacement = options.withReplacement ?? false;
    this.rng = options.rng ?? randomlySeededRng();
  }

  /** Draws `perNodeBeamSize` classes per row. */
  sampleNodes(
    logProbs: Float32Matrix,
    perNodeBeamSize: number,
    state: SamplerState,
  ): SamplerSelection {
    const probs = this.temperature !== 1.0
      ? softmaxRows(logProbs, this.temperature)
      : expRows(logProbs);
    const indices = multinomialRows(probs, perNodeBeamSize, this.withReplacement, this.rng);
    return { logProbs: gatherRows(logProbs, indices), indices, state };
  }
}

/** Options of `TopKSampler`. */
export interface TopKSamplerOptions extends StochasticSamplerOptions {
  /** Number of most likely classes to sample from (default 1). */
  k?: number;
}

/**
 * Samples nodes among the `k` most likely classes after renormalising them (with temperature).
 * Requires `perNodeBeamSize ≤ k ≤ numClasses`, checked at sample time as in OLMo.
 */
export class TopKSampler extends Sampler {
  /** Number of most likely classes sampled from. */
  k: number;
  /** Sampling temperature (0 means 1, as OLMo's `temperature or 1.0`). */
  temperature: number;
  /** Whether nodes are drawn with replacement. */
  withReplacement: boolean;
  /** Random source. */
  rng: Rng;

  /**
   * A top-k sampler.
   * @param options k (default 1), temperature (default 1), withReplacement (default false), rng.
   */
  constructor(options: TopKSamplerOptions = {}) {
    super();
    this.k = options.k ?? 1;
    this.temperature = options.temperature || 1.0;
    this.withReplacement = options.withReplacement ?? false;
    this.rng = options.rng ?? randomlySeededRng();
  }

  /** Draws `perNodeBeamSize` classes per row from the renormalised top k. */
  sampleNodes(
    logProbs: Float32Matrix,
    perNodeBeamSize: number,
    state: SamplerState,
  ): SamplerSelection {
    if (!(Number.isInteger(this.k) && perNodeBeamSize <= this.k && this.k <= logProbs.cols)) {
      throw new Error(
        `TopKSampler: k must be an integer no less than per_node_beam_size (${perNodeBeamSize}) ` +
          `and no greater than the vocabulary size (${logProbs.cols}), got k=${this.k}`,
      );
    }
    const top = topKRows(logProbs, this.k); // (G, k)
    const probs = softmaxRows(top.values, this.temperature);
    const sampled = multinomialRows(probs, perNodeBeamSize, this.withReplacement, this.rng);
    const indices = gatherIndices(top.indices, sampled); // back to class ids
    return { logProbs: gatherRows(logProbs, indices), indices, state };
  }
}

/** Options of `TopPSampler`. */
export interface TopPSamplerOptions extends StochasticSamplerOptions {
  /** Cumulative probability cutoff in [0, 1] (default 0.9). */
  p?: number;
}

/**
 * Nucleus sampling: samples nodes among the most likely classes whose cumulative probability
 * first reaches `p` (that class included), after renormalising. Without replacement the first
 * `perNodeBeamSize` classes are always eligible.
 */
export class TopPSampler extends Sampler {
  /** Cumulative probability cutoff. */
  p: number;
  /** Sampling temperature (0 means 1). */
  temperature: number;
  /** Whether nodes are drawn with replacement. */
  withReplacement: boolean;
  /** Random source. */
  rng: Rng;

  /**
   * A top-p (nucleus) sampler.
   * @param options p (default 0.9), temperature (default 1), withReplacement (default false), rng.
   */
  constructor(options: TopPSamplerOptions = {}) {
    super();
    const p = options.p ?? 0.9;
    if (!(p >= 0 && p <= 1)) {
      throw new Error(`TopPSampler: p must be a number in [0, 1], got ${p}`);
    }
    this.p = p;
    this.temperature = options.temperature || 1.0;
    this.withReplacement = options.withReplacement ?? false;
    this.rng = options.rng ?? randomlySeededRng();
  }

  /** Draws `perNodeBeamSize` classes per row from the nucleus. */
  sampleNodes(
    logProbs: Float32Matrix,
    perNodeBeamSize: number,
    state: SamplerState,
  ): SamplerSelection {
    if (perNodeBeamSize > logProbs.cols) {
      throw new Error(
        `TopPSampler: per_node_beam_size (${perNodeBeamSize}) cannot be greater than the ` +
          `vocabulary size (${logProbs.cols})`,
      );
    }
    const tempered = this.temperature !== 1.0
      ? logSoftmaxRows(logProbs, this.temperature)
      : logProbs;
    const sorted = sortRowsDescending(tempered); // (G, V)
    // PyTorch accumulates the cumulative sum in float64, stores it as float32 and compares it
    // with p rounded to float32.
    const p32 = Math.fround(this.p);
    const cols = sorted.values.cols;
    for (let r = 0; r < sorted.values.rows; r++) {
      const row = sorted.values.data.subarray(r * cols, (r + 1) * cols);
      // Exclude entries whose preceding cumulative sum already reached p (shift right by one).
      let cumulative = 0;
      let previousReached = false;
      const keepFirst = this.withReplacement ? 1 : Math.max(1, perNodeBeamSize);
      for (let c = 0; c < cols; c++) {
        cumulative += Math.fround(Math.exp(row[c]));
        if (c >= keepFirst && previousReached) row[c] = FLOAT32_MIN;
        previousReached = Math.fround(cumulative) >= p32;
      }
    }
    const probs = softmaxRows(sorted.values);
    const sampled = multinomialRows(probs, perNodeBeamSize, this.withReplacement, this.rng);
    const indices = gatherIndices(sorted.indices, sampled);
    return { logProbs: gatherRows(logProbs, indices), indices, state };
  }
}

/** Options of `GumbelSampler`. */
export interface GumbelSamplerOptions {
  /** Temperature applied with a log-softmax before perturbing (default 1). */
  temperature?: number;
  /** Random source; default a randomly seeded `Rng`. */
  rng?: Rng;
}

/**
 * Stochastic beam search (Kool et al. 2019, the Gumbel-top-k trick): keeps the beams with the
 * largest Gumbel-perturbed log-probabilities, drawing sequences without replacement.
 * State: `G_phi_S` (perturbed scores) and `phi_S` (true log-probabilities of the kept beams).
 */
export class GumbelSampler extends Sampler {
  /** Sampling temperature. */
  temperature: number;
  /** Random source. */
  rng: Rng;

  /**
   * A Gumbel (stochastic beam search) sampler.
   * @param options temperature (default 1), rng.
   */
  constructor(options: GumbelSamplerOptions = {}) {
    super();
    this.temperature = options.temperature ?? 1.0;
    this.rng = options.rng ?? randomlySeededRng();
  }

  /** `G_phi_S`: Gumbel(start log-probs) conditioned on a maximum of 0 per row. */
  override initState(
    startLogProbs: Float32Matrix,
    batchSize: number,
    _numClasses: number,
  ): SamplerState {
    const zeros = new Float32Array(batchSize);
    return { G_phi_S: this.gumbelWithMax(startLogProbs, zeros).data };
  }

  /** Top `perNodeBeamSize` classes per row by perturbed cumulative log-probability. */
  sampleNodes(
    logProbs: Float32Matrix,
    perNodeBeamSize: number,
    state: SamplerState,
  ): SamplerSelection {
    const tempered = this.temperature !== 1.0
      ? logSoftmaxRows(logProbs, this.temperature)
      : logProbs;
    const phiS = requireState(state, "phi_S", logProbs.rows);
    const gPhiS = requireState(state, "G_phi_S", logProbs.rows);
    const phiSNew = float32Matrix(tempered.rows, tempered.cols); // (G, V)
    for (let r = 0; r < tempered.rows; r++) {
      for (let c = 0; c < tempered.cols; c++) {
        const i = r * tempered.cols + c;
        phiSNew.data[i] = phiS[r] + tempered.data[i];
      }
    }
    const gPhiSNew = this.gumbelWithMax(phiSNew, gPhiS);
    const top = topKRows(gPhiSNew, perNodeBeamSize);
    return {
      logProbs: gatherRows(logProbs, top.indices),
      indices: top.indices,
      state: { G_phi_S: top.values.data },
    };
  }

  /** The beams with the highest perturbed scores, re-sorted by true log-probability. */
  override sampleBeams(
    logProbs: Float32Matrix,
    beamSize: number,
    state: SamplerState,
  ): SamplerSelection {
    const gPhiS = requireState(state, "G_phi_S", logProbs.rows * logProbs.cols);
    const top = topKRows({ rows: logProbs.rows, cols: logProbs.cols, data: gPhiS }, beamSize);
    const selected = gatherRows(logProbs, top.indices); // (B, beam)
    const byLogProb = sortRowsDescending(selected);
    const indices = gatherIndices(top.indices, byLogProb.indices);
    const gPhiSNew = gatherRows(top.values, byLogProb.indices);
    return {
      logProbs: byLogProb.values,
      indices,
      state: { G_phi_S: gPhiSNew.data, phi_S: byLogProb.values.data.slice() },
    };
  }

  /** Samples `Gumbel(phi)`: `-log(-log U) + phi`. */
  gumbel(phi: Float32Matrix): Float32Matrix {
    const out = float32Matrix(phi.rows, phi.cols);
    for (let i = 0; i < phi.data.length; i++) {
      out.data[i] = -Math.log(-Math.log(this.rng.next())) + phi.data[i];
    }
    return out;
  }

  /**
   * Samples `Gumbel(phi)` conditioned on each row's maximum being `maxPerRow[r]` (shape (rows,)).
   */
  gumbelWithMax(phi: Float32Matrix, maxPerRow: Float32Array): Float32Matrix {
    const g = this.gumbel(phi);
    const out = float32Matrix(phi.rows, phi.cols);
    for (let r = 0; r < phi.rows; r++) {
      const offset = r * phi.cols;
      let z = -Infinity;
      for (let c = 0; c < phi.cols; c++) z = nanMax(z, g.data[offset + c]);
      const t = maxPerRow[r];
      for (let c = 0; c < phi.cols; c++) {
        const gi = g.data[offset + c];
        const v = Math.fround(t - gi + Math.log1p(-Math.exp(gi - z)));
        out.data[offset + c] = t - Math.max(v, 0) - Math.log1p(Math.exp(-Math.abs(v)));
      }
    }
    return out;
  }
}

/** An `Rng` with a seed from `crypto.getRandomValues`. */
function randomlySeededRng(): Rng {
  return new Rng(crypto.getRandomValues(new Uint32Array(1))[0]);
}

/** `exp` of every entry. */
function expRows(x: Float32Matrix): Float32Matrix {
  const out = float32Matrix(x.rows, x.cols);
  for (let i = 0; i < x.data.length; i++) out.data[i] = Math.exp(x.data[i]);
  return out;
}

/** `table.gather(-1, positions)`: `table[r, positions[r, j]]` for int32 tables. */
function gatherIndices(table: Int32Matrix, positions: Int32Matrix): Int32Matrix {
  const out: Int32Matrix = {
    rows: positions.rows,
    cols: positions.cols,
    data: new Int32Array(positions.rows * positions.cols),
  };
  for (let r = 0; r < positions.rows; r++) {
    for (let j = 0; j < positions.cols; j++) {
      out.data[r * positions.cols + j] =
        table.data[r * table.cols + positions.data[r * positions.cols + j]];
    }
  }
  return out;
}

/** `max` that propagates NaN, like `torch.max`. */
function nanMax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

function requireState(state: SamplerState, key: string, length: number): Float32Array {
  const value = state[key];
  if (!value || value.length !== length) {
    throw new Error(
      `GumbelSampler: sampler state "${key}" must hold ${length} values, got ` +
        `${value ? value.length : "none"} (use the sampler through BeamSearch)`,
    );
  }
  return value;
}
