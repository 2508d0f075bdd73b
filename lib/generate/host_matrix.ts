/**
 * Row-major host matrices and the small row-wise operations beam search needs (top-k, softmax,
 * categorical sampling). Beam search reads each step's log-probabilities from the backend once and
 * does its bookkeeping here, so that tie-breaking and float32 rounding are the same on every tfjs
 * backend (tfjs's `topk` orders ties differently per backend and compares `-inf` values as NaN).
 *
 * Arithmetic is done in float64 and stored into `Float32Array`s, which rounds each result to
 * float32 like PyTorch's float32 ops (one rounding per add/multiply/divide is exact float32).
 *
 * @module
 */
import type { Rng } from "../model/random.ts";

/** `torch.finfo(torch.float32).min`: the "negligible" log-probability OLMo masks with. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/** A (rows, cols) float32 matrix stored row-major. */
export interface Float32Matrix {
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** `rows * cols` values; element (r, c) is `data[r * cols + c]`. */
  data: Float32Array;
}

/** A (rows, cols) int32 matrix stored row-major (class or beam indices). */
export interface Int32Matrix {
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
  /** `rows * cols` values; element (r, c) is `data[r * cols + c]`. */
  data: Int32Array;
}

/** A float32 matrix of the given shape filled with `value` (zeros by default). */
export function float32Matrix(rows: number, cols: number, value = 0): Float32Matrix {
  const data = new Float32Array(rows * cols);
  if (value !== 0) data.fill(value);
  return { rows, cols, data };
}

/** Wraps nested number arrays (rows of equal length) as a float32 matrix. */
export function float32MatrixFrom(values: readonly (readonly number[])[]): Float32Matrix {
  const rows = values.length;
  const cols = rows === 0 ? 0 : values[0].length;
  const data = new Float32Array(rows * cols);
  values.forEach((row, r) => {
    if (row.length !== cols) {
      throw new Error(`float32MatrixFrom: row ${r} has ${row.length} values, expected ${cols}`);
    }
    data.set(row, r * cols);
  });
  return { rows, cols, data };
}

/** The rows of an int32 matrix as nested arrays (for inspection and tests). */
export function int32MatrixToArray(m: Int32Matrix): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < m.rows; r++) {
    out.push(Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)));
  }
  return out;
}

/** The rows of a float32 matrix as nested arrays (for inspection and tests). */
export function float32MatrixToArray(m: Float32Matrix): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < m.rows; r++) {
    out.push(Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)));
  }
  return out;
}

/**
 * Orders two (value, index) pairs for a descending top-k or sort: larger values first, NaN above
 * everything (as `torch.topk`), and among equal values the lower index first.
 */
export function before(va: number, ia: number, vb: number, ib: number): boolean {
  const aNaN = Number.isNaN(va);
  const bNaN = Number.isNaN(vb);
  if (aNaN || bNaN) return aNaN && (!bNaN || ia < ib);
  return va > vb || (va === vb && ia < ib);
}

/**
 * Row-wise top-k, sorted descending (ties: lower index first). Like `torch.topk(x, k, dim=-1)`.
 * Returns the values and the column indices, both (rows, k).
 */
export function topKRows(
  x: Float32Matrix,
  k: number,
): { values: Float32Matrix; indices: Int32Matrix } {
  if (!(Number.isInteger(k) && k >= 0 && k <= x.cols)) {
    throw new Error(`topKRows: k must be an integer in [0, ${x.cols}] (the row length), got ${k}`);
  }
  const values = float32Matrix(x.rows, k);
  const indices: Int32Matrix = { rows: x.rows, cols: k, data: new Int32Array(x.rows * k) };
  const keptValues = new Float64Array(k);
  const keptIndices = new Int32Array(k);
  for (let r = 0; r < x.rows; r++) {
    const offset = r * x.cols;
    // Insertion into a sorted buffer of size k: O(cols * k), and k is a beam width.
    let count = 0;
    for (let c = 0; c < x.cols; c++) {
      const v = x.data[offset + c];
      if (count === k && !before(v, c, keptValues[k - 1], keptIndices[k - 1])) continue;
      let pos = count < k ? count++ : k - 1;
      while (pos > 0 && before(v, c, keptValues[pos - 1], keptIndices[pos - 1])) {
        keptValues[pos] = keptValues[pos - 1];
        keptIndices[pos] = keptIndices[pos - 1];
        pos--;
      }
      keptValues[pos] = v;
      keptIndices[pos] = c;
    }
    values.data.set(keptValues.subarray(0, k), r * k);
    indices.data.set(keptIndices, r * k);
  }
  return { values, indices };
}

/** Row-wise descending sort (ties: lower index first), like `torch.sort(x, descending=True)`. */
export function sortRowsDescending(
  x: Float32Matrix,
): { values: Float32Matrix; indices: Int32Matrix } {
  const values = float32Matrix(x.rows, x.cols);
  const indices: Int32Matrix = {
    rows: x.rows,
    cols: x.cols,
    data: new Int32Array(x.rows * x.cols),
  };
  const order = Array.from({ length: x.cols }, (_, i) => i);
  for (let r = 0; r < x.rows; r++) {
    const row = x.data.subarray(r * x.cols, (r + 1) * x.cols);
    order.sort((
      a,
      b,
    ) => (before(row[a], a, row[b], b) ? -1 : before(row[b], b, row[a], a) ? 1 : 0));
    for (let c = 0; c < x.cols; c++) {
      values.data[r * x.cols + c] = row[order[c]];
      indices.data[r * x.cols + c] = order[c];
      order[c] = c;
    }
  }
  return { values, indices };
}

/** `x.gather(1, indices)`: picks `x[r, indices[r, j]]` into a (rows, indices.cols) matrix. */
export function gatherRows(x: Float32Matrix, indices: Int32Matrix): Float32Matrix {
  const out = float32Matrix(indices.rows, indices.cols);
  for (let r = 0; r < indices.rows; r++) {
    for (let j = 0; j < indices.cols; j++) {
      out.data[r * indices.cols + j] = x.data[r * x.cols + indices.data[r * indices.cols + j]];
    }
  }
  return out;
}

/** Row-wise softmax of `x / temperature` (float32 results; `-inf` entries get probability 0). */
export function softmaxRows(x: Float32Matrix, temperature = 1): Float32Matrix {
  const out = float32Matrix(x.rows, x.cols);
  for (let r = 0; r < x.rows; r++) {
    const offset = r * x.cols;
    let max = -Infinity;
    for (let c = 0; c < x.cols; c++) {
      max = Math.max(max, Math.fround(x.data[offset + c] / temperature));
    }
    let sum = 0;
    for (let c = 0; c < x.cols; c++) {
      const e = Math.exp(Math.fround(x.data[offset + c] / temperature) - max);
      out.data[offset + c] = e;
      sum += e;
    }
    for (let c = 0; c < x.cols; c++) out.data[offset + c] = out.data[offset + c] / sum;
  }
  return out;
}

/** Row-wise `log_softmax(x / temperature)` (float32 results). */
export function logSoftmaxRows(x: Float32Matrix, temperature = 1): Float32Matrix {
  const out = float32Matrix(x.rows, x.cols);
  for (let r = 0; r < x.rows; r++) {
    const offset = r * x.cols;
    let max = -Infinity;
    for (let c = 0; c < x.cols; c++) {
      max = Math.max(max, Math.fround(x.data[offset + c] / temperature));
    }
    let sum = 0;
    for (let c = 0; c < x.cols; c++) {
      sum += Math.exp(Math.fround(x.data[offset + c] / temperature) - max);
    }
    const logSum = max + Math.log(sum);
    for (let c = 0; c < x.cols; c++) {
      out.data[offset + c] = Math.fround(x.data[offset + c] / temperature) - logSum;
    }
  }
  return out;
}

/**
 * Row-wise `torch.multinomial(probs, numSamples, replacement)`: draws column indices with
 * probability proportional to each row's (unnormalised, non-negative) weights.
 *
 * Without replacement it uses the exponential-race form of sequential sampling (as PyTorch
 * does): the `numSamples` largest `w / E` with `E ~ Exp(1)` are a draw without replacement.
 * Zero-weight columns are taken (lowest index first) only when fewer than `numSamples` columns
 * have positive weight.
 */
export function multinomialRows(
  probs: Float32Matrix,
  numSamples: number,
  withReplacement: boolean,
  rng: Rng,
): Int32Matrix {
  if (!(Number.isInteger(numSamples) && numSamples > 0)) {
    throw new Error(
      `multinomial: the number of samples must be a positive integer, got ${numSamples}`,
    );
  }
  if (!withReplacement && numSamples > probs.cols) {
    throw new Error(
      `multinomial: cannot draw ${numSamples} samples without replacement from ${probs.cols} classes`,
    );
  }
  const out: Int32Matrix = {
    rows: probs.rows,
    cols: numSamples,
    data: new Int32Array(probs.rows * numSamples),
  };
  const keys = float32Matrix(1, probs.cols);
  for (let r = 0; r < probs.rows; r++) {
    const row = probs.data.subarray(r * probs.cols, (r + 1) * probs.cols);
    let total = 0;
    for (let c = 0; c < row.length; c++) {
      const w = row[c];
      if (!(w >= 0 && w < Infinity)) {
        throw new Error(`multinomial: row ${r} has an invalid probability ${w} at class ${c}`);
      }
      total += w;
    }
    if (!(total > 0)) throw new Error(`multinomial: row ${r} has probabilities summing to 0`);
    if (withReplacement) {
      for (let s = 0; s < numSamples; s++) {
        const target = rng.next() * total;
        let acc = 0;
        let chosen = -1;
        for (let c = 0; c < row.length; c++) {
          if (row[c] === 0) continue;
          chosen = c;
          acc += row[c];
          if (target < acc) break;
        }
        out.data[r * numSamples + s] = chosen;
      }
    } else {
      for (let c = 0; c < row.length; c++) {
        keys.data[c] = row[c] / -Math.log(1 - rng.next()); // w / Exp(1)
      }
      out.data.set(topKRows(keys, numSamples).indices.data, r * numSamples);
    }
  }
  return out;
}
