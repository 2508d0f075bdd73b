/**
 * `IterableDataset`: the deterministic, rank-sharded, resumable instance order (OLMo
 * `IterableDataset` in `olmo/data/iterable_dataset.py`).
 *
 * One global order is shared by every rank: `arange(len)` shuffled with numpy's
 * `Generator(PCG64(seed)).shuffle` (bit-identical to OLMo), padded by repeating from the start
 * (or truncated with `dropLast`) to a multiple of the world size. Rank r then reads
 * `global[:maxExamples][startIndex:][r::worldSize]`. Because `startIndex` counts *global*
 * examples, a restart at another world size continues the same global sequence.
 *
 * OLMo's DataLoader-worker split (step 4 of its `__iter__`) has no counterpart here: the port
 * reads in the training process.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { numpyPermutation } from "./pcg64.ts";

/** Anything indexable with a length (e.g. `MemMapDataset`). */
export interface IndexedDataset<T> {
  /** Number of items. */
  readonly length: number;
  /** Item `index` (0 ≤ index < length). */
  get(index: number): T;
}

/** Options of `IterableDataset` (OLMo's keyword arguments, camelCased). */
export interface IterableDatasetOptions {
  /** Shuffle seed (OLMo: `cfg.seed`; no epoch term). Default 0. */
  seed?: number;
  /** Global number of examples already consumed (resume). Must be a multiple of worldSize. */
  startIndex?: number;
  /** Keep only the first `maxExamples` of the global order. Must be a multiple of worldSize. */
  maxExamples?: number | null;
  /** Shuffle the global order. Default true. */
  shuffle?: boolean;
  /** Truncate to a multiple of worldSize instead of padding. Default false. */
  dropLast?: boolean;
  /** Number of ranks. Default 1. */
  worldSize?: number;
  /** This rank. Default 0. */
  rank?: number;
  /** Rank within the node's file system; rank 0 of each writes the indices file. Default rank. */
  fsLocalRank?: number;
  /** Folder for `global_indices.npy` (OLMo: `save_folder/train_data`). Optional. */
  workDir?: string | null;
}

/** The file name of the global order inside `workDir`: raw little-endian uint32, no header. */
export const GLOBAL_INDICES_FILE = "global_indices.npy";

/** An item as yielded: the dataset's fields plus its instance `index`. */
export type WithIndex<T> =
  & (T extends object ? (T extends ArrayLike<unknown> ? { inputIds: T } : T) : { inputIds: T })
  & { index: number };

/**
 * The global instance order: the permutation (if shuffling), then padding/truncation to
 * `totalSize`.
 */
export function buildGlobalIndices(
  length: number,
  options: { seed?: number; shuffle?: boolean; dropLast?: boolean; worldSize?: number },
): Uint32Array {
  const { totalSize } = shardSizes(length, options.worldSize ?? 1, options.dropLast ?? false);
  const shuffle = options.shuffle ?? true;
  let order: Uint32Array;
  if (shuffle) order = numpyPermutation(length, options.seed ?? 0);
  else {
    order = new Uint32Array(length);
    for (let i = 0; i < length; i++) order[i] = i;
  }
  if (totalSize <= length) return order.slice(0, totalSize);
  const out = new Uint32Array(totalSize);
  out.set(order);
  for (let filled = length; filled < totalSize; filled += length) {
    out.set(order.subarray(0, Math.min(length, totalSize - filled)), filled);
  }
  return out;
}

/** OLMo's per-rank `num_samples` and global `total_size`. */
export function shardSizes(
  length: number,
  worldSize: number,
  dropLast: boolean,
): { numSamples: number; totalSize: number } {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new Error(`worldSize must be a positive integer, got ${worldSize}`);
  }
  const numSamples = dropLast && length % worldSize !== 0
    ? Math.ceil((length - worldSize) / worldSize)
    : Math.ceil(length / worldSize);
  return { numSamples, totalSize: numSamples * worldSize };
}

/** Writes indices as raw little-endian uint32 to `path` atomically (temp file, then rename). */
export function writeGlobalIndices(path: string, indices: Uint32Array): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    Deno.writeFileSync(tmp, new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength));
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Reads a `global_indices.npy` written by `writeGlobalIndices` (or by OLMo). */
export function readGlobalIndices(path: string): Uint32Array {
  const bytes = Deno.readFileSync(path);
  if (bytes.byteLength % 4 !== 0) {
    throw new Error(`${path}: ${bytes.byteLength} bytes is not a whole number of uint32 indices`);
  }
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

/** A rank's view of the deterministic global order over an indexed dataset. */
export class IterableDataset<T> implements Iterable<WithIndex<T>> {
  /** The underlying dataset. */
  readonly dataset: IndexedDataset<T>;
  /** Items per rank before `maxExamples`/`startIndex`. */
  readonly numSamples: number;
  /** `numSamples * worldSize`: the padded (or truncated) global length. */
  readonly totalSize: number;
  /** Shuffle seed. */
  readonly seed: number;
  /** Global examples skipped at the start (resume position). */
  readonly startIndex: number;
  /** Global examples kept, or null for all. */
  readonly maxExamples: number | null;
  /** Whether the global order is shuffled. */
  readonly shuffle: boolean;
  /** Whether the global order is truncated (rather than padded) to a multiple of worldSize. */
  readonly dropLast: boolean;
  /** Number of ranks. */
  readonly worldSize: number;
  /** This rank. */
  readonly rank: number;
  /** Where `global_indices.npy` was written, if anywhere. */
  readonly globalIndicesPath: string | null;
  #global: Uint32Array | null = null;

  /** Builds the global order eagerly when `workDir` is set (fs-local rank 0 writes the file). */
  constructor(dataset: IndexedDataset<T>, options: IterableDatasetOptions = {}) {
    this.dataset = dataset;
    this.seed = options.seed ?? 0;
    this.startIndex = options.startIndex ?? 0;
    this.maxExamples = options.maxExamples ?? null;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.worldSize = options.worldSize ?? 1;
    this.rank = options.rank ?? 0;
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize) {
      throw new Error(`rank ${this.rank} is not in [0, worldSize=${this.worldSize})`);
    }
    if (this.maxExamples !== null && this.maxExamples % this.worldSize !== 0) {
      throw new Error(
        `maxExamples ${this.maxExamples} must be a multiple of worldSize ${this.worldSize}`,
      );
    }
    if (this.startIndex < 0 || this.startIndex % this.worldSize !== 0) {
      throw new Error(
        `startIndex ${this.startIndex} must be a non-negative multiple of worldSize ${this.worldSize}`,
      );
    }
    const sizes = shardSizes(dataset.length, this.worldSize, this.dropLast);
    this.numSamples = sizes.numSamples;
    this.totalSize = sizes.totalSize;
    this.globalIndicesPath = null;
    if (options.workDir != null) {
      const path = join(options.workDir, GLOBAL_INDICES_FILE);
      if ((options.fsLocalRank ?? this.rank) === 0) writeGlobalIndices(path, this.globalIndices());
      this.globalIndicesPath = path;
    }
  }

  /** The global order shared by all ranks (length `totalSize`). */
  globalIndices(): Uint32Array {
    if (this.#global === null) {
      this.#global = buildGlobalIndices(this.dataset.length, {
        seed: this.seed,
        shuffle: this.shuffle,
        dropLast: this.dropLast,
        worldSize: this.worldSize,
      });
    }
    return this.#global;
  }

  /** The instance indices this rank yields, in order. */
  rankIndices(): Uint32Array {
    let idx = this.globalIndices();
    if (this.maxExamples !== null) idx = idx.subarray(0, this.maxExamples);
    idx = idx.subarray(this.startIndex);
    const n = Math.max(0, Math.ceil((idx.length - this.rank) / this.worldSize));
    const out = new Uint32Array(n);
    for (let k = 0; k < n; k++) out[k] = idx[this.rank + k * this.worldSize];
    return out;
  }

  /** Number of items this rank yields. */
  get length(): number {
    return this.rankIndices().length;
  }

  /** Yields `{...dataset.get(i), index: i}` (or `{inputIds: item, index}` for non-objects). */
  *[Symbol.iterator](): Iterator<WithIndex<T>> {
    for (const i of this.rankIndices()) {
      const item = this.dataset.get(i);
      const isRecord = typeof item === "object" && item !== null && !Array.isArray(item) &&
        !ArrayBuffer.isView(item);
      yield (isRecord ? { ...item, index: i } : { inputIds: item, index: i }) as WithIndex<T>;
    }
  }
}
