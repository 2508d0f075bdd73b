/**
 * Fast path for transposed matmuls on the wasm backend.
 *
 * The wasm `BatchMatMul` kernel reaches XNNPACK's fast path only when neither operand is
 * transposed; with `transposeA`/`transposeB` it is 10–13× slower. Every
 * matmul gradient and a tied LM head use the transposed forms. The fix re-registers the kernel:
 * when a flag is set, the operand is transposed first with the wasm `Transpose` kernel and the
 * original kernel runs with both flags false. The result is bit-identical to transposing by hand.
 * Batched `BatchMatMul`s (attention) also leave the fast path; they run as one 2-D product per
 * batch (`wasm_batched_matmul.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batchedMatMulBySlices } from "./wasm_batched_matmul.ts";

/** The wasm kernels whose transposed operands are materialised before the call. */
export const WASM_MATMUL_FIXED_KERNELS: readonly string[] = ["BatchMatMul", "_FusedMatMul"];

/** Wrapper kernel functions installed by this module, to make registration idempotent. */
const installedWrappers = new Set<tf.KernelFunc>();

/** Minimal view of the wasm backend used here (the full class is not exported as a type). */
interface DisposingBackend {
  disposeData(dataId: object): boolean;
  dataIdMap: { has(dataId: object): boolean };
}

/**
 * Transposed copies of large matmul operands made outside gradient recording (inference),
 * keyed by the operand's buffer: generation multiplies by the same weights every token, and
 * transposing a 50k-row output embedding each time would dominate decoding. An entry lives while
 * its source buffer does (a weight update makes a new buffer); least recently used entries go
 * beyond {@link TRANSPOSE_CACHE_BYTES}.
 */
const transposeCache = new Map<object, tf.TensorInfo>();
/** Operands below this many elements are transposed on every call. */
const TRANSPOSE_CACHE_MIN_ELEMENTS = 2 ** 16;
/** Most bytes of cached transposes. */
const TRANSPOSE_CACHE_BYTES = 2 ** 30;

/** The engine state read here (not part of tfjs' typed API). */
interface TapeState {
  state: { gradientDepth: number; activeTape?: unknown[] | null };
}

/**
 * True inside a gradient computation (its forward or backward pass: training), where operands
 * change every step and caching their transposes would only hold memory.
 */
function computingGradients(): boolean {
  const { state } = tf.engine() as unknown as TapeState;
  return state.gradientDepth > 0 || state.activeTape != null; // undefined before any tape
}

/** Drops entries whose source is gone, then least recently used ones beyond the budget. */
function evictTransposes(backend: DisposingBackend, incomingBytes: number): void {
  let bytes = incomingBytes;
  for (const [source, t] of transposeCache) {
    if (backend.dataIdMap.has(source)) bytes += t.shape.reduce((p, d) => p * d, 4);
    else {
      backend.disposeData(t.dataId);
      transposeCache.delete(source);
    }
  }
  for (const [source, t] of transposeCache) {
    if (bytes <= TRANSPOSE_CACHE_BYTES) break;
    bytes -= t.shape.reduce((p, d) => p * d, 4);
    backend.disposeData(t.dataId);
    transposeCache.delete(source);
  }
}

/**
 * `x` with its last two axes swapped: from the cache (inference, large operands) or freshly
 * computed; `owned` tells whether the caller must dispose it.
 */
function transposedOperand(
  transpose: tf.KernelConfig,
  x: tf.TensorInfo,
  backend: object,
): { t: tf.TensorInfo; owned: boolean } {
  const size = x.shape.reduce((p, d) => p * d, 1);
  if (computingGradients() || size < TRANSPOSE_CACHE_MIN_ELEMENTS) {
    return { t: transposeLastTwoAxes(transpose, x, backend), owned: true };
  }
  const hit = transposeCache.get(x.dataId);
  if (hit) {
    transposeCache.delete(x.dataId); // re-insert: most recently used
    transposeCache.set(x.dataId, hit);
    return { t: hit, owned: false };
  }
  evictTransposes(backend as DisposingBackend, size * 4);
  const t = transposeLastTwoAxes(transpose, x, backend);
  transposeCache.set(x.dataId, t);
  return { t, owned: false };
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

/** True when a float32 product has a batch axis of size > 1 (the wasm kernel's slow path). */
function isBatched(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const batch = (t: tf.TensorInfo) => t.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return a.dtype === "float32" && b.dtype === "float32" && (batch(a) > 1 || batch(b) > 1);
}

/**
 * Builds the replacement kernel function around the original wasm kernel. With
 * `splitBatches` (plain `BatchMatMul` only) batched products run as one 2-D product per batch.
 */
function makeUntransposingKernel(
  original: tf.KernelConfig,
  transpose: tf.KernelConfig,
  splitBatches: boolean,
): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const batched = splitBatches && isBatched(a, b);
    if (!transposeA && !transposeB && !batched) {
      return original.kernelFunc({ inputs, backend, attrs });
    }
    // (..., K, M) -> (..., M, K) and (..., N, K) -> (..., K, N) on the wasm heap.
    const aT = transposeA ? transposedOperand(transpose, a, backend) : { t: a, owned: false };
    const bT = transposeB ? transposedOperand(transpose, b, backend) : { t: b, owned: false };
    const aPlain = aT.t;
    const bPlain = bT.t;
    try {
      if (batched) return batchedMatMulBySlices(original.kernelFunc, backend, aPlain, bPlain);
      return original.kernelFunc({
        inputs: { ...inputs, a: aPlain, b: bPlain },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      const disposer = backend as DisposingBackend;
      if (aT.owned) disposer.disposeData(aPlain.dataId);
      if (bT.owned) disposer.disposeData(bPlain.dataId);
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
    const wrapper = makeUntransposingKernel(original, transpose, kernelName === "BatchMatMul");
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
