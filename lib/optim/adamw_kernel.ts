/**
 * AdamW's element-wise update as one fused kernel on the cpu and wasm backends.
 *
 * As a chain of tfjs ops an update reads and writes every parameter-sized buffer about 14 times
 * and allocates as many temporaries (for a 50k×512 embedding that is ~1.4 GiB in flight inside
 * the wasm heap). The fused kernel makes one pass and allocates only the three results. It runs
 * torch's float32 operations in the same order as `adamw.ts`, each rounded to float32
 * (`Math.fround`; a float64 result rounded once is the correctly rounded float32 result for
 * + − × ÷ and √), so its output is bit-identical to the op chain.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NATIVE_ENGINE } from "../backend/host/storage.ts";

/** The kernel's name (a custom kernel; not one of tfjs' own). */
export const ADAMW_KERNEL = "OlmoAdamWUpdate";

/** The float32 scalars of one update (see `AdamWScalars`), as numbers. */
export interface AdamWKernelAttrs {
  /** `1 − lr·wd`, or null for no decay. */
  decay: number | null;
  /** lerp coefficient. */
  lerpWeight: number;
  /** lerp form: `m + w·(g − m)` when true, else `g − (g − m)·w`. */
  lerpSmall: boolean;
  /** β2. */
  beta2: number;
  /** 1 − β2. */
  oneMinusBeta2: number;
  /** sqrt(1 − β2^t). */
  biasCorrection2Sqrt: number;
  /** eps. */
  eps: number;
  /** −lr / (1 − β1^t). */
  negStepSize: number;
}

/** Writes the update of every element into `outP`, `outM`, `outV`. */
function update(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  outP: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  a: AdamWKernelAttrs,
): void {
  const f = Math.fround;
  const decay = a.decay === null ? null : f(a.decay);
  const w = f(a.lerpWeight);
  const beta2 = f(a.beta2);
  const oneMinusBeta2 = f(a.oneMinusBeta2);
  const bc2 = f(a.biasCorrection2Sqrt);
  const eps = f(a.eps);
  const negStep = f(a.negStepSize);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = m[i];
    const diff = f(gi - mi);
    const mNew = a.lerpSmall ? f(mi + f(w * diff)) : f(gi - f(diff * w));
    const vNew = f(f(v[i] * beta2) + f(f(oneMinusBeta2 * gi) * gi));
    const denom = f(f(f(Math.sqrt(vNew)) / bc2) + eps);
    const decayed = decay === null ? p[i] : f(p[i] * decay);
    outP[i] = f(decayed + f(f(negStep * mNew) / denom));
    outM[i] = mNew;
    outV[i] = vNew;
  }
}

/** The parts of the wasm backend used here. */
interface WasmBackendView {
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
}

/** The parts of the cpu backend (and the native engine built on it) used here. */
interface CpuBackendView {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  /** The native engine's reusable output buffers (absent on cpu). */
  pool?: { take(length: number): Float32Array };
}

const INPUTS = ["param", "grad", "expAvg", "expAvgSq"] as const;

function wasmKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]) {
  const wasm = backend as unknown as WasmBackendView;
  const ins = INPUTS.map((k) => inputs[k] as tf.TensorInfo);
  const shape = [...ins[0].shape];
  const outs = [0, 1, 2].map(() => wasm.makeOutput(shape, "float32"));
  // Views only after every allocation: allocating may grow (and replace) the heap buffer.
  const size = shape.reduce((p, d) => p * d, 1);
  const buffer = wasm.wasm.HEAPU8.buffer;
  const at = (t: tf.TensorInfo) => new Float32Array(buffer, wasm.getMemoryOffset(t.dataId), size);
  const [p, g, m, v] = ins.map(at);
  const [outP, outM, outV] = outs.map(at);
  update(p, g, m, v, outP, outM, outV, attrs as unknown as AdamWKernelAttrs);
  return outs;
}

function cpuKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]) {
  const cpu = backend as unknown as CpuBackendView;
  const ins = INPUTS.map((k) => inputs[k] as tf.TensorInfo);
  const [p, g, m, v] = ins.map((t) => cpu.data.get(t.dataId).values);
  // Every element of the outputs is written, so the native engine's stale pooled buffers do.
  const [outP, outM, outV] = [0, 1, 2].map(() =>
    cpu.pool ? cpu.pool.take(p.length) : new Float32Array(p.length)
  );
  update(p, g, m, v, outP, outM, outV, attrs as unknown as AdamWKernelAttrs);
  return [outP, outM, outV].map((values) =>
    cpu.makeTensorInfo([...ins[0].shape], "float32", values)
  );
}

/**
 * Registers the kernel for the cpu, native (cpu storage) and wasm backends (once; native and
 * wasm only once they are loaded).
 */
function ensureRegistered(): void {
  if (tf.getKernel(ADAMW_KERNEL, "cpu") === undefined) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: "cpu", kernelFunc: cpuKernel });
  }
  if (
    tf.getKernel(ADAMW_KERNEL, NATIVE_ENGINE) === undefined &&
    tf.getKernel("Add", NATIVE_ENGINE) !== undefined
  ) {
    tf.registerKernel({
      kernelName: ADAMW_KERNEL,
      backendName: NATIVE_ENGINE,
      kernelFunc: cpuKernel,
    });
  }
  if (
    tf.getKernel(ADAMW_KERNEL, "wasm") === undefined && tf.getKernel("Add", "wasm") !== undefined
  ) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: "wasm", kernelFunc: wasmKernel });
  }
}

/**
 * The fused update of float32 `param`, `grad`, `expAvg`, `expAvgSq` (all the same shape) on the
 * active backend, or null when that backend has no fused kernel (use the op chain then).
 */
export function fusedAdamWUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  expAvg: tf.Tensor,
  expAvgSq: tf.Tensor,
  attrs: AdamWKernelAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  ensureRegistered();
  if (tf.getKernel(ADAMW_KERNEL, tf.getBackend()) === undefined) return null;
  const all = [param, grad, expAvg, expAvgSq];
  if (all.some((t) => t.dtype !== "float32" || t.size !== param.size)) return null;
  const out = tf.engine().runKernel(
    ADAMW_KERNEL,
    { param, grad, expAvg, expAvgSq },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  return [out[0], out[1], out[2]];
}
