/**
 * The benchmark configs and PyTorch OLMo's training throughput on them (issue 9): float32,
 * 2 threads, on the same 2-core machine class, medians on noisy machines.
 *
 * @module
 */

/** The configs in `configs/bench/`, smallest first (`bench-1b` is inference only). */
export const BENCH_CONFIG_NAMES: readonly string[] = [
  "bench-tiny",
  "bench-small",
  "bench-85m",
  "bench-300m",
  "bench-1b",
];

/** PyTorch OLMo's measured training speed on one bench config. */
export interface PytorchReference {
  /** Seconds per training step (forward + backward + AdamW). */
  stepSeconds: number;
  /** Training tokens per second. */
  tokensPerSecond: number;
}

/** PyTorch OLMo's figures by config name. */
export const PYTORCH_REFERENCE: Readonly<Record<string, PytorchReference>> = {
  "bench-tiny": { stepSeconds: 0.56, tokensPerSecond: 3600 },
  "bench-small": { stepSeconds: 1.1, tokensPerSecond: 1800 },
  "bench-85m": { stepSeconds: 9, tokensPerSecond: 220 },
};
