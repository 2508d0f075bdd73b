/**
 * Config interpolations for named corpora, so a config can point at the embedded corpus:
 *
 * ```yaml
 * model:
 *   vocab_size: ${corpus.vocab_size:brown}       # 4096
 *   eos_token_id: ${corpus.eos_token_id:brown}   # 4095
 *   pad_token_id: ${corpus.pad_token_id:brown}   # 4094
 * tokenizer:
 *   identifier: ${corpus.tokenizer:brown}        # <cache>/corpora/brown-v1/tokenizer.json
 * data:
 *   paths: ${corpus.tokens:brown,train}          # list of .npy token files
 * ```
 *
 * Resolving prepares the corpus on first use (which trains its tokenizer). When a config is loaded
 * with `validatePaths: false` and the corpus is not prepared yet, the resolvers return the values
 * it will have instead of preparing it.
 *
 * The config loader does not know these resolvers by itself (`lib/config` does not depend on
 * `lib/data`). Pass them to the load, which changes nothing process-wide:
 *
 * ```ts
 * const cfg = await loadTrainConfig("configs/quickstart-brown.yaml", {
 *   resolvers: corpusResolvers(),
 * });
 * ```
 *
 * or call `registerCorpusResolvers()` once at start-up, as the commands do.
 *
 * @module
 */
import { join } from "node:path";
import { registerResolver, type ResolverContext, type ResolverFn } from "../config/mod.ts";
import {
  BROWN_VOCAB_SIZE,
  corpusDir,
  type CorpusSplit,
  ensureCorpus,
  type EnsureCorpusOptions,
  loadPreparedCorpus,
  type PreparedCorpus,
} from "./corpus.ts";

/** What the resolvers report about a corpus. */
interface CorpusValues {
  dir: string;
  tokenizerPath: string;
  vocabSize: number;
  eosTokenId: number;
  padTokenId: number;
  tokenFiles(split: CorpusSplit): string[];
}

function fromPrepared(c: PreparedCorpus): CorpusValues {
  return {
    dir: c.dir,
    tokenizerPath: c.tokenizerPath,
    vocabSize: c.manifest.vocab_size,
    eosTokenId: c.manifest.eos_token_id,
    padTokenId: c.manifest.pad_token_id,
    tokenFiles: c.tokenFiles,
  };
}

/** The values preparing the full corpus will produce (for `validatePaths: false`). */
function expected(name: string, options: EnsureCorpusOptions): CorpusValues {
  const dir = corpusDir(name, options);
  return {
    dir,
    tokenizerPath: join(dir, "tokenizer.json"),
    vocabSize: BROWN_VOCAB_SIZE,
    eosTokenId: BROWN_VOCAB_SIZE - 1,
    padTokenId: BROWN_VOCAB_SIZE - 2,
    tokenFiles: (split) => [join(dir, "tokens", split, "0_00000.npy")],
  };
}

/**
 * The resolvers `corpus.dir`, `corpus.tokenizer`, `corpus.tokens` (args: name, split),
 * `corpus.vocab_size`, `corpus.eos_token_id` and `corpus.pad_token_id`, for the `resolvers` load
 * option of `loadTrainConfig` / `trainConfigFromObject` / `loadConfigSection`. `options` says
 * where corpora are cached.
 */
export function corpusResolvers(options: EnsureCorpusOptions = {}): Record<string, ResolverFn> {
  const values = async (
    resolver: string,
    args: string[],
    ctx: ResolverContext,
  ): Promise<CorpusValues> => {
    const name = args[0]?.trim();
    if (!name) throw new Error(`\${${resolver}:NAME} needs a corpus name, e.g. brown`);
    if (!ctx.validatePaths) {
      const ready = loadPreparedCorpus(corpusDir(name, options));
      return ready === null ? expected(name, options) : fromPrepared(ready);
    }
    return fromPrepared(await ensureCorpus(name, options));
  };
  const split = (args: string[]): CorpusSplit => {
    const s = (args[1] ?? "train").trim();
    if (s !== "train" && s !== "validation") {
      throw new Error(
        `\${corpus.tokens:NAME,SPLIT}: SPLIT must be train or validation, got "${s}"`,
      );
    }
    return s;
  };
  const picks: Record<string, (v: CorpusValues, args: string[]) => unknown> = {
    "corpus.dir": (v) => v.dir,
    "corpus.tokenizer": (v) => v.tokenizerPath,
    "corpus.tokens": (v, args) => v.tokenFiles(split(args)),
    "corpus.vocab_size": (v) => v.vocabSize,
    "corpus.eos_token_id": (v) => v.eosTokenId,
    "corpus.pad_token_id": (v) => v.padTokenId,
  };
  return Object.fromEntries(
    Object.entries(picks).map(([name, pick]): [string, ResolverFn] => [
      name,
      async (args, ctx) => pick(await values(name, args, ctx), args),
    ]),
  );
}

/**
 * Registers `corpusResolvers(options)` with the config loader for the whole process, so every
 * later load can name corpora. The commands call this once before loading their config; library
 * code should prefer the `resolvers` load option, which changes no process-wide state.
 */
export function registerCorpusResolvers(options: EnsureCorpusOptions = {}): void {
  for (const [name, fn] of Object.entries(corpusResolvers(options))) registerResolver(name, fn);
}
