/**
 * The matmul ceiling of the active backend: GFLOP/s of square `n × n` float32 matmuls, the
 * denominator of MFU (model FLOP utilisation) in `deno task bench` and, unless a peak is
 * configured, in training's `throughput/device/mfu` (`train/peak_flops.ts`). Measured rather
 * than taken from a data sheet because what matters is what this backend reaches on this
 * (shared) machine.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { median } from "../util/median.ts";

/** GFLOP/s of one matrix size. */
export interface MatmulSizeResult {
  /** Matrix size n (n × n times n × n). */
  n: number;
  /** Best of the timed repetitions, GFLOP/s. */
  bestGflops: number;
  /** Median of the timed repetitions, GFLOP/s. */
  medianGflops: number;
}

/** Result of {@link measureMatmulCeiling}. */
export interface MatmulCeiling {
  /** Per size. */
  sizes: MatmulSizeResult[];
  /** The best GFLOP/s over all sizes and repetitions: the MFU denominator. */
  ceilingGflops: number;
}

/** Options of {@link measureMatmulCeiling}. */
export interface MatmulCeilingOptions {
  /** Matrix sizes (default 256, 512, 1024). */
  sizes?: readonly number[];
  /** Timed repetitions per size after one warm-up (default 5). */
  repetitions?: number;
}

/**
 * Times `tf.matMul(a, b)` (plus reading the result back, which forces completion on every
 * backend) for each size on the active backend and returns best and median GFLOP/s
 * (2n³ FLOPs per product).
 */
export async function measureMatmulCeiling(
  options: MatmulCeilingOptions = {},
): Promise<MatmulCeiling> {
  const sizes = options.sizes ?? [256, 512, 1024];
  const repetitions = options.repetitions ?? 5;
  if (!(Number.isInteger(repetitions) && repetitions >= 1)) {
    throw new Error(`measureMatmulCeiling: repetitions must be a positive integer`);
  }
  const results: MatmulSizeResult[] = [];
  for (const n of sizes) {
    if (!(Number.isInteger(n) && n >= 1)) {
      throw new Error(`measureMatmulCeiling: size ${n} is not a positive integer`);
    }
    const a = tf.randomUniform([n, n], -1, 1, "float32", 1);
    const b = tf.randomUniform([n, n], -1, 1, "float32", 2);
    try {
      const gflops: number[] = [];
      for (let i = 0; i <= repetitions; i++) {
        const start = performance.now();
        const c = tf.matMul(a, b);
        await c.data();
        const seconds = (performance.now() - start) / 1000;
        c.dispose();
        if (i > 0) gflops.push((2 * n ** 3) / seconds / 1e9); // repetition 0 warms up
      }
      results.push({ n, bestGflops: Math.max(...gflops), medianGflops: median(gflops) });
    } finally {
      tf.dispose([a, b]);
    }
  }
  return {
    sizes: results,
    ceilingGflops: Math.max(...results.map((r) => r.bestGflops)),
  };
}
