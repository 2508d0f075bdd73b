/**
 * Data-loader throughput: the training input path (`MemMapDataset` over a token file, the
 * shuffled `IterableDataset` order, `DataCollator`) over a temporary file of random tokens.
 *
 * @module
 */
import { join } from "node:path";
import { DataCollator } from "../data/collator.ts";
import { IterableDataset } from "../data/iterable_dataset.ts";
import { MemMapDataset } from "../data/memmap_dataset.ts";
import { tokenDTypeForVocab, TokenFileWriter } from "../data/token_file.ts";
import { Rng } from "../model/random.ts";

/** Options of {@link benchDataLoader}. */
export interface DataBenchOptions {
  /** Tokens per instance. */
  seqLen: number;
  /** Instances per batch. */
  batchSize: number;
  /** Vocabulary size (picks uint16 or uint32 files, as `prepare_data` does). */
  vocabSize: number;
  /** Tokens in the temporary file (default 4 Mi). */
  fileTokens?: number;
  /** Measure for at least this long, seconds (default 1). */
  minSeconds?: number;
  /** Shuffle seed (default 0). */
  seed?: number;
}

/** Result of {@link benchDataLoader}. */
export interface DataBenchResult {
  /** Token file element type. */
  dtype: string;
  /** Batches read. */
  batches: number;
  /** Seconds spent reading them. */
  seconds: number;
  /** Tokens delivered per second (batches · batchSize · seqLen / seconds). */
  tokensPerSecond: number;
  /** Batches per second. */
  batchesPerSecond: number;
}

/** Writes `count` random ids below `vocab` to `path` in chunks. */
function writeRandomTokens(path: string, count: number, vocab: number, seed: number): string {
  const dtype = tokenDTypeForVocab(vocab);
  const writer = new TokenFileWriter(path, dtype);
  const rng = new Rng(seed);
  const chunk = new Array<number>(1 << 16);
  try {
    for (let written = 0; written < count; written += chunk.length) {
      const n = Math.min(chunk.length, count - written);
      for (let i = 0; i < n; i++) chunk[i] = Math.floor(rng.next() * vocab);
      writer.write(n === chunk.length ? chunk : chunk.slice(0, n));
    }
    writer.close();
  } catch (e) {
    writer.abort();
    throw e;
  }
  return dtype;
}

/**
 * Reads shuffled batches through `MemMapDataset` → `IterableDataset` → `DataCollator` (passes
 * over the file repeat until `minSeconds` have elapsed) and reports tokens per second. The
 * temporary file is removed afterwards.
 */
export async function benchDataLoader(options: DataBenchOptions): Promise<DataBenchResult> {
  const { seqLen, batchSize, vocabSize } = options;
  const fileTokens = options.fileTokens ?? 4 * 2 ** 20;
  const minSeconds = options.minSeconds ?? 1;
  const seed = options.seed ?? 0;
  if (fileTokens < seqLen * batchSize) {
    throw new Error(
      `benchDataLoader: ${fileTokens} tokens do not fill one batch of ${batchSize} × ${seqLen}`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "olmo-bench-data-" });
  try {
    const path = join(dir, "tokens.npy");
    const dtype = writeRandomTokens(path, fileTokens, vocabSize, seed);
    const dataset = new MemMapDataset([path], {
      chunkSize: seqLen,
      dtype: tokenDTypeForVocab(vocabSize),
      includeInstanceMetadata: false,
    });
    const collator = new DataCollator({ padTokenId: 0 });
    let batches = 0;
    const start = performance.now();
    let elapsed = 0;
    try {
      for (let epoch = 0; elapsed < minSeconds; epoch++) {
        const order = new IterableDataset(dataset, { seed: seed + epoch, dropLast: true });
        let pending: { inputIds: Int32Array; index: number }[] = [];
        for (const item of order) {
          pending.push(item);
          if (pending.length < batchSize) continue;
          collator.collate(pending);
          pending = [];
          batches += 1;
          elapsed = (performance.now() - start) / 1000;
          if (elapsed >= minSeconds) break;
        }
      }
    } finally {
      dataset.close();
    }
    return {
      dtype,
      batches,
      seconds: elapsed,
      tokensPerSecond: (batches * batchSize * seqLen) / elapsed,
      batchesPerSecond: batches / elapsed,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
