/**
 * `MemMapDataset`: fixed-length training instances cut from token files (OLMo `MemMapDataset` in
 * `olmo/data/memmap_dataset.py`). Each file contributes `floor(numTokens / chunkSize)` instances;
 * the remainder of each file is dropped and instances never cross files. Windows are read lazily.
 * Data that is not there (no files configured, a file that cannot be read) is a
 * `MissingTokenDataError`.
 *
 * @module
 */
import { MissingTokenDataError } from "./errors.ts";
import { bytesPerToken, parseTokenDType, type TokenDType, TokenFileReader } from "./token_file.ts";
import { checkTokenIds } from "./validate_ids.ts";

/** Per-file metadata attached to instances (OLMo: `{"path": ...}` or `{"label": ...}`). */
export type InstanceMetadata = Record<string, unknown>;

/** One instance: `chunkSize` token ids, plus its file's metadata when enabled. */
export interface MemMapInstance {
  /** Token ids, shape (chunkSize,). */
  inputIds: Int32Array;
  /** A copy of the file's metadata (only with `includeInstanceMetadata`). */
  metadata?: InstanceMetadata;
}

/** Options of `MemMapDataset`. */
export interface MemMapDatasetOptions {
  /** Tokens per instance (OLMo: `model.max_sequence_length`). Default 1024. */
  chunkSize?: number;
  /** Element type of the files (`data.memmap_dtype`). Default "uint16". */
  dtype?: TokenDType;
  /** One entry per path, or one object copied to every path. */
  metadata?: InstanceMetadata | InstanceMetadata[];
  /** Attach metadata to each instance. Default true (OLMo's default; training sets false). */
  includeInstanceMetadata?: boolean;
  /**
   * Every id read must be below this (the model's `embedding_size`); `get` throws
   * `TokenIdOutOfRangeError` naming the file, offset and id otherwise. Default: unchecked.
   */
  tokenIdLimit?: number;
}

/** A dataset of fixed-length token windows over one or more token files. */
export class MemMapDataset {
  /** Token files, in order. */
  readonly paths: readonly string[];
  /** Tokens per instance. */
  readonly chunkSize: number;
  /** Element type of the files. */
  readonly dtype: TokenDType;
  /** Whether items carry their file's metadata. */
  readonly includeInstanceMetadata: boolean;
  /** Ids must be below this (`MemMapDatasetOptions.tokenIdLimit`); null: unchecked. */
  readonly tokenIdLimit: number | null;
  readonly #metadata: InstanceMetadata[];
  #offsets: Array<[number, number]> | null = null;
  readonly #readers = new Map<number, TokenFileReader>();

  /** Opens nothing yet: file sizes are read on first use, handles on first read. */
  constructor(paths: readonly string[], options: MemMapDatasetOptions = {}) {
    const chunkSize = options.chunkSize ?? 1024;
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new Error(`MemMapDataset: chunkSize must be a positive integer, got ${chunkSize}`);
    }
    if (paths.length === 0) {
      throw new MissingTokenDataError("MemMapDataset: at least one token file is required");
    }
    this.paths = [...paths];
    this.chunkSize = chunkSize;
    this.dtype = options.dtype ?? "uint16";
    this.includeInstanceMetadata = options.includeInstanceMetadata ?? true;
    this.tokenIdLimit = options.tokenIdLimit ?? null;
    const meta = options.metadata;
    if (Array.isArray(meta)) {
      if (meta.length !== paths.length) {
        throw new Error(
          `MemMapDataset: metadata has ${meta.length} entries but there are ${paths.length} paths`,
        );
      }
      this.#metadata = meta.map((m) => structuredClone(m));
    } else {
      this.#metadata = paths.map(() => structuredClone(meta ?? {}));
    }
  }

  /** Cumulative `[start, end)` instance ranges per file. */
  get offsets(): ReadonlyArray<readonly [number, number]> {
    if (this.#offsets === null) {
      const width = bytesPerToken(this.dtype);
      let start = 0;
      this.#offsets = this.paths.map((path) => {
        let size: number;
        try {
          size = Deno.statSync(path).size;
        } catch (e) {
          throw new MissingTokenDataError(
            `MemMapDataset: cannot read token file ${path}: ${(e as Error).message}`,
            { cause: e },
          );
        }
        const n = Math.floor(size / (width * this.chunkSize));
        const range: [number, number] = [start, start + n];
        start += n;
        return range;
      });
    }
    return this.#offsets;
  }

  /** Number of instances. */
  get length(): number {
    const offsets = this.offsets;
    return offsets[offsets.length - 1][1];
  }

  /** Instance `index`; negative indices count from the end. Throws RangeError when out of range. */
  get(index: number): MemMapInstance {
    const len = this.length;
    if (!Number.isInteger(index)) {
      throw new TypeError(`MemMapDataset: index ${index} is not an integer`);
    }
    const i = index < 0 ? index + len : index;
    if (i < 0 || i >= len) {
      throw new RangeError(`MemMapDataset: index ${index} out of range for ${len} instances`);
    }
    const fileIndex = this.#fileOf(i);
    const localIndex = i - this.offsets[fileIndex][0];
    let reader = this.#readers.get(fileIndex);
    if (reader === undefined) {
      reader = new TokenFileReader(this.paths[fileIndex], this.dtype);
      this.#readers.set(fileIndex, reader);
    }
    const inputIds = reader.read(localIndex * this.chunkSize, this.chunkSize);
    if (this.tokenIdLimit !== null) {
      const path = this.paths[fileIndex];
      checkTokenIds(inputIds, this.tokenIdLimit, path, localIndex * this.chunkSize, this.dtype);
    }
    return this.includeInstanceMetadata
      ? { inputIds, metadata: structuredClone(this.#metadata[fileIndex]) }
      : { inputIds };
  }

  /** Binary search for the file whose range contains instance `i`. */
  #fileOf(i: number): number {
    const offsets = this.offsets;
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (i >= offsets[mid][1]) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Location of instance `index`: its file and first token within that file. */
  locate(index: number): { path: string; tokenOffset: number; metadata: InstanceMetadata } {
    const len = this.length;
    const i = index < 0 ? index + len : index;
    if (i < 0 || i >= len) {
      throw new RangeError(`MemMapDataset: index ${index} out of range for ${len} instances`);
    }
    const f = this.#fileOf(i);
    return {
      path: this.paths[f],
      tokenOffset: (i - this.offsets[f][0]) * this.chunkSize,
      metadata: structuredClone(this.#metadata[f]),
    };
  }

  /** OLMo's `ds1 + ds2`: the paths and metadata of both (same chunk size, dtype and flag). */
  concat(other: MemMapDataset): MemMapDataset {
    if (
      other.chunkSize !== this.chunkSize || other.dtype !== this.dtype ||
      other.tokenIdLimit !== this.tokenIdLimit
    ) {
      throw new Error(
        `MemMapDataset.concat: chunkSize/dtype/tokenIdLimit differ (${this.chunkSize}/` +
          `${this.dtype}/${this.tokenIdLimit} vs ${other.chunkSize}/${other.dtype}/` +
          `${other.tokenIdLimit})`,
      );
    }
    return new MemMapDataset([...this.paths, ...other.paths], {
      chunkSize: this.chunkSize,
      dtype: this.dtype,
      metadata: [...this.#metadata, ...other.#metadata],
      includeInstanceMetadata: this.includeInstanceMetadata,
      tokenIdLimit: this.tokenIdLimit ?? undefined,
    });
  }

  /** Closes every open file handle. The dataset reopens files if used again. */
  close(): void {
    for (const reader of this.#readers.values()) reader.close();
    this.#readers.clear();
  }

  /** Closes every open file handle (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The `data` config fields the builder reads (OLMo `DataConfig` + `memmap_dtype`). */
export interface DataPathsConfig {
  /** Token files; mutually exclusive with `datasets`. */
  paths?: string[] | null;
  /** Label → token files; instances get `{label}` metadata. */
  datasets?: Record<string, string[]> | null;
  /** Element type of the token files. Default "uint16". */
  memmap_dtype?: string | null;
}

/**
 * OLMo's `build_memmap_dataset`: from `data.paths` (metadata `{path}`) or `data.datasets`
 * (labels sorted, metadata `{label}`); `chunkSize` is `model.max_sequence_length`.
 */
export function memMapDatasetFromDataConfig(
  data: DataPathsConfig,
  chunkSize: number,
  options: { includeInstanceMetadata?: boolean; tokenIdLimit?: number } = {},
): MemMapDataset {
  const dtype = data.memmap_dtype == null
    ? "uint16"
    : parseTokenDType(data.memmap_dtype, "data.memmap_dtype");
  const paths: string[] = [];
  const metadata: InstanceMetadata[] = [];
  if (data.paths != null && data.datasets != null) {
    throw new Error("data: set either `paths` or `datasets`, not both");
  }
  if (data.paths != null) {
    for (const path of data.paths) {
      paths.push(path);
      metadata.push({ path });
    }
  } else if (data.datasets != null) {
    for (const label of Object.keys(data.datasets).sort()) {
      for (const path of data.datasets[label]) {
        paths.push(path);
        metadata.push({ label });
      }
    }
  } else {
    throw new MissingTokenDataError("data: one of `paths` or `datasets` is required");
  }
  if (paths.length === 0) {
    throw new MissingTokenDataError("data: the configured list of token files is empty");
  }
  return new MemMapDataset(paths, {
    chunkSize,
    dtype,
    metadata,
    includeInstanceMetadata: options.includeInstanceMetadata ?? true,
    tokenIdLimit: options.tokenIdLimit,
  });
}
