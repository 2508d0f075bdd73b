/**
 * Tensor backends: choosing and initialising tfjs backends, the wasm fixes (transposed matmul,
 * memory guard, copy-free kernels), the native-BLAS matmul of the `native` backend, and the
 * measured matmul ceiling of the active backend (the MFU denominator of training and benchmarks).
 *
 * @module
 */
export { activeBackend, BACKEND_NAMES, initBackend, isBackendName } from "./init.ts";
export type { BackendName, InitBackendOptions } from "./init.ts";
export {
  checkWasmMemory,
  DEFAULT_WASM_MEMORY_LIMIT_BYTES,
  installWasmMemoryGuard,
  setWasmMemoryLimit,
  wasmLiveBytes,
  wasmMemoryLimit,
} from "./memory_guard.ts";
export type { WasmHeapModule } from "./memory_guard.ts";
export {
  BLAS_INSTALL_HINT,
  BLAS_LIB_ENV,
  blasLibraryAvailable,
  blasLibraryCandidates,
  loadBlasLibrary,
  openBlasLibrary,
} from "./blas_library.ts";
export type { BlasLibrary } from "./blas_library.ts";
export {
  isNativeMatMulRegistered,
  registerNativeMatMul,
  unregisterNativeMatMul,
} from "./native_matmul.ts";
export { isWasmIdentityFixRegistered, registerWasmIdentityFix } from "./wasm_identity_fix.ts";
export { areWasmCopyKernelsRegistered, registerWasmCopyKernels } from "./wasm_copy_kernels.ts";
export {
  isWasmMatMulFixRegistered,
  registerWasmMatMulFix,
  WASM_MATMUL_FIXED_KERNELS,
} from "./wasm_matmul_fix.ts";
export {
  findTensorflowPackage,
  TENSORFLOW_INSTALL_HINT,
  TENSORFLOW_PACKAGES,
} from "./tensorflow.ts";
export type { TensorflowPackage } from "./tensorflow.ts";
export {
  WEBGPU_INSTALL_HINT,
  webgpuAdapterAvailable,
  webgpuHardwareAdapterAvailable,
} from "./webgpu.ts";
export { measureMatmulCeiling } from "./matmul_ceiling.ts";
export type { MatmulCeiling, MatmulCeilingOptions, MatmulSizeResult } from "./matmul_ceiling.ts";
