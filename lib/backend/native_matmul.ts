/**
 * The `native` backend's matmul: the wasm backend with its `BatchMatMul` kernel replaced by a
 * native CBLAS `sgemm` that reads and writes the tensors in place on the wasm heap (zero copy).
 *
 * Everything else (elementwise ops, softmax, reductions, memory) stays the wasm backend's, so
 * `native` has the wasm backend's numerics except for the matmul summation order. `sgemm`
 * handles transposed operands itself and OpenBLAS runs it on all cores, which is where a
 * training step spends most of its time (wasm's XNNPACK path is single-threaded, and batched or
 * transposed products leave it for a slow generic loop: ecosystem notes §1d).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batchIndices } from "./batch_broadcast.ts";
import {
  type BlasLibrary,
  CBLAS_NO_TRANS,
  CBLAS_ROW_MAJOR,
  CBLAS_TRANS,
  loadBlasLibrary,
} from "./blas_library.ts";

/** The parts of the wasm backend the kernel uses (the class itself is not exported as a type). */
interface WasmBackendView {
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
}

/** The kernel that `BatchMatMul` had before the native one replaced it, to restore it. */
let replaced: tf.KernelConfig | null = null;
/** The native kernel function currently registered, if any. */
let installed: tf.KernelFunc | null = null;

/** Builds the `BatchMatMul` kernel function over `blas`. */
function makeNativeBatchMatMul(blas: BlasLibrary): tf.KernelFunc {
  const sgemm = blas.symbols.cblas_sgemm;
  const sgemv = blas.symbols.cblas_sgemv;
  return ({ inputs, backend, attrs }) => {
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    if (a.dtype !== "float32" || b.dtype !== "float32") {
      throw new Error(`native BatchMatMul: float32 operands expected, got ${a.dtype}, ${b.dtype}`);
    }
    const transA = attrs?.transposeA === true;
    const transB = attrs?.transposeB === true;
    const ar = a.shape.length;
    const br = b.shape.length;
    const m = transA ? a.shape[ar - 1] : a.shape[ar - 2];
    const k = transA ? a.shape[ar - 2] : a.shape[ar - 1];
    const kB = transB ? b.shape[br - 1] : b.shape[br - 2];
    const n = transB ? b.shape[br - 2] : b.shape[br - 1];
    if (k !== kB) {
      throw new Error(
        `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ` +
          `${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`,
      );
    }
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = outer.reduce((p, d) => p * d, 1);
    const wasm = backend as unknown as WasmBackendView;
    const out = wasm.makeOutput([...outer, m, n], "float32");
    if (batch * m * n === 0) return out;
    // Offsets are read after makeOutput: allocating may grow (and replace) the heap buffer.
    const heap = wasm.wasm.HEAPU8;
    const offA = wasm.getMemoryOffset(a.dataId);
    const offB = wasm.getMemoryOffset(b.dataId);
    const offC = wasm.getMemoryOffset(out.dataId);
    if (k === 0) {
      new Float32Array(heap.buffer, offC, batch * m * n).fill(0);
      return out;
    }
    const base = Deno.UnsafePointer.of(heap);
    const at = (offset: number) => Deno.UnsafePointer.offset(base!, offset);
    const opA = transA ? CBLAS_TRANS : CBLAS_NO_TRANS;
    const opB = transB ? CBLAS_TRANS : CBLAS_NO_TRANS;
    const lda = transA ? m : k;
    const ldb = transB ? k : n;
    const sizeB = outerB.reduce((p, d) => p * d, 1);
    const idxA = batchIndices(outer, outerA);
    const idxB = batchIndices(outer, outerB);
    if (m === 1 && (batch === 1 || sizeB > 1 || transA)) {
      // One row per product (decoding): matrix-vector products. OpenBLAS 0.3.21's sgemm would
      // pack all of b for one row, which for a 50k-row output layer costs more than the product.
      for (let i = 0; i < batch; i++) {
        sgemv(
          CBLAS_ROW_MAJOR,
          transB ? CBLAS_NO_TRANS : CBLAS_TRANS,
          transB ? n : k,
          transB ? k : n,
          1,
          at(offB + idxB[i] * k * n * 4),
          ldb,
          at(offA + idxA[i] * k * 4),
          1,
          0,
          at(offC + i * n * 4),
          1,
        );
      }
      return out;
    }
    if (sizeB === 1 && !transA) {
      // b is shared by every batch: one (batch·M, K) × (K, N) product.
      sgemm(
        CBLAS_ROW_MAJOR,
        opA,
        opB,
        batch * m,
        n,
        k,
        1,
        at(offA),
        lda,
        at(offB),
        ldb,
        0,
        at(offC),
        n,
      );
      return out;
    }
    for (let i = 0; i < batch; i++) {
      sgemm(
        CBLAS_ROW_MAJOR,
        opA,
        opB,
        m,
        n,
        k,
        1,
        at(offA + idxA[i] * m * k * 4),
        lda,
        at(offB + idxB[i] * k * n * 4),
        ldb,
        0,
        at(offC + i * m * n * 4),
        n,
      );
    }
    return out;
  };
}

/**
 * Replaces the wasm `BatchMatMul` kernel with the native one (loading the CBLAS library first;
 * throws its install hint when there is none). Idempotent. Call after `tf.setBackend("wasm")`.
 */
export function registerNativeMatMul(): BlasLibrary {
  const blas = loadBlasLibrary();
  if (installed) return blas;
  const current = tf.getKernel("BatchMatMul", "wasm");
  if (current === undefined) {
    throw new Error(
      "native backend: the wasm 'BatchMatMul' kernel is not registered; " +
        "import @tensorflow/tfjs-backend-wasm first",
    );
  }
  const kernelFunc = makeNativeBatchMatMul(blas);
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc });
  replaced = current;
  installed = kernelFunc;
  return blas;
}

/** Restores the wasm `BatchMatMul` kernel that {@link registerNativeMatMul} replaced. */
export function unregisterNativeMatMul(): void {
  if (!installed || !replaced) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(replaced);
  installed = null;
  replaced = null;
}

/** True while the native `BatchMatMul` is the registered wasm kernel. */
export function isNativeMatMulRegistered(): boolean {
  return installed !== null && tf.getKernel("BatchMatMul", "wasm")?.kernelFunc === installed;
}
