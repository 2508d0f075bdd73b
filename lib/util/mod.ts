/**
 * Small helpers every other folder may use, and which use nothing of the project: host-side
 * tensors (`HostTensor`, the currency of checkpoint files), random access to file bytes
 * (`ByteSource`, in memory or on disk), atomic file writes, telling URLs from paths, medians of
 * timings and a gradient helper that keeps fewer tensors alive. Only `host_tensor.ts`,
 * `lean_grad.ts` and `byte_source.ts` are pure (no Deno or Node APIs); `lib/model` uses only the
 * first two, the browser pages all three.
 *
 * @module
 */
export type { HostData, HostDType, HostTensor, NamedHostTensors } from "./host_tensor.ts";
export {
  bfloat16ToFloat32,
  float16ToFloat32,
  ITEM_SIZE,
  numElements,
  toFloat32,
  typedArrayOf,
} from "./host_tensor.ts";
export { type ByteSource, bytesSource } from "./byte_source.ts";
export { openFileSource } from "./file_source.ts";
export { pathExists, writeFileAtomic } from "./fs.ts";
export { isUrl } from "./url.ts";
export { median } from "./median.ts";
export type { GradFunc } from "./lean_grad.ts";
export { leanGradient } from "./lean_grad.ts";
