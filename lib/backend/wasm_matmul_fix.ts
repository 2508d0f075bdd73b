/**
 * Fast path for transposed matmuls on the wasm backend.
 *
 * The wasm `BatchMatMul` kernel reaches XNNPACK's fast path only when neither operand is
 * transposed; with `transposeA`/`transposeB` it is 10–13× slower (ecosystem notes §1d). Every
 * matmul gradient and a tied LM head use the transposed forms. The fix re-registers the kernel:
 * when a flag is set, the operand is transposed first with the wasm `Transpose` kernel and the
 * original kernel runs with both flags false. The result is bit-identical to transposing by hand.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The wasm kernels whose transposed operands are materialised before the call. */
export const WASM_MATMUL_FIXED_KERNELS: readonly string[] = ["BatchMatMul", "_FusedMatMul"];

/** Wrapper kernel functions installed by this module, to make registration idempotent. */
const installedWrappers = new Set<tf.KernelFunc>();

/** Minimal view of the wasm backend used here (the full class is not exported as a type). */
interface DisposingBackend {
  disposeData(dataId: object): boolean;
}

/** Returns `x` with its last two axes swapped, computed by the wasm `Transpose` kernel. */
function transposeLastTwoAxes(
  transpose: tf.KernelConfig,
  x: tf.TensorInfo,
  backend: object,
): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** Builds the replacement kernel function around the original wasm kernel. */
function makeUntransposingKernel(
  original: tf.KernelConfig,
  transpose: tf.KernelConfig,
): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    // (..., K, M) -> (..., M, K) and (..., N, K) -> (..., K, N): temporaries on the wasm heap.
    const aPlain = transposeA ? transposeLastTwoAxes(transpose, a, backend) : a;
    const bPlain = transposeB ? transposeLastTwoAxes(transpose, b, backend) : b;
    try {
      return original.kernelFunc({
        inputs: { ...inputs, a: aPlain, b: bPlain },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      const disposer = backend as DisposingBackend;
      if (transposeA) disposer.disposeData(aPlain.dataId);
      if (transposeB) disposer.disposeData(bPlain.dataId);
    }
  };
}

/**
 * Re-registers the wasm `BatchMatMul` and `_FusedMatMul` kernels so transposed operands take the
 * fast path. Idempotent. Requires `@tensorflow/tfjs-backend-wasm` to be imported (its kernels
 * registered); call it after `tf.setBackend("wasm")` so the original setup functions have run.
 */
export function registerWasmMatMulFix(): void {
  const transpose = tf.getKernel("Transpose", "wasm");
  if (transpose === undefined) {
    throw new Error(
      "wasm_matmul_fix: the wasm 'Transpose' kernel is not registered; " +
        "import @tensorflow/tfjs-backend-wasm before registering the matmul fix",
    );
  }
  for (const kernelName of WASM_MATMUL_FIXED_KERNELS) {
    const original = tf.getKernel(kernelName, "wasm");
    if (original === undefined) {
      throw new Error(`wasm_matmul_fix: the wasm '${kernelName}' kernel is not registered`);
    }
    if (installedWrappers.has(original.kernelFunc)) continue;
    const wrapper = makeUntransposingKernel(original, transpose);
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: wrapper,
      setupFunc: original.setupFunc,
      disposeFunc: original.disposeFunc,
    });
    installedWrappers.add(wrapper);
  }
}

/** True when every kernel in {@link WASM_MATMUL_FIXED_KERNELS} is currently the fixed one. */
export function isWasmMatMulFixRegistered(): boolean {
  return WASM_MATMUL_FIXED_KERNELS.every((kernelName) => {
    const kernel = tf.getKernel(kernelName, "wasm");
    return kernel !== undefined && installedWrappers.has(kernel.kernelFunc);
  });
}
