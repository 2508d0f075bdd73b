/**
 * Token ids against the model's embedding table. An id ≥ `embedding_size` (typically a token
 * file written with another tokenizer) makes the embedding lookup read garbage or zeros while the
 * loss looks normal, so every instance is checked when it is read (a max over the row: cheap),
 * and whole files are checked by `prepare-data --validate` and `inspect-data`.
 *
 * @module
 */
import { bytesPerToken, type TokenDType, TokenFileReader } from "./token_file.ts";

/** An id in a token file that the model's embedding table has no row for. */
export class TokenIdOutOfRangeError extends Error {
  /**
   * @param path the token file
   * @param tokenOffset the id's position in the file, in tokens
   * @param id the id found there
   * @param limit the number of embedding rows (ids must be below it)
   * @param byteOffset the id's position in the file, in bytes
   */
  constructor(
    readonly path: string,
    readonly tokenOffset: number,
    readonly id: number,
    readonly limit: number,
    readonly byteOffset: number,
  ) {
    super(
      `${path}: token id ${id} at token offset ${tokenOffset} (byte ${byteOffset}) is out of ` +
        `range: the model has ${limit} embedding rows (model.embedding_size), so ids must be ` +
        `< ${limit}; was this file written with another tokenizer or memmap_dtype?`,
    );
    this.name = "TokenIdOutOfRangeError";
  }
}

/**
 * Throws `TokenIdOutOfRangeError` for the first id in `ids` (read from `path` at token
 * `tokenOffset`, `dtype` wide) that is ≥ `limit` or negative.
 */
export function checkTokenIds(
  ids: Int32Array,
  limit: number,
  path: string,
  tokenOffset: number,
  dtype: TokenDType,
): void {
  let max = 0;
  let min = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id > max) max = id;
    if (id < min) min = id;
  }
  if (max < limit && min >= 0) return;
  const i = ids.findIndex((id) => id >= limit || id < 0);
  const at = tokenOffset + i;
  throw new TokenIdOutOfRangeError(path, at, ids[i], limit, at * bytesPerToken(dtype));
}

/** What `validateTokenFile` found in a file whose ids are all in range. */
export interface TokenFileSummary {
  /** The file. */
  path: string;
  /** Number of tokens. */
  tokens: number;
  /** The largest id (-1 for an empty file). */
  maxId: number;
}

/** Ids read per block by `validateTokenFile`. */
const BLOCK_TOKENS = 1 << 20;

/**
 * Reads the whole token file in blocks and checks every id against `limit`.
 * @throws TokenIdOutOfRangeError at the first id ≥ limit; Error when the file is unreadable.
 */
export function validateTokenFile(
  path: string,
  dtype: TokenDType,
  limit: number,
): TokenFileSummary {
  using reader = new TokenFileReader(path, dtype);
  let maxId = -1;
  const block = new Int32Array(Math.min(BLOCK_TOKENS, reader.numTokens));
  for (let start = 0; start < reader.numTokens; start += BLOCK_TOKENS) {
    const count = Math.min(BLOCK_TOKENS, reader.numTokens - start);
    const ids = reader.read(start, count, block.subarray(0, count));
    checkTokenIds(ids, limit, path, start, dtype);
    for (let i = 0; i < count; i++) if (ids[i] > maxId) maxId = ids[i];
  }
  return { path, tokens: reader.numTokens, maxId };
}
