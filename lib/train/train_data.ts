/**
 * The training data loader (OLMo `build_train_dataloader` in `olmo/data/__init__.py`): a
 * `MemMapDataset` over `data.paths`/`data.datasets` cut into `max_sequence_length` windows, ordered
 * by an `IterableDataset` (seeded shuffle, this rank's share, resumable at a global example index),
 * and collated into device batches of `device_train_batch_size`.
 *
 * @module
 */
import { join } from "node:path";
import type { TrainConfig } from "../config/mod.ts";
import { type CollatedBatch, DataCollator } from "../data/collator.ts";
import { IterableDataset } from "../data/iterable_dataset.ts";
import { type MemMapDataset, memMapDatasetFromDataConfig } from "../data/memmap_dataset.ts";

/** Folder (inside `save_folder`) of `global_indices.npy`. */
export const TRAIN_DATA_DIR = "train_data";

/** Where this process sits in the world. */
export interface RankInfo {
  /** Global rank. */
  rank: number;
  /** Number of ranks. */
  size: number;
  /** Rank that writes files on this file system (0 writes `global_indices.npy`). */
  fsLocalRank: number;
}

/**
 * OLMo's training dataset: no instance metadata, `chunk_size = max_sequence_length`; every
 * instance read is checked against the embedding table (`embeddingRows`).
 */
export function buildTrainDataset(cfg: TrainConfig): MemMapDataset {
  return memMapDatasetFromDataConfig(cfg.data, cfg.model.max_sequence_length, {
    includeInstanceMetadata: false,
    tokenIdLimit: embeddingRows(cfg),
  });
}

/** Rows of the model's embedding table: `embedding_size`, or `vocab_size` when that is null. */
export function embeddingRows(cfg: Pick<TrainConfig, "model">): number {
  return cfg.model.embedding_size ?? cfg.model.vocab_size;
}

/** Options of `TrainBatches`. */
export interface TrainBatchesOptions {
  /** Global examples already consumed (`global_train_examples_seen`). */
  startIndex: number;
  /** Keep only this many examples of the global order (`global_batch · max_steps`), or null. */
  maxExamples: number | null;
  /** Where this process sits. */
  world: RankInfo;
  /** Write `global_indices.npy` under `save_folder/train_data` (rank 0 of each file system). */
  writeGlobalIndices: boolean;
}

/** Device batches of one rank, in training order. Only whole batches are yielded. */
export class TrainBatches implements Iterable<CollatedBatch> {
  /** The rank's view of the global order. */
  readonly order: IterableDataset<{ inputIds: Int32Array }>;
  /** Instances per device batch. */
  readonly deviceBatchSize: number;
  readonly #collator: DataCollator;

  /** Builds the order (and writes `global_indices.npy` when asked). */
  constructor(dataset: MemMapDataset, cfg: TrainConfig, opts: TrainBatchesOptions) {
    const deviceBatchSize = cfg.device_train_batch_size;
    if (deviceBatchSize === null) {
      throw new Error("device_train_batch_size is not derived yet (call deriveTrainConfig)");
    }
    this.deviceBatchSize = deviceBatchSize;
    this.order = new IterableDataset(dataset, {
      seed: cfg.data.seed ?? cfg.seed, // OLMo later's data.seed, else the run's seed
      startIndex: opts.startIndex,
      maxExamples: opts.maxExamples,
      shuffle: true,
      dropLast: cfg.data.drop_last,
      worldSize: opts.world.size,
      rank: opts.world.rank,
      fsLocalRank: opts.world.fsLocalRank,
      workDir: opts.writeGlobalIndices ? join(cfg.save_folder, TRAIN_DATA_DIR) : null,
    });
    this.#collator = DataCollator.fromTrainConfig(cfg);
  }

  /** Number of whole device batches this rank will yield. */
  get numBatches(): number {
    return Math.floor(this.order.length / this.deviceBatchSize);
  }

  /** Yields collated (B, max_sequence_length) batches; a trailing partial batch is dropped. */
  *[Symbol.iterator](): Iterator<CollatedBatch> {
    let items: { inputIds: Int32Array; index: number }[] = [];
    for (const item of this.order) {
      items.push(item);
      if (items.length === this.deviceBatchSize) {
        yield this.#collator.collate(items);
        items = [];
      }
    }
  }
}
