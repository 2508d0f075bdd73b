/**
 * The `webgpu` backend on Deno's built-in WebGPU (`navigator.gpu`).
 *
 * On machines without a GPU, Mesa's software rasteriser (lavapipe/llvmpipe) still provides an
 * adapter; it matches the cpu backend numerically but is slower than wasm,
 * so `auto` picks webgpu only for a hardware adapter.
 *
 * @module
 */
import { existsSync, readdirSync } from "node:fs";

/** How to get a WebGPU adapter, quoted when none is found. */
export const WEBGPU_INSTALL_HINT: string = [
  "WebGPU needs a Vulkan driver: on Debian/Ubuntu install the loader and Mesa's driver",
  "(apt-get install libvulkan1 mesa-vulkan-drivers) and set XDG_RUNTIME_DIR (e.g. /tmp).",
  "On headless NVIDIA machines where the stock ICD (libGLX_nvidia.so.0) fails, point",
  "VK_ICD_FILENAMES at a manifest whose ICD library_path is libEGL_nvidia.so.0.",
].join("\n");

/** Adapter descriptions of software rasterisers. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader/i;

/** Minimal typing of `navigator.gpu` (lib.deno.window's types are not in scope everywhere). */
interface GpuAdapterLike {
  info?: { description?: string; isFallbackAdapter?: boolean };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

function navigatorGpu(): GpuLike | undefined {
  return (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
}

async function requestAdapter(): Promise<GpuAdapterLike | null> {
  try {
    return await navigatorGpu()?.requestAdapter({ powerPreference: "high-performance" }) ?? null;
  } catch {
    return null;
  }
}

/** True when Deno exposes WebGPU and an adapter (hardware or software) can be obtained. */
export async function webgpuAdapterAvailable(): Promise<boolean> {
  return (await requestAdapter()) !== null;
}

/**
 * On Linux, true when a GPU device node exists (`/dev/nvidia0`, `/dev/dri/renderD*`). Without one
 * only a software adapter is possible, and probing it would make Mesa print warnings.
 */
function mayHaveGpuDevice(): boolean {
  if (Deno.build.os !== "linux") return true;
  if (existsSync("/dev/nvidia0")) return true;
  try {
    return readdirSync("/dev/dri").some((entry) => entry.startsWith("renderD"));
  } catch {
    return false;
  }
}

/** True when WebGPU has a hardware adapter (not a fallback or software rasteriser). */
export async function webgpuHardwareAdapterAvailable(): Promise<boolean> {
  if (!mayHaveGpuDevice()) return false;
  const adapter = await requestAdapter();
  if (adapter === null || adapter.info?.isFallbackAdapter === true) return false;
  return !SOFTWARE_ADAPTER.test(adapter.info?.description ?? "");
}

/**
 * Imports `@tensorflow/tfjs-backend-webgpu`, which registers the `webgpu` backend. Throws a clear
 * error with {@link WEBGPU_INSTALL_HINT} when Deno has no WebGPU adapter.
 */
export async function loadWebgpuBackend(): Promise<void> {
  if (navigatorGpu() === undefined) {
    throw new Error(`backend "webgpu": navigator.gpu is not available in this Deno runtime.`);
  }
  if (!(await webgpuAdapterAvailable())) {
    throw new Error(`backend "webgpu": no WebGPU adapter was found.\n${WEBGPU_INSTALL_HINT}`);
  }
  await import("@tensorflow/tfjs-backend-webgpu");
}
