/**
 * `prepareData`: text files → OLMo token files (OLMo `scripts/prepare_memmap_dataset.py`, with its
 * overflow bug fixed).
 *
 * Every document is encoded with EOS appended (`Tokenizer.encode`). Source i (in sorted input
 * order) is written to `{i}_{k:05d}.npy` files (i zero-padded to the digits of the source
 * count, as in OLMo) of at most `maxTokensPerFile` tokens each; a document that does not fit
 * continues in the next file, so no token is dropped (OLMo dropped the overflow). The output
 * depends only on the inputs and the tokenizer, not on the number of workers. `validate`
 * re-tokenizes everything and compares it id for id with what was written.
 *
 * @module
 */
import { join } from "node:path";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { createProgress, type ProgressReporter, SILENT_PROGRESS } from "./progress.ts";
import {
  type BadLine,
  listInputFiles,
  readDocuments,
  type SourceDocument,
  type TextUnit,
} from "./text_sources.ts";
import { TokenizePool } from "./tokenize_pool.ts";
import {
  type TokenDType,
  tokenDTypeForVocab,
  TokenFileReader,
  TokenFileWriter,
} from "./token_file.ts";
import { validateTokenFile } from "./validate_ids.ts";

/** Options of `prepareData`. */
export interface PrepareDataOptions {
  /** Input files or directories (searched recursively). */
  inputs: readonly string[];
  /** Output directory for the token files. */
  outputDir: string;
  /** Tokenizer (its EOS is appended to every document). */
  tokenizer: Tokenizer;
  /** Token file dtype. Default: uint16 if the vocabulary fits, else uint32. */
  dtype?: TokenDType;
  /** Maximum tokens per output file. Default 536870912 (OLMo's 512M). */
  maxTokensPerFile?: number;
  /** Tokenizer workers (Deno Workers); 1 tokenizes in this thread. Default 1. */
  workers?: number;
  /** JSON field with the text. Default "text". */
  textField?: string;
  /** Document unit of plain-text files. Default "file". */
  textUnit?: TextUnit;
  /** Re-tokenize and compare with the written files afterwards. Default false. */
  validate?: boolean;
  /** Replace token files already in `outputDir` (otherwise that is an error). Default false. */
  overwrite?: boolean;
  /** Show progress on stderr, with this label. Default: no progress. */
  progressLabel?: string | null;
  /** Called for each unusable input line. Default: a warning on stderr. */
  onBadLine?: (bad: BadLine) => void;
}

/** What one input file became. */
export interface PreparedSource {
  /** Input file. */
  input: string;
  /** Token files written for it, in order. */
  files: string[];
  /** Documents read. */
  documents: number;
  /** Tokens written (EOS included). */
  tokens: number;
}

/** Summary of a `prepareData` run. */
export interface PrepareDataResult {
  /** Output directory. */
  outputDir: string;
  /** Token file dtype. */
  dtype: TokenDType;
  /** All token files, in order. */
  files: string[];
  /** Per input file. */
  sources: PreparedSource[];
  /** Total documents. */
  documents: number;
  /** Total tokens. */
  tokens: number;
  /** Unusable lines (also reported through `onBadLine`). */
  badLines: BadLine[];
}

const OUTPUT_FILE = /^\d+_\d{5}\.npy$/;
const BATCH_DOCUMENTS = 256;
const BATCH_CHARS = 1 << 20;

/** Writes one source's ids into files of at most `maxTokens` tokens. */
class RollingTokenWriter {
  readonly files: string[] = [];
  tokens = 0;
  #current: TokenFileWriter | null = null;
  constructor(
    readonly dir: string,
    readonly prefix: string,
    readonly dtype: TokenDType,
    readonly maxTokens: number,
  ) {}
  write(ids: ArrayLike<number>): void {
    let at = 0;
    while (at < ids.length) {
      if (this.#current === null) {
        const path = join(
          this.dir,
          `${this.prefix}_${String(this.files.length).padStart(5, "0")}.npy`,
        );
        this.#current = new TokenFileWriter(path, this.dtype);
        this.files.push(path);
      }
      const n = Math.min(ids.length - at, this.maxTokens - this.#current.count);
      this.#current.write(Array.prototype.slice.call(ids, at, at + n) as number[]);
      at += n;
      this.tokens += n;
      if (this.#current.count >= this.maxTokens) this.close();
    }
  }
  close(): void {
    this.#current?.close();
    this.#current = null;
  }
  abort(): void {
    this.#current?.abort();
    this.#current = null;
  }
}

/** Encodes batches in this thread or on a worker pool, yielding results in submission order. */
class OrderedEncoder {
  readonly #pool: TokenizePool | null;
  readonly #inFlight: Array<Promise<number[][]>> = [];
  constructor(readonly tokenizer: Tokenizer, readonly workers: number) {
    this.#pool = workers > 1 ? new TokenizePool(tokenizer, workers) : null;
  }
  /** Submits a batch; returns the results that must be consumed now (bounded in-flight work). */
  async submit(texts: string[]): Promise<number[][][]> {
    if (this.#pool === null) return [this.tokenizer.encodeBatch(texts)];
    this.#inFlight.push(this.#pool.encode(texts));
    const ready: number[][][] = [];
    while (this.#inFlight.length > 2 * this.workers) ready.push(await this.#inFlight.shift()!);
    return ready;
  }
  /** Waits for every batch still in flight, in order. */
  async drain(): Promise<number[][][]> {
    const ready: number[][][] = [];
    while (this.#inFlight.length > 0) ready.push(await this.#inFlight.shift()!);
    return ready;
  }
  close(): void {
    this.#pool?.close();
  }
}

/** Reads a source's documents in batches and hands each batch's ids to `consume`. */
async function forEachEncodedBatch(
  input: string,
  options: PrepareDataOptions,
  encoder: OrderedEncoder,
  onBytes: (n: number) => void,
  onBadLine: ((bad: BadLine) => void) | undefined,
  consume: (ids: number[][]) => void,
): Promise<void> {
  let batch: string[] = [];
  let chars = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    for (const ready of await encoder.submit(batch)) consume(ready);
    batch = [];
    chars = 0;
  };
  const docs: AsyncGenerator<SourceDocument> = readDocuments(input, {
    textField: options.textField,
    textUnit: options.textUnit,
    onBadLine,
    onBytes,
  });
  for await (const doc of docs) {
    batch.push(doc.text);
    chars += doc.text.length;
    if (batch.length >= BATCH_DOCUMENTS || chars >= BATCH_CHARS) await flush();
  }
  await flush();
  for (const ready of await encoder.drain()) consume(ready);
}

/** Converts text files to token files; see the module comment. */
export async function prepareData(options: PrepareDataOptions): Promise<PrepareDataResult> {
  const tokenizer = options.tokenizer;
  const dtype = options.dtype ?? tokenDTypeForVocab(tokenizer.vocabSize);
  if (dtype === "uint16" && tokenizer.vocabSize > 65536) {
    throw new Error(
      `memmap_dtype uint16 cannot hold ids of a ${tokenizer.vocabSize}-token vocabulary; use uint32`,
    );
  }
  const maxTokens = options.maxTokensPerFile ?? 536870912;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new Error(`maxTokensPerFile must be a positive integer, got ${maxTokens}`);
  }
  const inputs = listInputFiles(options.inputs);
  prepareOutputDir(options.outputDir, options.overwrite ?? false);

  const badLines: BadLine[] = [];
  const onBadLine = (bad: BadLine) => {
    badLines.push(bad);
    if (options.onBadLine) options.onBadLine(bad);
    else console.error(`warning: skipped ${bad.file}:${bad.line}: ${bad.message}`);
  };
  const totalBytes = inputs.reduce((sum, path) => sum + Deno.statSync(path).size, 0);
  const workers = options.workers ?? 1;
  const encoder = new OrderedEncoder(tokenizer, workers);
  const digits = String(inputs.length).length;
  const sources: PreparedSource[] = [];
  let documents = 0;
  let tokens = 0;
  let bytesRead = 0;
  const progress: ProgressReporter = options.progressLabel
    ? createProgress(options.progressLabel, totalBytes)
    : SILENT_PROGRESS;
  try {
    try {
      for (const [i, input] of inputs.entries()) {
        const prefix = String(i).padStart(digits, "0");
        const writer = new RollingTokenWriter(options.outputDir, prefix, dtype, maxTokens);
        let sourceDocs = 0;
        try {
          await forEachEncodedBatch(
            input,
            options,
            encoder,
            (n) => {
              bytesRead += n;
              progress.update(bytesRead, { tokens, documents });
            },
            onBadLine,
            (batch) => {
              for (const ids of batch) {
                writer.write(ids);
                tokens += ids.length;
              }
              sourceDocs += batch.length;
              documents += batch.length;
              progress.update(bytesRead, { tokens, documents });
            },
          );
          writer.close();
        } catch (e) {
          writer.abort();
          throw e;
        }
        if (sourceDocs === 0) console.error(`warning: ${input} contains no documents`);
        sources.push({ input, files: writer.files, documents: sourceDocs, tokens: writer.tokens });
      }
    } finally {
      progress.stop();
    }
    const result: PrepareDataResult = {
      outputDir: options.outputDir,
      dtype,
      files: sources.flatMap((s) => s.files),
      sources,
      documents,
      tokens,
      badLines,
    };
    if (options.validate) await validatePrepared(result, options, encoder);
    return result;
  } finally {
    encoder.close();
  }
}

/** Creates the output directory; refuses (or with `overwrite`, removes) earlier token files. */
function prepareOutputDir(dir: string, overwrite: boolean): void {
  Deno.mkdirSync(dir, { recursive: true });
  const existing = [...Deno.readDirSync(dir)].filter((e) => e.isFile && OUTPUT_FILE.test(e.name));
  if (existing.length === 0) return;
  if (!overwrite) {
    throw new Error(
      `${dir} already holds token files (${existing[0].name}, ...); ` +
        `choose an empty directory or pass overwrite`,
    );
  }
  for (const e of existing) Deno.removeSync(join(dir, e.name));
}

/** Re-tokenizes every source and compares ids, counts and the vocabulary bound. */
async function validatePrepared(
  result: PrepareDataResult,
  options: PrepareDataOptions,
  encoder: OrderedEncoder,
): Promise<void> {
  const vocab = options.tokenizer.vocabSize;
  // Every id of every file first: an id beyond the vocabulary is reported with its file offset.
  for (const file of result.files) validateTokenFile(file, result.dtype, vocab);
  let checked = 0;
  for (const source of result.sources) {
    const readers = source.files.map((f) => new TokenFileReader(f, result.dtype));
    let fileIndex = 0;
    let offset = 0;
    let documents = 0;
    const take = (n: number): Int32Array => {
      const out = new Int32Array(n);
      let filled = 0;
      while (filled < n) {
        const reader = readers[fileIndex];
        if (reader === undefined) {
          throw new Error(`validate: ${source.input} has more tokens than its files hold`);
        }
        const k = Math.min(n - filled, reader.numTokens - offset);
        reader.read(offset, k, out.subarray(filled, filled + k));
        filled += k;
        offset += k;
        if (offset === reader.numTokens) {
          fileIndex++;
          offset = 0;
        }
      }
      return out;
    };
    try {
      await forEachEncodedBatch(source.input, options, encoder, () => {}, undefined, (batch) => {
        for (const ids of batch) {
          const stored = take(ids.length);
          for (let t = 0; t < ids.length; t++) {
            if (stored[t] !== ids[t] || stored[t] >= vocab) {
              throw new Error(
                `validate: ${source.input} document ${documents + 1}, token ${t}: files hold ` +
                  `${stored[t]}, re-tokenizing gives ${ids[t]} (vocab size ${vocab})`,
              );
            }
          }
          documents++;
        }
      });
      if (fileIndex < readers.length) {
        throw new Error(
          `validate: the files of ${source.input} hold more tokens than its documents`,
        );
      }
      if (documents !== source.documents) {
        throw new Error(
          `validate: ${source.input} has ${documents} documents now, ${source.documents} when written`,
        );
      }
    } finally {
      for (const r of readers) r.close();
    }
    checked += documents;
  }
  if (checked !== result.documents) {
    throw new Error(`validate: ${checked} documents checked, ${result.documents} written`);
  }
}
