/**
 * Picks the browser's tfjs backend: webgpu when the browser has it, else webgl, else wasm (whose
 * binaries the server hands out under `/tfjs-wasm/`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

/** The backends tried, in order. */
export const BROWSER_BACKENDS: readonly string[] = ["webgpu", "webgl", "wasm"];

/** Whether WebGPU is there and gives an adapter (headless browsers often have the API only). */
async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/**
 * Activates the first backend of `BROWSER_BACKENDS` (from `only` on, when given) that starts,
 * and returns its name.
 * @throws Error listing why each one failed.
 */
export async function startBrowserBackend(only: string | null): Promise<string> {
  setWasmPaths(new URL("/tfjs-wasm/", self.location.href).href);
  const candidates = only ? [only] : BROWSER_BACKENDS;
  const failures: string[] = [];
  for (const name of candidates) {
    if (!BROWSER_BACKENDS.includes(name)) {
      throw new Error(`unknown backend "${name}" (expected one of ${BROWSER_BACKENDS.join(", ")})`);
    }
    if (name === "webgpu" && !(await hasWebGpuAdapter())) {
      failures.push("webgpu: this browser offers no WebGPU adapter");
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
      failures.push(`${name}: did not start`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend started (${failures.join("; ")})`);
}
