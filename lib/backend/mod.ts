/**
 * Tensor backends: choosing and initialising tfjs backends, the wasm fixes (transposed matmul,
 * memory guard) and the embedding lookup whose gradient works everywhere.
 *
 * @module
 */
export { activeBackend, BACKEND_NAMES, initBackend, isBackendName } from "./init.ts";
export type { BackendName, InitBackendOptions } from "./init.ts";
export { embedding } from "./embedding.ts";
export {
  checkWasmMemory,
  DEFAULT_WASM_MEMORY_LIMIT_BYTES,
  installWasmMemoryGuard,
  setWasmMemoryLimit,
  wasmMemoryLimit,
} from "./memory_guard.ts";
export type { WasmHeapModule } from "./memory_guard.ts";
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
