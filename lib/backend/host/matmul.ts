/**
 * `BatchMatMul` of the `native` engine: OpenBLAS `sgemm` (multi-threaded) on the tensors' own
 * host buffers. `sgemm` handles transposed operands itself, so a gradient's transposed products
 * cost no copy; one-row products (decoding) use `sgemv`, because OpenBLAS 0.3.21's sgemm packs all
 * of b even for a single row (for a 50k-row output layer that costs more than the product).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batchIndices } from "../batch_broadcast.ts";
import { type BlasLibrary, CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS } from "../blas_library.ts";
import { float32Values, type HostBackendView } from "./storage.ts";

/** Builds the `BatchMatMul` kernel function over `blas`. */
export function hostBatchMatMul(blas: BlasLibrary): tf.KernelFunc {
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
    const host = backend as unknown as HostBackendView;
    const c = host.pool.take(batch * m * n); // stale contents: beta = 0 overwrites them
    const out = host.makeTensorInfo([...outer, m, n], "float32", c);
    if (c.length === 0) return out;
    if (k === 0) {
      c.fill(0);
      return out;
    }
    const pa = Deno.UnsafePointer.of(float32Values(host, a))!;
    const pb = Deno.UnsafePointer.of(float32Values(host, b))!;
    const pc = Deno.UnsafePointer.of(c)!;
    const at = (p: Deno.PointerObject, elements: number) =>
      Deno.UnsafePointer.offset(p, elements * 4);
    const opA = transA ? CBLAS_TRANS : CBLAS_NO_TRANS;
    const opB = transB ? CBLAS_TRANS : CBLAS_NO_TRANS;
    const lda = transA ? m : k;
    const ldb = transB ? k : n;
    const sizeB = outerB.reduce((p, d) => p * d, 1);
    const idxA = batchIndices(outer, outerA);
    const idxB = batchIndices(outer, outerB);
    if (m === 1 && (batch === 1 || sizeB > 1 || transA)) {
      for (let i = 0; i < batch; i++) {
        sgemv(
          CBLAS_ROW_MAJOR,
          transB ? CBLAS_NO_TRANS : CBLAS_TRANS,
          transB ? n : k,
          transB ? k : n,
          1,
          at(pb, idxB[i] * k * n),
          ldb,
          at(pa, idxA[i] * k),
          1,
          0,
          at(pc, i * n),
          1,
        );
      }
      return out;
    }
    if (sizeB === 1 && !transA) {
      // b is shared by every batch: one (batch·M, K) × (K, N) product.
      sgemm(CBLAS_ROW_MAJOR, opA, opB, batch * m, n, k, 1, pa, lda, pb, ldb, 0, pc, n);
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
        at(pa, idxA[i] * m * k),
        lda,
        at(pb, idxB[i] * k * n),
        ldb,
        0,
        at(pc, i * m * n),
        n,
      );
    }
    return out;
  };
}
