/**
 * OLMo's `SpeedMonitor`: throughput over a sliding window of batch start times.
 *
 * The first batch is not recorded and the window is reset after each checkpoint save and each
 * evaluation, exactly as OLMo does, so I/O pauses don't pollute the rate.
 *
 * @module
 */

/** Sliding-window throughput meter. */
export class SpeedMonitor {
  #starts: number[] = [];
  #tokens: number[] = [];
  #seenFirst = false;
  #totalTokens = 0;

  /** @param windowSize number of batches in the window (`speed_monitor.window_size`). */
  constructor(readonly windowSize: number) {}

  /** Records the start of a batch of `deviceTokens` tokens (`device_bs * seq_len`). */
  batchStart(
    globalTotalTokens: number,
    deviceTokens: number,
    nowMs: number = performance.now(),
  ): void {
    this.#totalTokens = globalTotalTokens;
    if (!this.#seenFirst) {
      this.#seenFirst = true;
      return;
    }
    this.#starts.push(nowMs);
    this.#tokens.push(deviceTokens);
    while (this.#starts.length > this.windowSize) {
      this.#starts.shift();
      this.#tokens.shift();
    }
  }

  /** Forgets the window (after a checkpoint save or an evaluation). */
  reset(): void {
    this.#starts = [];
    this.#tokens = [];
  }

  /** OLMo's `throughput/*` metrics; rates only once the window holds a batch. */
  metrics(nowMs: number = performance.now()): Record<string, number> {
    const out: Record<string, number> = { "throughput/total_tokens": this.#totalTokens };
    if (this.#starts.length > 0) {
      const elapsed = (nowMs - this.#starts[0]) / 1000;
      if (elapsed > 0) {
        const tokens = this.#tokens.reduce((a, b) => a + b, 0);
        out["throughput/device/tokens_per_second"] = tokens / elapsed;
        out["throughput/device/batches_per_second"] = this.#starts.length / elapsed;
      }
    }
    return out;
  }
}
