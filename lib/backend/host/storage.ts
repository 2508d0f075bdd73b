/**
 * Host-memory tensor storage of the `native` engine: tfjs's own `cpu` backend class, whose
 * tensors are plain JS typed arrays (bounded by RAM, not by the 4 GiB wasm heap), so native
 * kernels can take their buffers through Deno FFI without a copy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BufferPool } from "./buffer_pool.ts";

/** The tfjs backend name of the engine (user-facing: `--backend native`). */
export const NATIVE_ENGINE = "native";

/** One storage entry of tfjs's cpu backend. */
interface StorageEntry {
  values: tf.backend_util.BackendValues;
  dtype: tf.DataType;
  refCount: number;
}

/** The parts of tfjs's `MathBackendCPU` the native kernels use. */
export interface HostBackendView {
  /** Tensor storage by data id. */
  data: {
    get(dataId: object): StorageEntry;
    set(dataId: object, entry: StorageEntry): void;
    has(dataId: object): boolean;
  };
  /** Reusable output buffers (see `buffer_pool.ts`). */
  readonly pool: BufferPool;
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
function cpuBackendClass(): new () => tf.KernelBackend {
  const cpu = tf.findBackend("cpu") ?? tf.findBackendFactory("cpu")?.();
  if (!cpu) throw new Error("native engine: tfjs's cpu backend is not registered");
  return Object.getPrototypeOf(cpu).constructor as new () => tf.KernelBackend;
}

/** The typed array of a storage value, if it is one. */
function typed(values: unknown): ArrayBufferView | null {
  return ArrayBuffer.isView(values) ? values : null;
}

/**
 * The engine's backend class: tfjs's cpu backend whose large output buffers go back to a
 * {@link BufferPool} once no storage entry refers to them (counted per `ArrayBuffer`, so views
 * keep their buffer alive), and whose reads copy pooled buffers, so a caller's array is never
 * reused under it.
 */
export function hostBackendClass(): new () => tf.KernelBackend {
  const Cpu = cpuBackendClass();
  class HostBackend extends Cpu {
    readonly pool = new BufferPool();
    readonly #holders = new Map<ArrayBufferLike, number>();

    constructor() {
      super();
      const data = (this as unknown as HostBackendView).data;
      const set = data.set.bind(data);
      data.set = (dataId, entry) => {
        if (data.has(dataId)) this.#release(data.get(dataId).values);
        this.#hold(entry.values);
        set(dataId, entry);
      };
    }

    #hold(values: unknown): void {
      const v = typed(values);
      if (v) this.#holders.set(v.buffer, (this.#holders.get(v.buffer) ?? 0) + 1);
    }

    #release(values: unknown): void {
      const v = typed(values);
      if (!v) return;
      const left = (this.#holders.get(v.buffer) ?? 1) - 1;
      if (left > 0) {
        this.#holders.set(v.buffer, left);
        return;
      }
      this.#holders.delete(v.buffer);
      if (this.pool.owns(v.buffer)) this.pool.give(new Float32Array(v.buffer as ArrayBuffer));
    }

    override disposeData(dataId: object, force = false): boolean {
      const data = (this as unknown as HostBackendView).data;
      const values = data.has(dataId) ? data.get(dataId).values : undefined;
      const freed = super.disposeData(dataId, force);
      if (freed && values !== undefined && !data.has(dataId)) this.#release(values);
      return freed;
    }

    override readSync(dataId: object): tf.backend_util.BackendValues {
      const values = super.readSync(dataId);
      const v = typed(values);
      return v && this.pool.owns(v.buffer) ? (values as Float32Array).slice() : values;
    }
  }
  return HostBackend;
}
