/**
 * A sharing `Identity` kernel for the wasm backend.
 *
 * tfjs clones every tensor an op saves for its gradient (`engine.saveTensorsForBackwardMode`),
 * and `tf.clone` runs the `Identity` kernel. The cpu and webgl backends implement it by sharing
 * the data (one more reference to the same buffer); the wasm backend copies the whole buffer. In
 * a training step that doubles the memory of every saved activation and spends time copying
 * (about 400 copies per step of a 5-layer model). tfjs tensors are immutable (a variable's
 * `assign` swaps buffers, it never writes into one), so sharing is safe; `disposeData` frees the
 * buffer when its last reference goes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The reference counting of the wasm backend used here. */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** The installed kernel function, to make registration idempotent. */
let installed: tf.KernelFunc | null = null;

/** `Identity` that returns a new reference to the input's buffer (strings keep the copy). */
function makeSharingIdentity(original: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return original.kernelFunc({ inputs, backend, attrs });
    (backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/**
 * Replaces the wasm `Identity` kernel with a sharing one. Idempotent; requires
 * `@tensorflow/tfjs-backend-wasm` to be imported.
 */
export function registerWasmIdentityFix(): void {
  const original = tf.getKernel("Identity", "wasm");
  if (original === undefined) {
    throw new Error(
      "wasm_identity_fix: the wasm 'Identity' kernel is not registered; " +
        "import @tensorflow/tfjs-backend-wasm first",
    );
  }
  if (original.kernelFunc === installed) return;
  const kernelFunc = makeSharingIdentity(original);
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({ ...original, kernelFunc });
  installed = kernelFunc;
}

/** True when the sharing `Identity` is the registered wasm kernel. */
export function isWasmIdentityFixRegistered(): boolean {
  return installed !== null && tf.getKernel("Identity", "wasm")?.kernelFunc === installed;
}
