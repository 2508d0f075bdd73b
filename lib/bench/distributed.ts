/**
 * Data-parallel training throughput on a fixed global batch: what `deno task train` runs on N
 * ranks (ZeRO sharding: reduce-scatter, sharded update, all-gather) against one process training
 * the whole batch (the local fast path). Every rank draws the same random global batch and keeps
 * its rows, so 1 and N ranks train the same data; a step's time is the slowest rank's.
 *
 * @module
 */
import type { TrainConfig } from "../config/train_config.ts";
import type { CollatedBatch } from "../data/collator.ts";
import { LocalDataParallel } from "../distributed/data_parallel.ts";
import type { Communicator } from "../distributed/world.ts";
import { Olmo } from "../model/olmo.ts";
import { Rng } from "../model/random.ts";
import { createOptimizer } from "../optim/optimizer.ts";
import { runTrainStep, type TrainStepContext } from "../train/train_step.ts";
import { ZeroDataParallel } from "../distributed/zero/data_parallel.ts";
import { median } from "../util/median.ts";
import { randomBatch } from "./train_step.ts";

/** Options of {@link benchDataParallelTraining}. */
export interface DataParallelBenchOptions {
  /** Timed steps (default 5). */
  steps?: number;
  /** Untimed steps first (default 2). */
  warmupSteps?: number;
  /** Global batch in sequences (default the config's `global_train_batch_size`). */
  globalBatchSize?: number;
}

/** Result of {@link benchDataParallelTraining} (identical on every rank). */
export interface DataParallelBenchResult {
  /** Ranks. */
  worldSize: number;
  /** Sequences per step over all ranks. */
  globalBatchSize: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Median over timed steps of the slowest rank's step seconds. */
  medianStepSeconds: number;
  /** `globalBatchSize · seqLen / medianStepSeconds`. */
  tokensPerSecond: number;
  /** The global mean loss of every step, warm-up included. */
  losses: number[];
}

/** Rows `rank, rank + size, ...` of a (G, S) batch: this rank's share, as OLMo deals instances. */
function rowsOfRank(batch: CollatedBatch, rank: number, size: number): CollatedBatch {
  const [g, s] = batch.inputIds.shape;
  const rows = g / size;
  const data = new Int32Array(rows * s);
  for (let i = 0; i < rows; i++) {
    const from = (rank + i * size) * s;
    data.set(batch.inputIds.data.subarray(from, from + s), i * s);
  }
  return { inputIds: { dtype: "int32", shape: [rows, s], data } };
}

/**
 * Trains `cfg`'s model on random tokens, `globalBatchSize / world.size` sequences per rank per
 * step (micro-batches of `device_train_microbatch_size`), and measures the steps. Every rank
 * must call it; the backend must be initialised.
 */
export async function benchDataParallelTraining(
  world: Communicator,
  cfg: TrainConfig,
  options: DataParallelBenchOptions = {},
): Promise<DataParallelBenchResult> {
  const steps = options.steps ?? 5;
  const warmupSteps = options.warmupSteps ?? 2;
  const globalBatchSize = options.globalBatchSize ?? cfg.global_train_batch_size;
  if (!Number.isInteger(globalBatchSize) || globalBatchSize % world.size !== 0) {
    throw new Error(
      `bench: a global batch of ${globalBatchSize} sequences does not split over ${world.size} ranks`,
    );
  }
  const deviceBatch = globalBatchSize / world.size;
  const seqLen = cfg.model.max_sequence_length;
  const model = new Olmo(cfg.model, { seed: cfg.seed });
  const zero = world.size > 1 ? await ZeroDataParallel.create(world, model, cfg) : null;
  const optimizer = zero?.optimizer ?? createOptimizer(cfg.optimizer, model.params, cfg);
  const dataParallel = zero ?? new LocalDataParallel(model, optimizer);
  const ctx: TrainStepContext = {
    model,
    dataParallel,
    microBatchSize: Math.min(cfg.device_train_microbatch_size, deviceBatch),
    zLoss: cfg.softmax_auxiliary_loss,
    dropoutSeed: (micro) => cfg.seed + micro,
  };
  try {
    const rng = new Rng(cfg.seed + 1);
    const seconds = new Float64Array(steps);
    const losses: number[] = [];
    for (let i = 0; i < warmupSteps + steps; i++) {
      const global = randomBatch(rng, globalBatchSize, seqLen, cfg.model.vocab_size);
      const batch = rowsOfRank(global, world.rank, world.size);
      await world.barrier();
      const start = performance.now();
      const result = await runTrainStep(ctx, batch, i + 1, cfg.optimizer.learning_rate);
      if (i >= warmupSteps) seconds[i - warmupSteps] = (performance.now() - start) / 1000;
      losses.push(result.ce);
    }
    await world.allReduceMax(seconds);
    const medianStepSeconds = median([...seconds]);
    return {
      worldSize: world.size,
      globalBatchSize,
      seqLen,
      medianStepSeconds,
      tokensPerSecond: (globalBatchSize * seqLen) / medianStepSeconds,
      losses,
    };
  } finally {
    dataParallel.dispose();
    model.dispose();
  }
}
