/**
 * Collective bandwidth benchmark at the current world size (run it on every rank). Bandwidths
 * follow nccl-tests: algbw = bytes / time, busbw = algbw × 2(n−1)/n for all-reduce and
 * × (n−1)/n for reduce-scatter and all-gather (the bytes each link actually carries).
 *
 * @module
 */
import type { Communicator } from "../distributed/world.ts";

/** The collectives measured. */
export type BenchedCollective = "allReduceSum" | "reduceScatterSum" | "allGather";

/** One measured collective at one message size. */
export interface CollectiveBenchResult {
  /** Which collective. */
  op: BenchedCollective;
  /** Message size in MiB: the all-reduce buffer, the reduce-scatter input, the all-gather output. */
  sizeMB: number;
  /** World size. */
  worldSize: number;
  /** Timed iterations (after one warm-up). */
  iterations: number;
  /** Fastest iteration, seconds (per iteration, the slowest rank counts). */
  bestSeconds: number;
  /** Median iteration, seconds. */
  medianSeconds: number;
  /** Algorithm bandwidth of the fastest iteration, GB/s (1e9 bytes). */
  algbwGBps: number;
  /** Bus bandwidth of the fastest iteration, GB/s; 0 for a world of size 1. */
  busbwGBps: number;
}

/**
 * Times all-reduce, reduce-scatter and all-gather of float32 buffers of each size. Every rank
 * must call it with the same arguments; every rank gets the same results.
 */
export async function benchCollectives(
  world: Communicator,
  sizesMB: readonly number[] = [1, 16, 64],
  iterations = 5,
): Promise<CollectiveBenchResult[]> {
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`benchCollectives: iterations ${iterations} is not a positive integer`);
  }
  const n = world.size;
  const results: CollectiveBenchResult[] = [];
  for (const sizeMB of sizesMB) {
    if (!(sizeMB > 0)) throw new Error(`benchCollectives: size ${sizeMB} MiB is not positive`);
    // Round to a whole number of float32 elements per rank.
    const block = Math.max(1, Math.floor((sizeMB * 2 ** 20) / 4 / n));
    const full = new Float32Array(block * n).fill(1);
    const shard = new Float32Array(block);
    const ops: [BenchedCollective, () => Promise<void>, number][] = [
      ["allReduceSum", () => world.allReduceSum(full), (2 * (n - 1)) / n],
      ["reduceScatterSum", () => world.reduceScatterSum(full, shard), (n - 1) / n],
      ["allGather", () => world.allGather(shard, full), (n - 1) / n],
    ];
    for (const [op, run, busFactor] of ops) {
      const seconds = await timeIterations(world, run, iterations);
      const sorted = [...seconds].sort((a, b) => a - b);
      const bytes = full.byteLength;
      results.push({
        op,
        sizeMB: bytes / 2 ** 20,
        worldSize: n,
        iterations,
        bestSeconds: sorted[0],
        medianSeconds: sorted[Math.floor(sorted.length / 2)],
        algbwGBps: bytes / sorted[0] / 1e9,
        busbwGBps: (bytes / sorted[0] / 1e9) * busFactor,
      });
      full.fill(1); // all-reduce grows the values; keep them finite across ops and sizes
    }
  }
  return results;
}

/** Per-iteration seconds, the maximum over ranks, after a warm-up call. */
async function timeIterations(
  world: Communicator,
  run: () => Promise<void>,
  iterations: number,
): Promise<Float64Array> {
  await run();
  const seconds = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    await world.barrier();
    const start = performance.now();
    await run();
    seconds[i] = (performance.now() - start) / 1000;
  }
  await world.allReduceMax(seconds);
  return seconds;
}
