/**
 * Reuse of the `native` engine's large float32 output buffers.
 *
 * A fresh `Float32Array` of tens of MiB is zeroed memory the kernel then faults in page by page;
 * a training step allocates hundreds of them. The engine hands buffers its own kernels allocated
 * back here when their last tensor is freed, and kernels take them again for outputs of the same
 * length (their contents are stale: every native kernel writes its whole output).
 *
 * A buffer is only reused when no tensor still refers to it: the engine counts, per
 * `ArrayBuffer`, the storage entries that hold it or a view of it (tfjs's cpu kernels return
 * `subarray` views for simple slices), and reads hand out copies, never the pooled buffer.
 *
 * @module
 */

/** Buffers shorter than this are left to the garbage collector. */
export const POOL_MIN_LENGTH = 1 << 16;

/** Default cap on the bytes the pool keeps idle. */
export const POOL_MAX_IDLE_BYTES = 1 << 30;

/** Idle buffers by length, plus the set of buffers the pool made. */
export class BufferPool {
  readonly #idle = new Map<number, Float32Array[]>();
  readonly #owned = new WeakSet<ArrayBuffer>();
  #idleBytes = 0;
  readonly #maxIdleBytes: number;

  /** A pool keeping at most `maxIdleBytes` idle. */
  constructor(maxIdleBytes = POOL_MAX_IDLE_BYTES) {
    this.#maxIdleBytes = maxIdleBytes;
  }

  /** A float32 buffer of `length` elements with arbitrary contents. */
  take(length: number): Float32Array {
    if (length < POOL_MIN_LENGTH) return new Float32Array(length);
    const reused = this.#idle.get(length)?.pop();
    if (reused) {
      this.#idleBytes -= reused.byteLength;
      return reused;
    }
    const fresh = new Float32Array(length);
    this.#owned.add(fresh.buffer);
    return fresh;
  }

  /** True when `buffer` was made by {@link take}. */
  owns(buffer: ArrayBufferLike): boolean {
    return buffer instanceof ArrayBuffer && this.#owned.has(buffer);
  }

  /** Takes back a buffer no tensor refers to any more (ignored when not the pool's own). */
  give(values: Float32Array): void {
    if (!this.owns(values.buffer) || values.byteOffset !== 0) return;
    if (values.length !== values.buffer.byteLength / 4) return;
    if (this.#idleBytes + values.byteLength > this.#maxIdleBytes) return; // the GC frees it
    const list = this.#idle.get(values.length) ?? [];
    list.push(values);
    this.#idle.set(values.length, list);
    this.#idleBytes += values.byteLength;
  }

  /** Bytes held idle. */
  get idleBytes(): number {
    return this.#idleBytes;
  }
}
