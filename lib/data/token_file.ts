/**
 * OLMo's on-disk token format: a raw little-endian array of token ids, named `*.npy` but with
 * **no numpy header** (it is an `np.memmap` dump). Documents are concatenated, each followed by
 * EOS; there is no index. Ids are `uint16` when the vocabulary has at most 65536 entries and
 * `uint32` otherwise (`data.memmap_dtype`). numpy reads such a file with
 * `np.memmap(path, dtype=np.uint16, mode="r")`.
 *
 * Deno has no mmap, so files are read lazily in windows: `seekSync` + `readSync` into a reused
 * byte buffer, never by loading the whole file.
 *
 * @module
 */

/** Element type of a token file (`data.memmap_dtype`). */
export type TokenDType = "uint16" | "uint32";

/** Every supported `TokenDType`. */
export const TOKEN_DTYPES: readonly TokenDType[] = ["uint16", "uint32"];

/** Bytes per token id. */
export function bytesPerToken(dtype: TokenDType): number {
  return dtype === "uint16" ? 2 : 4;
}

/** The smallest dtype that holds every id of a vocabulary of `vocabSize` tokens. */
export function tokenDTypeForVocab(vocabSize: number): TokenDType {
  return vocabSize <= 65536 ? "uint16" : "uint32";
}

/** Validates a dtype name read from a config or a command line. */
export function parseTokenDType(value: unknown, where = "memmap_dtype"): TokenDType {
  if (value === "uint16" || value === "uint32") return value;
  throw new Error(`${where}: expected "uint16" or "uint32", got ${JSON.stringify(value)}`);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new Error("token files are little-endian; this big-endian host is not supported");
  }
}

/** Reads windows of token ids from one token file without loading it whole. */
export class TokenFileReader {
  /** The file path. */
  readonly path: string;
  /** Element type. */
  readonly dtype: TokenDType;
  /** Number of whole tokens in the file (a trailing partial token is an error). */
  readonly numTokens: number;
  #file: Deno.FsFile;
  #buffer = new Uint8Array(0);

  /** Opens `path`; fails if its size is not a multiple of the token width. */
  constructor(path: string, dtype: TokenDType) {
    requireLittleEndianHost();
    this.path = path;
    this.dtype = dtype;
    this.#file = Deno.openSync(path, { read: true });
    const size = this.#file.statSync().size;
    const width = bytesPerToken(dtype);
    if (size % width !== 0) {
      this.#file.close();
      throw new Error(
        `${path}: size ${size} bytes is not a multiple of ${width} (memmap_dtype ${dtype}); ` +
          `is this a token file of another dtype?`,
      );
    }
    this.numTokens = size / width;
  }

  /**
   * Reads `count` ids starting at token `start` into `out` (or a new Int32Array). uint32 ids
   * above 2^31 - 1 (no real vocabulary) are an error rather than a silent wrap.
   */
  read(start: number, count: number, out: Int32Array = new Int32Array(count)): Int32Array {
    if (start < 0 || count < 0 || start + count > this.numTokens) {
      throw new RangeError(
        `${this.path}: token window [${start}, ${start + count}) is outside [0, ${this.numTokens})`,
      );
    }
    const width = bytesPerToken(this.dtype);
    const nBytes = count * width;
    if (this.#buffer.length < nBytes) this.#buffer = new Uint8Array(nBytes);
    const bytes = this.#buffer.subarray(0, nBytes);
    this.#file.seekSync(start * width, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < nBytes) {
      const n = this.#file.readSync(bytes.subarray(filled));
      if (n === null || n === 0) {
        throw new Error(`${this.path}: unexpected end of file at byte ${start * width + filled}`);
      }
      filled += n;
    }
    if (this.dtype === "uint16") {
      out.set(new Uint16Array(bytes.buffer, 0, count));
      return out;
    }
    const ids = new Uint32Array(bytes.buffer, 0, count);
    for (let i = 0; i < count; i++) {
      if (ids[i] > 0x7fffffff) {
        throw new Error(`${this.path}: token ${start + i} is ${ids[i]}, beyond the int32 id range`);
      }
    }
    out.set(ids);
    return out;
  }

  /** Closes the file handle. */
  close(): void {
    this.#file.close();
  }

  /** Closes the file handle (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Streams token ids into a token file. Bytes go to a temporary sibling that is renamed onto
 * `path` by `close()`, so a crash never leaves a truncated file under the final name.
 */
export class TokenFileWriter {
  /** Final path. */
  readonly path: string;
  /** Element type. */
  readonly dtype: TokenDType;
  #tmpPath: string;
  #file: Deno.FsFile;
  #count = 0;
  #maxId: number;

  /** Creates the temporary file. */
  constructor(path: string, dtype: TokenDType) {
    requireLittleEndianHost();
    this.path = path;
    this.dtype = dtype;
    this.#maxId = dtype === "uint16" ? 0xffff : 0xffffffff;
    this.#tmpPath = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    this.#file = Deno.openSync(this.#tmpPath, { write: true, createNew: true });
  }

  /** Tokens written so far. */
  get count(): number {
    return this.#count;
  }

  /** Appends ids; every id must fit the dtype. */
  write(ids: ArrayLike<number>): void {
    if (ids.length === 0) return;
    const typed = this.dtype === "uint16"
      ? new Uint16Array(ids.length)
      : new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > this.#maxId) {
        throw new Error(`${this.path}: token id ${id} does not fit memmap_dtype ${this.dtype}`);
      }
      typed[i] = id;
    }
    const bytes = new Uint8Array(typed.buffer);
    let written = 0;
    while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    this.#count += ids.length;
  }

  /** Flushes, closes and renames the file onto its final path. */
  close(): void {
    this.#file.close();
    Deno.renameSync(this.#tmpPath, this.path);
  }

  /** Closes the handle and deletes the temporary file (on errors). */
  abort(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
    try {
      Deno.removeSync(this.#tmpPath);
    } catch {
      // already gone
    }
  }
}

/** Number of tokens in a token file, from its size. */
export function tokenFileLength(path: string, dtype: TokenDType): number {
  const size = Deno.statSync(path).size;
  const width = bytesPerToken(dtype);
  if (size % width !== 0) {
    throw new Error(`${path}: size ${size} bytes is not a multiple of ${width} (${dtype})`);
  }
  return size / width;
}
