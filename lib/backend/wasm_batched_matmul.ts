/**
 * Batched matmuls on the wasm backend as one 2-D product per batch.
 *
 * The wasm `BatchMatMul` reaches XNNPACK's fast path only for a single (M, K) × (K, N) product;
 * with a batch axis it falls back to a generic loop that runs at a tenth of the speed (about
 * 1.5 GFLOP/s for attention's (B·heads, T, T) × (B·heads, T, hd)). Here each batch is handed to
 * the original kernel as a 2-D product over *views* of the operands' heap memory (tensors
 * registered at an offset inside the operand, no copy), and its result is copied into place.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batchIndices } from "./batch_broadcast.ts";

/** The parts of the wasm backend used here. */
interface WasmViewBackend {
  wasm: { HEAPU8: Uint8Array; tfjs: { disposeData(id: number): void } };
  dataIdMap: { get(dataId: object): { id: number }; delete(dataId: object): void };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
  disposeData(dataId: object): boolean;
}

/** Registers a tensor over existing heap memory (no allocation). */
function view(backend: WasmViewBackend, offset: number, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, "float32", offset);
}

/** Unregisters a view without freeing the memory it points into. */
function releaseView(backend: WasmViewBackend, t: tf.TensorInfo): void {
  backend.wasm.tfjs.disposeData(backend.dataIdMap.get(t.dataId).id);
  backend.dataIdMap.delete(t.dataId);
}

/**
 * `a` (..., M, K) × `b` (..., K, N) → (broadcast outer, M, N) for untransposed float32 operands
 * with at least one batch axis, computed by `kernel` (the original wasm `BatchMatMul`) one
 * 2-D product at a time.
 */
export function batchedMatMulBySlices(
  kernel: tf.KernelFunc,
  backend: object,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo {
  const wasm = backend as WasmViewBackend;
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = outer.reduce((p, d) => p * d, 1);
  const out = wasm.makeOutput([...outer, m, n], "float32");
  if (batch * m * n === 0) return out;
  const idxA = batchIndices(outer, outerA);
  const idxB = batchIndices(outer, outerB);
  const offA = wasm.getMemoryOffset(a.dataId);
  const offB = wasm.getMemoryOffset(b.dataId);
  const offOut = wasm.getMemoryOffset(out.dataId);
  const bytes = m * n * 4;
  for (let i = 0; i < batch; i++) {
    const aView = view(wasm, offA + idxA[i] * m * k * 4, [m, k]);
    const bView = view(wasm, offB + idxB[i] * k * n * 4, [k, n]);
    try {
      const part = kernel({
        inputs: { a: aView, b: bView },
        backend,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      const src = wasm.getMemoryOffset(part.dataId);
      wasm.wasm.HEAPU8.copyWithin(offOut + i * bytes, src, src + bytes);
      wasm.disposeData(part.dataId);
    } finally {
      releaseView(wasm, aView);
      releaseView(wasm, bView);
    }
  }
  return out;
}
