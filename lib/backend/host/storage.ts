/**
 * Host-memory tensor storage of the `native` engine: tfjs's own `cpu` backend class, whose
 * tensors are plain JS typed arrays (bounded by RAM, not by the 4 GiB wasm heap), so native
 * kernels can take their buffers through Deno FFI without a copy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The tfjs backend name of the engine (user-facing: `--backend native`). */
export const NATIVE_ENGINE = "native";

/** The parts of tfjs's `MathBackendCPU` the native kernels use. */
export interface HostBackendView {
  /** Tensor storage by data id. */
  data: { get(dataId: object): { values: tf.backend_util.BackendValues } };
  /** Wraps `values` (taken over, not copied) as a tensor of `shape`. */
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}

/**
 * The float32 values of a float32 tensor stored by a {@link HostBackendView}: its own array (no
 * copy), or a converted copy when tfjs's `Cast` to float32 shares an int32 or bool tensor's
 * storage (it does whenever the cast loses nothing).
 */
export function float32Values(backend: HostBackendView, t: tf.TensorInfo): Float32Array {
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  if (values instanceof Int32Array || values instanceof Uint8Array) {
    return Float32Array.from(values);
  }
  throw new Error(`native engine: numeric storage expected for a ${t.dtype} tensor`);
}

/**
 * The class of tfjs's `cpu` backend, taken from the registered instance so the engine shares
 * the exact module tfjs uses (a second copy of `@tensorflow/tfjs-backend-cpu` would register
 * its kernels twice).
 */
export function cpuBackendClass(): new () => tf.KernelBackend {
  const cpu = tf.findBackend("cpu") ?? tf.findBackendFactory("cpu")?.();
  if (!cpu) throw new Error("native engine: tfjs's cpu backend is not registered");
  return Object.getPrototypeOf(cpu).constructor as new () => tf.KernelBackend;
}
