/**
 * `Slice`, `SplitV` and `Concat` of the `native` engine: copies of contiguous runs with
 * `TypedArray.set` (a native memcpy), for every dtype but strings. tfjs's `cpu` kernels index
 * every element separately: its `SplitV` of a (B·T, 3C) attention projection took a quarter of
 * a bench-small training step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Dnnl } from "./dnnl.ts";
import type { NativeKernel } from "./kernels_math.ts";
import type { HostBackendView } from "./storage.ts";

/**
 * Float32 copies whose contiguous runs are shorter than this, over at least
 * {@link REORDER_MIN_RUNS} runs, go to a oneDNN reorder (multi-threaded, no per-run JS call):
 * RoPE's rotate-half split of (4, 16, 256, 64) heads into 32-float runs took 1.7 ms per call as
 * `TypedArray.set` runs.
 */
const REORDER_MAX_RUN = 128;
const REORDER_MIN_RUNS = 256;

type Values = Float32Array | Int32Array | Uint8Array;

/** The typed-array values of a tensor, or null for strings and complex numbers. */
function typedValues(host: HostBackendView, t: tf.TensorInfo): Values | null {
  if (t.dtype === "string" || t.dtype === "complex64") return null;
  const v = host.data.get(t.dataId).values;
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array ? v : null;
}

/** A typed array of `dtype`'s storage type (float32 ones pooled: stale contents). */
function allocate(host: HostBackendView, dtype: tf.DataType, length: number): Values {
  if (dtype === "int32") return new Int32Array(length);
  if (dtype === "bool") return new Uint8Array(length);
  return host.pool.take(length);
}

/**
 * Copies the box `begin`/`size` of `src` (shape `shape`) into `dst` at `dstOffset`, row by row
 * of the innermost axes that are whole: `dst` receives the box densely.
 */
function copyBox(
  dnnl: Dnnl,
  src: Values,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dst: Values,
): void {
  const rank = shape.length;
  // Innermost axes taken whole form one contiguous run together with the first partial axis.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const strides = tf.util.computeStrides([...shape]).concat(1);
  const run = size[k] * strides[k];
  const outer = size.slice(0, k);
  const rows = outer.reduce((p, d) => p * d, 1);
  if (
    src instanceof Float32Array && dst instanceof Float32Array && run < REORDER_MAX_RUN &&
    rows >= REORDER_MIN_RUNS && rank <= 12
  ) {
    const start = begin.reduce((p, b, i) => p + b * strides[i], 0);
    dnnl.reorder(size, strides, src.subarray(start), dst);
    return;
  }
  const index = new Array<number>(k).fill(0);
  for (let r = 0; r < rows; r++) {
    let offset = begin[k] * strides[k];
    for (let i = 0; i < k; i++) offset += (begin[i] + index[i]) * strides[i];
    dst.set(src.subarray(offset, offset + run), r * run);
    for (let i = k - 1; i >= 0; i--) {
      if (++index[i] < outer[i]) break;
      index[i] = 0;
    }
  }
}

/** `Slice` by contiguous runs. */
export const sliceKernel = (dnnl: Dnnl): NativeKernel => ({ inputs, attrs }, host) => {
  const x = inputs.x as tf.TensorInfo;
  const src = typedValues(host, x);
  if (!src || x.shape.length === 0) return null;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as unknown as tf.Tensor,
    attrs!.begin as number[],
    attrs!.size as number[],
  );
  const total = size.reduce((p, d) => p * d, 1);
  const dst = allocate(host, x.dtype, total);
  if (total > 0) copyBox(dnnl, src, x.shape, begin, size, dst);
  return host.makeTensorInfo(size, x.dtype, dst);
};

/** `SplitV` as one box copy per output. */
export const splitKernel = (dnnl: Dnnl): NativeKernel => ({ inputs, attrs }, host) => {
  const x = inputs.x as tf.TensorInfo;
  const src = typedValues(host, x);
  if (!src || x.shape.length === 0) return null;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(
    x as unknown as tf.Tensor,
    attrs!.numOrSizeSplits as number[] | number,
    axis,
  );
  let start = 0;
  return sizes.map((s) => {
    const begin = x.shape.map((_, i) => (i === axis ? start : 0));
    const size = x.shape.map((d, i) => (i === axis ? s : d));
    start += s;
    const total = size.reduce((p, d) => p * d, 1);
    const dst = allocate(host, x.dtype, total);
    if (total > 0) copyBox(dnnl, src, x.shape, begin, size, dst);
    return host.makeTensorInfo(size, x.dtype, dst);
  });
};

/**
 * `Concat`: each input's rows copied into place (inputs of one dtype); many short float32 rows
 * as one oneDNN reorder per input into its columns.
 */
export const concatKernel = (dnnl: Dnnl): NativeKernel => ({ inputs, attrs }, host) => {
  const xs = Object.values(inputs) as tf.TensorInfo[];
  if (xs.length === 0) return null;
  const dtype = xs[0].dtype;
  const values = xs.map((t) => typedValues(host, t));
  if (xs.some((t) => t.dtype !== dtype) || values.some((v) => v === null)) return null;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, xs[0].shape)[0];
  const shape = tf.backend_util.computeOutShape(xs.map((t) => [...t.shape]), axis);
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const rowOut = shape.slice(axis).reduce((p, d) => p * d, 1);
  const dst = allocate(host, dtype, outer * rowOut);
  let column = 0;
  xs.forEach((t, i) => {
    const row = t.shape.slice(axis).reduce((p, d) => p * d, 1);
    const src = values[i]!;
    if (
      src instanceof Float32Array && dst instanceof Float32Array && row > 0 &&
      row < REORDER_MAX_RUN && outer >= REORDER_MIN_RUNS
    ) {
      dnnl.reorder([outer, row], [row, 1], src, dst.subarray(column), [rowOut, 1]);
      column += row;
      return;
    }
    for (let r = 0; r < outer && row > 0; r++) {
      dst.set(src.subarray(r * row, (r + 1) * row), r * rowOut + column);
    }
    column += row;
  });
  return host.makeTensorInfo(shape, dtype, dst);
};

/**
 * `GatherV2` without batch dims as row copies (the embedding lookup and the loss's label
 * picks); tfjs's cpu kernel converts every element's index (0.5M elements took 64 ms).
 * Out-of-range indices go to the cpu kernel, which reports them.
 */
export function gatherKernel(
  { inputs, attrs }: Parameters<tf.KernelFunc>[0],
  host: HostBackendView,
): tf.TensorInfo | null {
  const x = inputs.x as tf.TensorInfo;
  const indices = inputs.indices as tf.TensorInfo;
  const src = typedValues(host, x);
  const idx = typedValues(host, indices);
  if (!src || !idx || (attrs!.batchDims as number ?? 0) !== 0 || x.shape.length === 0) return null;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
  const dim = x.shape[axis];
  for (let i = 0; i < idx.length; i++) if (!(idx[i] >= 0 && idx[i] < dim)) return null;
  const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const dst = allocate(host, x.dtype, outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    const base = o * dim * inner;
    const outBase = o * idx.length * inner;
    if (inner === 1) {
      for (let i = 0; i < idx.length; i++) dst[outBase + i] = src[base + idx[i]];
      continue;
    }
    for (let i = 0; i < idx.length; i++) {
      const from = base + idx[i] * inner;
      dst.set(src.subarray(from, from + inner), outBase + i * inner);
    }
  }
  return host.makeTensorInfo(shape, x.dtype, dst);
}

/**
 * Flat slice offsets of `indices` (N, K) into `shape` (slices of the trailing axes), or null
 * when one is out of range (the cpu kernel then reports it).
 */
function scatterOffsets(idx: Values, k: number, shape: readonly number[]): Int32Array | null {
  const strides = tf.util.computeStrides([...shape]).concat(1);
  const n = idx.length / Math.max(1, k);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let flat = 0;
    for (let j = 0; j < k; j++) {
      const v = idx[i * k + j];
      if (!(v >= 0 && v < shape[j])) return null;
      flat += v * strides[j];
    }
    out[i] = flat;
  }
  return out;
}

/**
 * `TensorScatterUpdate` (the loss gradient's label entries) as one copy of the tensor plus the
 * updated slices; tfjs's cpu kernel writes every element through a generic buffer (16 ms for a
 * (2048, 4096) chunk, once per vocabulary chunk).
 */
export function tensorScatterUpdateKernel(
  { inputs }: Parameters<tf.KernelFunc>[0],
  host: HostBackendView,
): tf.TensorInfo | null {
  const t = inputs.tensor as tf.TensorInfo;
  const indices = inputs.indices as tf.TensorInfo;
  const updates = inputs.updates as tf.TensorInfo;
  const src = typedValues(host, t);
  const idx = typedValues(host, indices);
  const upd = typedValues(host, updates);
  if (!src || !idx || !upd || t.dtype !== "float32" || updates.dtype !== "float32") return null;
  const k = indices.shape[indices.shape.length - 1] ?? 1;
  const offsets = scatterOffsets(idx, k, t.shape);
  const slice = t.shape.slice(k).reduce((p, d) => p * d, 1);
  if (!offsets || upd.length !== offsets.length * slice) return null;
  const dst = allocate(host, "float32", src.length);
  dst.set(src);
  for (let i = 0; i < offsets.length; i++) {
    if (slice === 1) dst[offsets[i]] = upd[i];
    else dst.set(upd.subarray(i * slice, (i + 1) * slice), offsets[i]);
  }
  return host.makeTensorInfo([...t.shape], "float32", dst);
}
