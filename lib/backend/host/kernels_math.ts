/**
 * Element-wise, broadcasting binary, softmax and transpose kernels of the `native` engine, run
 * by oneDNN on the tensors' host buffers. Anything oneDNN cannot take (non-float32 operands, a
 * broadcast first operand of a non-commutative op, softmax over another axis) goes to tfjs's own
 * `cpu` kernel, which works on the same storage.
 *
 * Why oneDNN: measured on (2048, 4096) float32 values, 2 shared cores, interleaved in one run
 * (ms): exp 6–12 (wasm 54–150, a JS `Math.exp` loop 80–137); row-broadcast multiply 3–10 (JS
 * loop 11–21, wasm 38–114); softmax 8–35 (wasm 38–60); transpose 17–56 (wasm 77–214). tfjs's
 * `cpu` kernels, which index every element through generic broadcasting, made one bench-small
 * training step 16× slower than wasm.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { binaryJs, type BinaryOp } from "./binary_js.ts";
import { Binary, type Dnnl, Eltwise } from "./dnnl.ts";
import { float32Values, type HostBackendView } from "./storage.ts";

/** A kernel: the native function, or null to use the cpu fallback. */
export type NativeKernel = (
  args: Parameters<tf.KernelFunc>[0],
  host: HostBackendView,
) => tf.TensorInfo | tf.TensorInfo[] | null;

/** Wraps `native` so that a null answer runs `fallback` (tfjs's cpu kernel). */
export function withFallback(native: NativeKernel, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => native(args, args.backend as unknown as HostBackendView) ?? fallback(args);
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * Tensors smaller than this go to tfjs's cpu kernels. Each oneDNN call starts an OpenMP
 * parallel region; on a loaded 2-core machine a region waits for a descheduled thread, and a
 * 2048-element add measured 0.2–27 ms through oneDNN against 1–20 µs as a JS loop.
 */
export const NATIVE_MIN_ELEMENTS = 32768;

/**
 * Merges adjacent axes on which `a` and `b` (padded to one rank) broadcast alike, so oneDNN sees
 * the fewest axes (e.g. (4, 4, 512, 512) − (4, 4, 512, 1) becomes (8192, 512) − (8192, 1)).
 */
export function mergeBroadcastAxes(
  dims: readonly number[],
  bDims: readonly number[],
): [number[], number[]] {
  const outA: number[] = [];
  const outB: number[] = [];
  let lastKind: boolean | null = null;
  dims.forEach((d, i) => {
    if (d === 1) return; // a size-1 axis broadcasts either way
    const kind = bDims[i] === d;
    if (kind === lastKind) {
      outA[outA.length - 1] *= d;
      outB[outB.length - 1] *= bDims[i];
    } else {
      outA.push(d);
      outB.push(bDims[i]);
    }
    lastKind = kind;
  });
  return outA.length === 0 ? [[1], [1]] : [outA, outB];
}

/** Output of `shape` over a pooled float32 buffer (stale contents: the kernel overwrites all). */
function output(host: HostBackendView, shape: number[]): [tf.TensorInfo, Float32Array] {
  const values = host.pool.take(size(shape));
  return [host.makeTensorInfo(shape, "float32", values), values];
}

/**
 * Element-wise kernels: tfjs name → oneDNN algorithm, alpha, beta. `Log` stays tfjs's (a
 * `Math.log` loop): oneDNN's log is several ulps off (3e-6 absolute near 0) and the losses
 * only take logs of (N,)-sized row sums.
 */
export const ELTWISE_KERNELS: Readonly<Record<string, [number, number, number]>> = {
  Exp: [Eltwise.exp, 0, 0],
  Sigmoid: [Eltwise.logistic, 0, 0],
  Relu: [Eltwise.relu, 0, 0],
  Sqrt: [Eltwise.sqrt, 0, 0],
  Square: [Eltwise.square, 0, 0],
  Abs: [Eltwise.abs, 0, 0],
  Tanh: [Eltwise.tanh, 0, 0],
  Neg: [Eltwise.linear, -1, 0],
};

/** The element-wise kernel for oneDNN algorithm `alg`. */
export function eltwiseKernel(
  dnnl: Dnnl,
  [alg, alpha, beta]: [number, number, number],
): NativeKernel {
  return ({ inputs }, host) => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype !== "float32" || size(x.shape) < NATIVE_MIN_ELEMENTS) return null;
    const [out, values] = output(host, [...x.shape]);
    if (values.length > 0) dnnl.eltwise(alg, float32Values(host, x), values, alpha, beta);
    return out;
  };
}

/** Binary kernels: tfjs name → oneDNN algorithm and whether the operands commute. */
export const BINARY_KERNELS: Readonly<Record<BinaryOp, [number, boolean]>> = {
  Add: [Binary.add, true],
  Sub: [Binary.sub, false],
  Multiply: [Binary.mul, true],
  RealDiv: [Binary.div, false],
  Maximum: [Binary.max, true],
  Minimum: [Binary.min, true],
};

/** `shape` left-padded with 1s to `rank`. */
function padRank(shape: readonly number[], rank: number): number[] {
  return [...new Array(rank - shape.length).fill(1), ...shape];
}

/**
 * The broadcasting binary kernel `op`. oneDNN broadcasts only its second source, so a broadcast
 * first operand is swapped in when the op commutes and `a − b` with `a` broadcast is `−(b − a)`
 * (negation is exact); small tensors and the remaining broadcasts run as JS loops
 * (`binary_js.ts`). Non-float32 operands go to tfjs's cpu kernel.
 */
export function binaryKernel(dnnl: Dnnl, op: BinaryOp): NativeKernel {
  const [alg, commutes] = BINARY_KERNELS[op];
  return ({ inputs }, host) => {
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    if (a.dtype !== "float32" || b.dtype !== "float32") return null;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const [out, values] = output(host, shape);
    if (values.length === 0) return out;
    const dims = shape.length === 0 ? [1] : shape;
    const aDims = padRank(a.shape, dims.length);
    const bDims = padRank(b.shape, dims.length);
    const full = (d: number[]) => d.every((v, i) => v === dims[i]);
    const swap = !full(aDims);
    const va = float32Values(host, a);
    const vb = float32Values(host, b);
    const native = dims.length <= 12 && values.length >= NATIVE_MIN_ELEMENTS &&
      (!swap || (full(bDims) && (commutes || alg === Binary.sub)));
    if (!native) {
      binaryJs(op, dims, aDims, bDims, va, vb, values);
      return out;
    }
    const [merged, secondDims] = mergeBroadcastAxes(dims, swap ? aDims : bDims);
    dnnl.binary(alg, merged, secondDims, swap ? vb : va, swap ? va : vb, values);
    if (swap && !commutes) dnnl.eltwise(Eltwise.linear, values, values, -1, 0);
    return out;
  };
}

/** Softmax of each of `rows` runs of `cols` values: max-shifted exp, float64 sum. */
function softmaxJs(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[base + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.fround(Math.exp(x[base + j] - max));
      out[base + j] = e;
      sum += e;
    }
    for (let j = 0; j < cols; j++) out[base + j] /= sum;
  }
}

/**
 * `Softmax` over the last axis (tfjs' only use; other axes go to the fallback): oneDNN for
 * large tensors, a JS loop for small ones (decoding's (1, H, 1, T) attention rows, where tfjs's
 * cpu softmax, five generic kernels, took 0.75 ms each).
 */
export function softmaxKernel(dnnl: Dnnl): NativeKernel {
  return ({ inputs, attrs }, host) => {
    const x = inputs.logits as tf.TensorInfo;
    const rank = x.shape.length;
    const dim = attrs?.dim as number;
    if (x.dtype !== "float32" || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
    const [out, values] = output(host, [...x.shape]);
    const cols = x.shape[rank - 1];
    if (values.length === 0) return out;
    if (values.length < NATIVE_MIN_ELEMENTS) {
      softmaxJs(float32Values(host, x), values.length / cols, cols, values);
    } else dnnl.softmax(values.length / cols, cols, float32Values(host, x), values);
    return out;
  };
}

/** `Transpose` of float32 values as a oneDNN reorder (multi-threaded, blocked). */
export function transposeKernel(dnnl: Dnnl): NativeKernel {
  return ({ inputs, attrs }, host) => {
    const x = inputs.x as tf.TensorInfo;
    const perm = attrs?.perm as number[];
    if (x.dtype !== "float32" || x.shape.length === 0 || x.shape.length > 12) return null;
    if (size(x.shape) < NATIVE_MIN_ELEMENTS) return null;
    const strides = tf.util.computeStrides(x.shape).concat(1);
    const shape = perm.map((p) => x.shape[p]);
    const [out, values] = output(host, shape);
    if (values.length > 0) {
      dnnl.reorder(shape, perm.map((p) => strides[p]), float32Values(host, x), values);
    }
    return out;
  };
}
