/**
 * Tensor backends: choosing and initialising tfjs backends, the wasm fixes (transposed matmul,
 * memory guard, copy-free kernels), the `native` engine (host memory, OpenBLAS + oneDNN
 * kernels), accurate reductions, and the measured matmul ceiling of the active backend (the MFU
 * denominator of training and benchmarks).
 *
 * @module
 */
export { activeBackend, BACKEND_NAMES, initBackend, isBackendName } from "./init.ts";
export type { BackendName, InitBackendOptions } from "./init.ts";
export { accurateMean, accurateSum, accurateSumOfSquares } from "./accurate_sum.ts";
export {
  checkWasmMemory,
  DEFAULT_WASM_MEMORY_LIMIT_BYTES,
  setWasmMemoryLimit,
  wasmMemoryLimit,
} from "./memory_guard.ts";
export { BLAS_INSTALL_HINT, blasLibraryAvailable } from "./blas_library.ts";
export { nativeEngineAvailable } from "./host/engine.ts";
export { DNNL_INSTALL_HINT } from "./host/dnnl.ts";
export { TENSORFLOW_INSTALL_HINT } from "./tensorflow.ts";
export { webgpuHardwareAdapterAvailable } from "./webgpu.ts";
export { measureMatmulCeiling } from "./matmul_ceiling.ts";
export type { MatmulCeiling, MatmulCeilingOptions, MatmulSizeResult } from "./matmul_ceiling.ts";
