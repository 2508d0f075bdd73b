/**
 * Guard against the wasm backend's 4 GiB heap ceiling.
 *
 * wasm32 cannot address more than 4 GiB; in practice the heap stops at about 3.84 GiB. When
 * `malloc` then fails it returns 0, tfjs does not check, writes the new tensor over address 0 and
 * earlier tensors read back corrupted. The guard wraps the module's
 * `_malloc` and `_free` (every tensor buffer tfjs allocates or frees goes through them) and
 * throws a clear error instead: before an allocation would push the live bytes past the limit,
 * when an allocation grows the heap past the limit, and when `malloc` fails outright.
 * {@link checkWasmMemory} is a cheap per-step check that also covers allocations made inside wasm
 * kernels (XNNPACK caches).
 *
 * Live bytes are counted per buffer from the wrapped `_malloc`/`_free` calls, not from the
 * engine's tensor byte count, which counts a buffer once per tensor sharing it (reshapes and the
 * clones tfjs saves for gradients share buffers).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Default safety limit: 3.5 GiB, well below the ~3.84 GiB where wasm `malloc` starts failing. */
export const DEFAULT_WASM_MEMORY_LIMIT_BYTES = 3.5 * 2 ** 30;

let memoryLimitBytes = DEFAULT_WASM_MEMORY_LIMIT_BYTES;

/** The part of the emscripten module object the guard touches. */
export interface WasmHeapModule {
  /** Allocates `numBytes` on the wasm heap; returns the address (0 on failure). */
  _malloc(numBytes: number): number;
  /** Frees an address returned by `_malloc`. */
  _free(pointer: number): void;
  /** A view of the whole heap (replaced whenever the heap grows). */
  HEAPU8: Uint8Array;
}

/** Modules whose `_malloc` is already wrapped, to make installation idempotent. */
const guardedModules = new WeakSet<WasmHeapModule>();
/** Live allocations made through a guarded `_malloc`: address → bytes. */
const liveAllocations = new Map<number, number>();
/** Sum of `liveAllocations`. */
let liveAllocatedBytes = 0;

/** Sets the limit (bytes) used by the guard and {@link checkWasmMemory}. Mainly for tests. */
export function setWasmMemoryLimit(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes <= 0) {
    throw new Error(`setWasmMemoryLimit: expected a positive number of bytes, got ${bytes}`);
  }
  memoryLimitBytes = bytes;
}

/** The current wasm memory limit in bytes. */
export function wasmMemoryLimit(): number {
  return memoryLimitBytes;
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function limitError(what: string): Error {
  return new Error(
    `wasm memory guard: ${what}, above the safety limit of ${formatMiB(memoryLimitBytes)}. ` +
      "The wasm backend cannot address more than 4 GiB and tfjs silently corrupts tensors " +
      "past it. Reduce the batch/microbatch size, sequence length or model size, or use " +
      "a backend that keeps tensors in host memory (--backend native, or tensorflow).",
  );
}

/**
 * Bytes currently allocated on the wasm heap through the guarded `_malloc` (each buffer once,
 * however many tensors share it). 0 before a guard is installed.
 */
export function wasmLiveBytes(): number {
  return liveAllocatedBytes;
}

/** Defines `module[name]` as `wrapped` behind an accessor that keeps later assignments. */
function wrapExport<F extends (...args: never[]) => unknown>(
  module: WasmHeapModule,
  name: "_malloc" | "_free",
  wrap: (raw: () => F) => F,
): void {
  // Emscripten's lazy export stubs replace `Module._malloc`/`_free` with the raw export on their
  // first call, which would drop a plainly assigned wrapper: keep the wrapper behind an accessor
  // and let such assignments update the function it calls.
  let raw = module[name] as unknown as F;
  const wrapped = wrap(() => raw);
  Object.defineProperty(module, name, {
    configurable: true,
    enumerable: true,
    get: () => wrapped,
    set: (replacement: F) => {
      raw = replacement;
    },
  });
}

/**
 * Wraps `module._malloc` and `module._free` so that allocations near the heap ceiling throw a
 * clear error instead of corrupting memory. Idempotent per module. Throws before allocating when
 * live bytes plus the request exceed the limit; frees and throws when the allocation grew the heap
 * past the limit; throws when `malloc` returned 0.
 */
export function installWasmMemoryGuard(module: WasmHeapModule): void {
  if (guardedModules.has(module)) return;
  wrapExport<(numBytes: number) => number>(module, "_malloc", (raw) => (numBytes: number) => {
    if (liveAllocatedBytes + numBytes > memoryLimitBytes) {
      throw limitError(
        `allocating ${formatMiB(numBytes)} would bring live tensors to ` +
          formatMiB(liveAllocatedBytes + numBytes),
      );
    }
    const heapBefore = module.HEAPU8.buffer.byteLength;
    const pointer = raw().call(module, numBytes);
    if (pointer === 0 && numBytes > 0) {
      throw limitError(
        `malloc of ${formatMiB(numBytes)} failed with the heap at ${formatMiB(heapBefore)}`,
      );
    }
    // The view is replaced when the heap grows, so read it again.
    const heapAfter = module.HEAPU8.buffer.byteLength;
    if (heapAfter > heapBefore && heapAfter > memoryLimitBytes) {
      module._free(pointer);
      throw limitError(
        `allocating ${formatMiB(numBytes)} grew the wasm heap to ${formatMiB(heapAfter)}`,
      );
    }
    // Addresses past 2 GiB come back as negative int32; tfjs frees them as unsigned.
    liveAllocations.set(pointer >>> 0, numBytes);
    liveAllocatedBytes += numBytes;
    return pointer;
  });
  wrapExport<(pointer: number) => void>(module, "_free", (raw) => (pointer: number) => {
    const bytes = liveAllocations.get(pointer >>> 0);
    if (bytes !== undefined) {
      liveAllocations.delete(pointer >>> 0);
      liveAllocatedBytes -= bytes;
    }
    raw().call(module, pointer);
  });
  guardedModules.add(module);
}

/** The emscripten module of the wasm backend, or undefined when wasm is not the active backend. */
function activeWasmModule(): WasmHeapModule | undefined {
  // Read the engine's fields directly: tf.getBackend() would initialise a backend as a side effect.
  const engine = tf.engine();
  if (engine.backendName !== "wasm" || !("wasm" in engine.registry)) return undefined;
  return (engine.registry.wasm as unknown as { wasm: WasmHeapModule }).wasm;
}

/**
 * Throws a clear error when the wasm heap or the live tensor bytes exceed the limit (3.5 GiB by
 * default). A no-op on other backends. Cheap: call it once per training step.
 */
export function checkWasmMemory(): void {
  const module = activeWasmModule();
  if (module === undefined) return;
  const heapBytes = module.HEAPU8.buffer.byteLength;
  if (heapBytes > memoryLimitBytes) throw limitError(`the wasm heap is ${formatMiB(heapBytes)}`);
  if (liveAllocatedBytes > memoryLimitBytes) {
    throw limitError(`live tensors take ${formatMiB(liveAllocatedBytes)}`);
  }
}
