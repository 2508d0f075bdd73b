/**
 * "Which instances did step N see?" — answered from the global order (OLMo issue #95 / PR #219).
 *
 * Optimizer step N (1-based) consumes global positions `[(N-1)·G, N·G)` of the global order,
 * G = `global_train_batch_size`, whatever the world size: rank r takes the positions ≡ r
 * (mod world size), in order. A restart resumes at `start_index = examples seen`, which is a
 * global position, so the mapping also holds across restarts at other world sizes.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildGlobalIndices, GLOBAL_INDICES_FILE, readGlobalIndices } from "./iterable_dataset.ts";
import type { MemMapDataset } from "./memmap_dataset.ts";

/** The instances one rank saw at a step. */
export interface RankInstances {
  /** Rank. */
  rank: number;
  /** Positions in the global order. */
  positions: number[];
  /** Instance indices into the dataset (`global[position]`). */
  indices: number[];
}

/** The instances of one optimizer step, per rank. */
export interface StepInstances {
  /** The step (1-based). */
  step: number;
  /** Per rank, rank 0 first. */
  ranks: RankInstances[];
}

/** Splits step `step`'s slice of the global order among `worldSize` ranks. */
export function instancesForStep(
  globalIndices: Uint32Array,
  options: { step: number; globalBatchSize: number; worldSize?: number },
): StepInstances {
  const { step, globalBatchSize } = options;
  const worldSize = options.worldSize ?? 1;
  if (!Number.isInteger(step) || step < 1) throw new Error(`step must be >= 1, got ${step}`);
  if (globalBatchSize % worldSize !== 0) {
    throw new Error(
      `global_train_batch_size ${globalBatchSize} is not divisible by world size ${worldSize}`,
    );
  }
  const start = (step - 1) * globalBatchSize;
  const end = start + globalBatchSize;
  if (end > globalIndices.length) {
    throw new Error(
      `step ${step} needs global positions [${start}, ${end}) but the global order has only ` +
        `${globalIndices.length} (${
          Math.floor(globalIndices.length / globalBatchSize)
        } full steps)`,
    );
  }
  const ranks: RankInstances[] = [];
  for (let rank = 0; rank < worldSize; rank++) {
    const positions: number[] = [];
    for (let p = start + rank; p < end; p += worldSize) positions.push(p);
    ranks.push({ rank, positions, indices: positions.map((p) => globalIndices[p]) });
  }
  return { step, ranks };
}

/**
 * The global order of a run: `run_dir/train_data/global_indices.npy` when it exists, else
 * rebuilt from the dataset and the seed exactly as training builds it.
 */
export function globalIndicesForRun(
  dataset: MemMapDataset,
  options: { runDir?: string | null; seed: number; dropLast?: boolean; worldSize?: number },
): { indices: Uint32Array; source: string } {
  if (options.runDir) {
    const path = join(options.runDir, "train_data", GLOBAL_INDICES_FILE);
    if (existsSync(path)) return { indices: readGlobalIndices(path), source: path };
  }
  const indices = buildGlobalIndices(dataset.length, {
    seed: options.seed,
    shuffle: true,
    dropLast: options.dropLast ?? false,
    worldSize: options.worldSize ?? 1,
  });
  return { indices, source: `rebuilt from seed ${options.seed}` };
}
