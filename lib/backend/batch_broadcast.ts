/**
 * Batch indexing of broadcast batched matmuls: for `a` (..., M, K) and `b` (..., K, N) whose
 * outer axes broadcast to `outer`, which batch of each operand every output batch reads.
 *
 * @module
 */

/** Row-major strides of `shape`. */
function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/**
 * For every batch index of the broadcast outer shape `outer`, the batch index into an operand
 * whose outer shape is `own` (right-aligned; axes of size 1 repeat).
 */
export function batchIndices(outer: readonly number[], own: readonly number[]): Int32Array {
  const total = outer.reduce((p, d) => p * d, 1);
  const padded = [...new Array(outer.length - own.length).fill(1), ...own];
  const ownStrides = strides(padded);
  const outStrides = strides(outer);
  const idx = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    let rest = i;
    let j = 0;
    for (let axis = 0; axis < outer.length; axis++) {
      const coord = Math.floor(rest / outStrides[axis]);
      rest -= coord * outStrides[axis];
      if (padded[axis] !== 1) j += coord * ownStrides[axis];
    }
    idx[i] = j;
  }
  return idx;
}
