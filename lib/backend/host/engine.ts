/**
 * The `native` engine: a tfjs backend whose tensors live in host memory (tfjs `cpu` storage,
 * bounded by RAM) and whose hot kernels run in native libraries through Deno FFI.
 *
 * Every kernel of tfjs's `cpu` backend is registered for the engine too (they operate on the
 * same storage), then the hot ones are replaced by native ones:
 * - `BatchMatMul`: OpenBLAS `sgemm`/`sgemv` on all cores (`matmul.ts`);
 * - element-wise, broadcasting binary, softmax and transpose: oneDNN (`kernels_math.ts`);
 * - `Sum`/`Mean`: float64-accumulated loops, `Max` over long rows by oneDNN
 *   (`kernels_reduce.ts`);
 * - `Slice`/`SplitV`/`Concat`/`GatherV2`/`TensorScatterUpdate`: contiguous-run copies, many short
 *   runs as one oneDNN reorder (`kernels_copy.ts`);
 * - small tensors: JS loops (`binary_js.ts`, the small softmax), since each oneDNN call starts an
 *   OpenMP parallel region.
 * Each native kernel hands cases it does not cover (other dtypes, unusual broadcasts) to the
 * cpu kernel it replaced.
 * Gradients are registered by kernel name, so every tfjs gradient works unchanged.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BlasLibrary, loadBlasLibrary, shareCoresWithLocalRanks } from "../blas_library.ts";
import { Dnnl } from "./dnnl.ts";
import {
  concatKernel,
  gatherKernel,
  sliceKernel,
  splitKernel,
  tensorScatterUpdateKernel,
} from "./kernels_copy.ts";
import {
  BINARY_KERNELS,
  binaryKernel,
  ELTWISE_KERNELS,
  eltwiseKernel,
  type NativeKernel,
  softmaxKernel,
  transposeKernel,
  withFallback,
} from "./kernels_math.ts";
import { reduceKernel } from "./kernels_reduce.ts";
import { hostBatchMatMul } from "./matmul.ts";
import { hostBackendClass, NATIVE_ENGINE } from "./storage.ts";

let registered: { blas: BlasLibrary; dnnl: Dnnl } | null = null;

/**
 * Registers the `native` engine with tfjs (once per process): loads OpenBLAS and oneDNN first
 * and throws the install hint of a missing one. Returns the BLAS library.
 */
export function registerNativeEngine(): BlasLibrary {
  if (registered) return registered.blas;
  const blas = loadBlasLibrary();
  const dnnl = Dnnl.open();
  const Host = hostBackendClass();
  tf.registerBackend(NATIVE_ENGINE, () => new Host(), -1); // never picked by tfjs on its own
  for (const kernel of tf.getKernelsForBackend("cpu")) {
    tf.registerKernel({ ...kernel, backendName: NATIVE_ENGINE });
  }
  replaceKernel("BatchMatMul", hostBatchMatMul(blas));
  const native = (name: string, kernel: NativeKernel) =>
    replaceKernel(name, withFallback(kernel, tf.getKernel(name, "cpu")!.kernelFunc));
  for (const [name, spec] of Object.entries(ELTWISE_KERNELS)) {
    native(name, eltwiseKernel(dnnl, spec));
  }
  for (const name of Object.keys(BINARY_KERNELS) as (keyof typeof BINARY_KERNELS)[]) {
    native(name, binaryKernel(dnnl, name));
  }
  native("Softmax", softmaxKernel(dnnl));
  native("Transpose", transposeKernel(dnnl));
  native("Sum", reduceKernel(dnnl, "sum"));
  native("Mean", reduceKernel(dnnl, "mean"));
  native("Max", reduceKernel(dnnl, "max"));
  native("Slice", sliceKernel(dnnl));
  native("SplitV", splitKernel(dnnl));
  native("Concat", concatKernel(dnnl));
  native("GatherV2", gatherKernel);
  native("TensorScatterUpdate", tensorScatterUpdateKernel);
  registered = { blas, dnnl };
  return blas;
}

/**
 * With `localRanks` ranks of a job on this node, gives each rank an equal share of the cores for
 * OpenBLAS (unless `OPENBLAS_NUM_THREADS` is set) and for oneDNN's OpenMP threads (unless
 * `OMP_NUM_THREADS` is set), so that N ranks do not start N threads per core.
 */
export function shareNativeCores(localRanks: number): void {
  registerNativeEngine();
  shareCoresWithLocalRanks(registered!.blas, localRanks);
  registered!.dnnl.shareCores(localRanks);
}

/** True when the engine is registered or its libraries (OpenBLAS, oneDNN) load; never throws. */
export function nativeEngineAvailable(): boolean {
  try {
    registerNativeEngine();
    return true;
  } catch {
    return false;
  }
}

/** Registers `kernelFunc` as the engine's `kernelName`, replacing the copied cpu kernel. */
function replaceKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, NATIVE_ENGINE)) tf.unregisterKernel(kernelName, NATIVE_ENGINE);
  tf.registerKernel({ kernelName, backendName: NATIVE_ENGINE, kernelFunc });
}
