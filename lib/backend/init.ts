/**
 * Choosing and initialising the tfjs backend (`backend:` config field, `--backend` flag).
 *
 * - `tensorflow`: native libtensorflow via `@tensorflow/tfjs-node-gpu` / `@tensorflow/tfjs-node`,
 *   only when installed (see `tensorflow.ts`).
 * - `native`: tensors in host memory (bounded by RAM, not by the wasm heap), hot kernels in
 *   OpenBLAS and oneDNN through Deno FFI, multi-threaded (see `host/engine.ts`); needs
 *   `apt-get install libopenblas0-pthread libdnnl2` and `--allow-ffi`.
 * - `wasm`: the CPU fallback, with the transposed-matmul fix, a copy-free `Identity` (tfjs clones
 *   every tensor saved for a gradient), `Slice`/`SplitV`/`GatherV2` that copy only what they
 *   return, and the 4 GiB memory guard.
 *   Single-threaded: the threaded wasm build needs a shim that needs `process` hidden before
 *   tfjs is first imported, which a library cannot guarantee.
 * - `webgpu`: Deno's WebGPU.
 * - `cpu`: the pure-JS reference.
 * - `auto`: `tensorflow` when it is installed and loads, else `webgpu` when there is a hardware
 *   adapter (never the software one of CPU-only machines), else `native` when OpenBLAS and
 *   oneDNN load, else `wasm`; silently.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { nativeEngineAvailable, registerNativeEngine, shareNativeCores } from "./host/engine.ts";
import { installWasmMemoryGuard, type WasmHeapModule } from "./memory_guard.ts";
import { loadTensorflowBackend } from "./tensorflow.ts";
import { registerWasmIdentityFix } from "./wasm_identity_fix.ts";
import { registerWasmCopyKernels } from "./wasm_copy_kernels.ts";
import { registerWasmMatMulFix } from "./wasm_matmul_fix.ts";
import { loadWebgpuBackend, webgpuHardwareAdapterAvailable } from "./webgpu.ts";
import { BACKEND_NAMES, type BackendName, isBackendName } from "./names.ts";

export { BACKEND_NAMES, type BackendName, isBackendName } from "./names.ts";

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Print nothing (no "using backend" line on stderr). libtensorflow's own start-up lines follow
   * `TF_CPP_MIN_LOG_LEVEL`, which only the user sets.
   */
  quiet?: boolean;
  /**
   * Ranks of this job on this node (the world's `localSize`; default 1): the `native` backend's
   * OpenBLAS and oneDNN threads are shared between them.
   */
  localRanks?: number;
}

/** What `auto` resolved to, so its probes run once per process. */
let autoResolution: Promise<string> | undefined;
/** Backends whose package, kernel fix and guard are set up. */
const preparedBackends = new Set<string>();

/** Loads the package that registers `name` with the tfjs engine (cpu is built in). */
async function registerBackendPackage(name: string): Promise<void> {
  if (name === "tensorflow") await loadTensorflowBackend();
  else if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  else if (name === "native") registerNativeEngine();
  else if (name === "webgpu") await loadWebgpuBackend();
}

async function activate(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`backend "${name}": tfjs could not initialise it (see the warning above)`);
  }
  await tf.ready();
}

/** Whether `name`'s package loads and tfjs initialises it; failures are swallowed. */
async function tryActivate(name: string): Promise<boolean> {
  try {
    await registerBackendPackage(name);
    await activate(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * `tensorflow` if installed, else `webgpu` on a hardware adapter, else `native` when its
 * libraries load, else `wasm`; never noisy.
 */
async function resolveAuto(): Promise<string> {
  if (await tryActivate("tensorflow")) return "tensorflow";
  if (await webgpuHardwareAdapterAvailable() && await tryActivate("webgpu")) {
    return "webgpu";
  }
  return nativeEngineAvailable() ? "native" : "wasm";
}

/**
 * Makes `name` the active tfjs backend and returns the active backend's name (`auto` resolves to
 * `tensorflow`, `webgpu`, `native` or `wasm`). Idempotent; calling it with another name switches
 * backends. Throws a clear error for an unknown name or an unavailable backend (with install
 * instructions).
 *
 * @example
 * ```ts
 * import { initBackend } from "../../mod.ts";
 *
 * console.log(await initBackend("auto", { quiet: true })); // e.g. "native"
 * ```
 */
export async function initBackend(
  name: BackendName,
  opts: InitBackendOptions = {},
): Promise<string> {
  if (!isBackendName(name)) {
    throw new Error(`Unknown backend "${name}": expected one of ${BACKEND_NAMES.join(", ")}`);
  }
  const quiet = opts.quiet ?? false;
  tf.env().set("PROD", true); // silences the cpu backend's Node.js banner
  let target: string = name;
  if (name === "auto") {
    autoResolution ??= resolveAuto();
    target = await autoResolution;
  }
  if (activeBackend() === target && preparedBackends.has(target)) return target;
  await registerBackendPackage(target);
  await activate(target);
  if (target === "wasm") {
    registerWasmMatMulFix();
    registerWasmIdentityFix();
    registerWasmCopyKernels();
    installWasmMemoryGuard((tf.backend() as unknown as { wasm: WasmHeapModule }).wasm);
  }
  if (target === "native") shareNativeCores(opts.localRanks ?? 1);
  if (!quiet && !preparedBackends.has(target)) console.error(`olmo-ts: backend ${target}`);
  preparedBackends.add(target);
  return target;
}

/**
 * Name of the active tfjs backend. Before {@link initBackend} this is whatever tfjs picks by
 * itself (normally `cpu`).
 */
export function activeBackend(): string {
  tf.env().set("PROD", true);
  return tf.getBackend();
}
