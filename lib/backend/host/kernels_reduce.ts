/**
 * `Sum`, `Mean` and `Max` of the `native` engine over float32 values, accumulated in float64
 * (as tfjs's `cpu` backend does, so sums stay accurate at any size). Reduced axes that are not
 * innermost are moved there by a oneDNN transpose first; a reduction over the leading axes
 * (bias gradients) adds whole rows instead, which needs no transpose.
 *
 * Why not oneDNN's reduction primitive for sums: it accumulates in float32 (it does take large
 * row maxima, which need no accumulation). Why not tfjs's `cpu`
 * kernels: `Mean` transposes and divides through generic kernels (44 layer-norm means took
 * 1.6 s of a bench-small step).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Dnnl } from "./dnnl.ts";
import { NATIVE_MIN_ELEMENTS } from "./kernels_math.ts";
import { float32Values, type HostBackendView } from "./storage.ts";

/** The largest finite float32 (oneDNN starts its maxima from its negation). */
const FLT_MAX = 3.4028234663852886e38;

/** Which reduction. */
type Reduction = "sum" | "mean" | "max";

/** Reduces each of `rows` contiguous runs of `inner` values of `x` into `out[row]`. */
function reduceInner(
  x: Float32Array,
  rows: number,
  inner: number,
  out: Float32Array,
  op: Reduction,
) {
  for (let r = 0; r < rows; r++) {
    const base = r * inner;
    if (op === "max") {
      let m = -Infinity;
      for (let j = 0; j < inner; j++) {
        const v = x[base + j];
        if (v > m || Number.isNaN(v)) m = v;
        if (Number.isNaN(m)) break;
      }
      out[r] = m;
      continue;
    }
    let s0 = 0, s1 = 0;
    let j = 0;
    for (; j + 1 < inner; j += 2) {
      s0 += x[base + j];
      s1 += x[base + j + 1];
    }
    if (j < inner) s0 += x[base + j];
    out[r] = op === "mean" ? (s0 + s1) / inner : s0 + s1;
  }
}

/** Reduces `rows` leading rows of `inner` values into `out` (length `inner`). */
function reduceOuter(
  x: Float32Array,
  rows: number,
  inner: number,
  out: Float32Array,
  op: Reduction,
) {
  if (op === "max") {
    out.set(x.subarray(0, inner));
    for (let r = 1; r < rows; r++) {
      const base = r * inner;
      for (let j = 0; j < inner; j++) {
        const v = x[base + j];
        if (v > out[j] || Number.isNaN(v)) out[j] = v;
      }
    }
    return;
  }
  const acc = new Float64Array(inner);
  for (let r = 0; r < rows; r++) {
    const base = r * inner;
    for (let j = 0; j < inner; j++) acc[j] += x[base + j];
  }
  const scale = op === "mean" ? 1 / rows : 1;
  for (let j = 0; j < inner; j++) out[j] = op === "mean" ? acc[j] * scale : acc[j];
}

/** The reduction kernel `op` (attrs `axis`, or `reductionIndices` for `Max`, and `keepDims`). */
export function reduceKernel(dnnl: Dnnl, op: Reduction) {
  return (
    { inputs, attrs }: Parameters<tf.KernelFunc>[0],
    host: HostBackendView,
  ): tf.TensorInfo | null => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype !== "float32" || x.shape.length > 12) return null;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(
      (attrs!.axis ?? attrs!.reductionIndices) as number | number[],
      x.shape,
    ).sort((a, b) => a - b);
    const keepDims = attrs!.keepDims === true;
    const outShape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    const reduced = axes.reduce((p, a) => p * x.shape[a], 1);
    const total = x.shape.reduce((p, d) => p * d, 1);
    if (reduced === 0 || total === 0) return null; // empty reductions: tfjs's identities
    const kept = total / reduced;
    const out = host.pool.take(kept);
    const info = host.makeTensorInfo(outShape, "float32", out);
    const values = float32Values(host, x);
    const inner = axes.every((a, i) => a === rank - axes.length + i);
    const leading = axes.every((a, i) => a === i);
    if (inner && op === "max" && total >= NATIVE_MIN_ELEMENTS && reduced > 1) {
      // Vectorised and threaded; a maximum is exact in any order (the loss's row maxima).
      // oneDNN starts from −FLT_MAX, so rows whose maximum is −FLT_MAX (e.g. all −∞) are redone
      // here to keep tfjs's answer.
      dnnl.rowMax(kept, reduced, values, out);
      for (let r = 0; r < kept; r++) {
        if (out[r] === -FLT_MAX) {
          reduceInner(
            values.subarray(r * reduced, (r + 1) * reduced),
            1,
            reduced,
            out.subarray(r, r + 1),
            op,
          );
        }
      }
    } else if (inner) reduceInner(values, kept, reduced, out, op);
    else if (leading) reduceOuter(values, reduced, kept, out, op);
    else {
      const perm = [...x.shape.keys()].filter((i) => !axes.includes(i)).concat(axes);
      const strides = tf.util.computeStrides([...x.shape]).concat(1);
      const moved = host.pool.take(total);
      dnnl.reorder(perm.map((p) => x.shape[p]), perm.map((p) => strides[p]), values, moved);
      reduceInner(moved, kept, reduced, out, op);
      host.pool.give(moved);
    }
    return info;
  };
}
