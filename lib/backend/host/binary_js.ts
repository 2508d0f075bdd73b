/**
 * Broadcasting float32 binary ops as plain JS loops, for what oneDNN is not used for: tensors
 * below `NATIVE_MIN_ELEMENTS` (decoding runs hundreds of (1, 1, C)-sized ops per token) and
 * broadcasts oneDNN cannot express (both operands broadcast, or a broadcast first operand of a
 * non-commutative op). tfjs's `cpu` kernels convert every flat index to coordinates and back:
 * they took 110 µs per small op, 15× wasm, when decoding bench-85m.
 *
 * Each result is computed in float64 and rounded once to float32, which for + − × ÷ is the
 * correctly rounded float32 result, the same as tfjs's `cpu` kernels.
 *
 * @module
 */

/** The ops, by tfjs kernel name. */
export type BinaryOp = "Add" | "Sub" | "Multiply" | "RealDiv" | "Maximum" | "Minimum";

/** `out[o + j] = a[ia + j·sa] ∘ b[ib + j·sb]` for j < n. */
type Run = (
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  out: Float32Array,
  o: number,
  n: number,
) => void;

// One function per op keeps each inner loop monomorphic for the JIT.
const RUNS: Record<BinaryOp, Run> = {
  Add: (a, ia, sa, b, ib, sb, out, o, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] + b[ib + j * sb];
  },
  Sub: (a, ia, sa, b, ib, sb, out, o, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] - b[ib + j * sb];
  },
  Multiply: (a, ia, sa, b, ib, sb, out, o, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] * b[ib + j * sb];
  },
  RealDiv: (a, ia, sa, b, ib, sb, out, o, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] / b[ib + j * sb];
  },
  Maximum: (a, ia, sa, b, ib, sb, out, o, n) => {
    for (let j = 0; j < n; j++) out[o + j] = Math.max(a[ia + j * sa], b[ib + j * sb]);
  },
  Minimum: (a, ia, sa, b, ib, sb, out, o, n) => {
    for (let j = 0; j < n; j++) out[o + j] = Math.min(a[ia + j * sa], b[ib + j * sb]);
  },
};

/**
 * Merges adjacent axes on which both operands broadcast alike (size-1 output axes dropped):
 * returns the merged output dims and, per merged axis, whether `a` and `b` span it.
 */
function mergeAxes(
  dims: readonly number[],
  aDims: readonly number[],
  bDims: readonly number[],
): { dims: number[]; aFull: boolean[]; bFull: boolean[] } {
  const out = { dims: [] as number[], aFull: [] as boolean[], bFull: [] as boolean[] };
  dims.forEach((d, i) => {
    if (d === 1) return;
    const fa = aDims[i] === d;
    const fb = bDims[i] === d;
    const last = out.dims.length - 1;
    if (last >= 0 && out.aFull[last] === fa && out.bFull[last] === fb) out.dims[last] *= d;
    else {
      out.dims.push(d);
      out.aFull.push(fa);
      out.bFull.push(fb);
    }
  });
  return out;
}

/** Element strides of an operand over merged axes (0 where it broadcasts). */
function strides(dims: readonly number[], full: readonly boolean[]): number[] {
  const s = new Array<number>(dims.length);
  let step = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = full[i] ? step : 0;
    if (full[i]) step *= dims[i];
  }
  return s;
}

/**
 * `out = a ∘ b` with numpy broadcasting; `aDims`, `bDims` are the operands' shapes padded to the
 * rank of `dims` (the output shape).
 */
export function binaryJs(
  op: BinaryOp,
  dims: readonly number[],
  aDims: readonly number[],
  bDims: readonly number[],
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
): void {
  const m = mergeAxes(dims, aDims, bDims);
  const run = RUNS[op];
  if (m.dims.length === 0) {
    run(a, 0, 0, b, 0, 0, out, 0, 1);
    return;
  }
  const sa = strides(m.dims, m.aFull);
  const sb = strides(m.dims, m.bFull);
  const rank = m.dims.length;
  const inner = m.dims[rank - 1];
  const rows = out.length / inner;
  const index = new Array<number>(rank - 1).fill(0);
  let ia = 0, ib = 0;
  for (let r = 0; r < rows; r++) {
    run(a, ia, sa[rank - 1], b, ib, sb[rank - 1], out, r * inner, inner);
    for (let k = rank - 2; k >= 0; k--) {
      ia += sa[k];
      ib += sb[k];
      if (++index[k] < m.dims[k]) break;
      ia -= sa[k] * m.dims[k];
      ib -= sb[k] * m.dims[k];
      index[k] = 0;
    }
  }
}
