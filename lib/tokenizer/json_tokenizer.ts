/**
 * OLMo's `Tokenizer` (`olmo/tokenizer.py`) over a Hugging Face `tokenizer.json`, encoded and
 * decoded by `@huggingface/tokenizers` (pure JS; ids identical to the Rust library).
 *
 * OLMo semantics on top of the base tokenizer:
 * - `encode(text, {addSpecialTokens: true})` appends EOS unless the ids already end with it;
 * - `maxLength` (OLMo's `truncate_to`) truncates first, keeping one slot for that EOS, on the
 *   side given by `truncateDirection` (which OLMo forgot to pass from its config; we pass it);
 * - EOS defaults to `vocabSize - 1`, the pad id to EOS.
 *
 * This class builds from the JSON text and reads no files, so it also runs in a browser;
 * `tokenizer.ts` adds loading from files, folders, checkpoints and the Hub.
 *
 * @module
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";

/** Truncation side (`tokenizer.truncate_direction`). */
export type TruncationDirection = "right" | "left";

/** Options shared by every constructor. */
export interface TokenizerOptions {
  /** End-of-sequence id. Default `vocabSize - 1` (OLMo's default). */
  eosTokenId?: number | null;
  /** Padding id. Default the EOS id. */
  padTokenId?: number | null;
  /** Truncate encodings to this many ids, EOS included (OLMo's `truncate_to`). */
  maxLength?: number | null;
  /** Which end truncation removes tokens from. Default "right". */
  truncateDirection?: TruncationDirection;
}

/** Hands a parsed base tokenizer to the constructor during `withOptions` (never kept). */
const SHARED_BASE = new Map<string, { base: HfTokenizer; vocabSize: number }>();

/** A Hugging Face tokenizer.json with OLMo's EOS and truncation rules (no file access). */
export class JsonTokenizer {
  /** Where the tokenizer.json came from (for messages). */
  readonly source: string;
  /** Vocabulary size including added tokens (HF `get_vocab_size(with_added_tokens=True)`). */
  readonly vocabSize: number;
  /** End-of-sequence id. */
  readonly eosTokenId: number;
  /** Padding id. */
  readonly padTokenId: number;
  /** Truncation length (EOS included), or null. */
  readonly maxLength: number | null;
  /** Truncation side. */
  readonly truncateDirection: TruncationDirection;
  /** The tokenizer.json text, e.g. to save next to a checkpoint or hand to a worker. */
  readonly json: string;
  readonly #base: HfTokenizer;

  /** Builds from the text (or parsed object) of a tokenizer.json. */
  constructor(json: string | Record<string, unknown>, options: TokenizerOptions = {}, source = "") {
    this.json = typeof json === "string" ? json : JSON.stringify(json);
    this.source = source || "<tokenizer.json>";
    const shared = SHARED_BASE.get(this.json);
    if (shared !== undefined) {
      this.#base = shared.base;
      this.vocabSize = shared.vocabSize;
    } else {
      let parsed: Record<string, unknown>;
      try {
        parsed = typeof json === "string" ? JSON.parse(json) : json;
        this.#base = new HfTokenizer(parsed, {});
      } catch (e) {
        throw new Error(`${this.source}: not a valid tokenizer.json: ${(e as Error).message}`);
      }
      this.vocabSize = hfVocabSize(parsed);
    }
    const eos = options.eosTokenId ?? this.vocabSize - 1;
    const pad = options.padTokenId ?? eos;
    for (const [name, id] of [["eos_token_id", eos], ["pad_token_id", pad]] as const) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(
          `${this.source}: ${name} ${id} is outside the vocabulary [0, ${this.vocabSize})`,
        );
      }
    }
    this.eosTokenId = eos;
    this.padTokenId = pad;
    const maxLength = options.maxLength ?? null;
    if (maxLength !== null && (!Number.isInteger(maxLength) || maxLength < 1)) {
      throw new Error(`tokenizer maxLength must be a positive integer, got ${maxLength}`);
    }
    this.maxLength = maxLength;
    const dir = options.truncateDirection ?? "right";
    if (dir !== "right" && dir !== "left") {
      throw new Error(`truncate_direction: expected "right" or "left", got ${JSON.stringify(dir)}`);
    }
    this.truncateDirection = dir;
  }

  /**
   * The same vocabulary with other options (e.g. OLMo setting `truncate_to` later), sharing the
   * parsed tokenizer instead of parsing the JSON again. Unset options keep their current values.
   */
  withOptions(options: TokenizerOptions): this {
    SHARED_BASE.set(this.json, { base: this.#base, vocabSize: this.vocabSize });
    try {
      const Same = this.constructor as new (
        json: string,
        options: TokenizerOptions,
        source: string,
      ) => this;
      return new Same(this.json, {
        eosTokenId: this.eosTokenId,
        padTokenId: this.padTokenId,
        maxLength: this.maxLength,
        truncateDirection: this.truncateDirection,
        ...options,
      }, this.source);
    } finally {
      SHARED_BASE.delete(this.json);
    }
  }

  /** Token ids of `text`; with `addSpecialTokens` (default) EOS is appended unless already last. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.encodeBatch([text], options)[0];
  }

  /** `encode` over several texts (OLMo `encode_batch`). */
  encodeBatch(texts: readonly string[], options: { addSpecialTokens?: boolean } = {}): number[][] {
    const addSpecial = options.addSpecialTokens ?? true;
    let keep = this.maxLength;
    if (keep !== null && addSpecial) keep -= 1;
    return texts.map((text) => {
      let ids = this.#base.encode(text).ids;
      if (keep !== null && ids.length > keep) {
        ids = this.truncateDirection === "right"
          ? ids.slice(0, keep)
          : ids.slice(ids.length - keep);
      }
      return addSpecial ? this.addSpecialTokens(ids) : ids;
    });
  }

  /** Appends EOS in place if `ids` is empty or does not already end with it; returns `ids`. */
  addSpecialTokens(ids: number[]): number[] {
    if (ids.length === 0 || ids[ids.length - 1] !== this.eosTokenId) ids.push(this.eosTokenId);
    return ids;
  }

  /** Special tokens `encode` adds: 2 for a pair, else 1 (OLMo `num_special_tokens_to_add`). */
  numSpecialTokensToAdd(isPair = false): number {
    return isPair ? 2 : 1;
  }

  /** Text of `ids`; special tokens are dropped unless `skipSpecialTokens` is false. */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    return this.#base.decode(Array.from(ids), {
      skip_special_tokens: options.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: false,
    });
  }

  /** Id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.#base.token_to_id(token);
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.#base.id_to_token(id);
  }
}

/** HF's `get_vocab_size(true)`: distinct tokens over the model vocab and the added tokens. */
function hfVocabSize(json: Record<string, unknown>): number {
  const model = json.model as { vocab?: unknown } | undefined;
  const tokens = new Set<string>();
  const vocab = model?.vocab;
  if (Array.isArray(vocab)) { // Unigram: [[piece, score], ...]
    for (const entry of vocab) tokens.add(String((entry as unknown[])[0]));
  } else if (vocab && typeof vocab === "object") {
    for (const token of Object.keys(vocab)) tokens.add(token);
  }
  const added = (json.added_tokens ?? []) as Array<{ content: string }>;
  for (const t of added) tokens.add(t.content);
  return tokens.size;
}

/** Throws if a config's `model.vocab_size` differs from the tokenizer's. */
export function checkVocabSize(configVocabSize: number, tokenizer: JsonTokenizer): void {
  if (configVocabSize !== tokenizer.vocabSize) {
    throw new Error(
      `vocab size mismatch between config and tokenizer: model.vocab_size is ${configVocabSize} ` +
        `but ${tokenizer.source} has ${tokenizer.vocabSize} tokens`,
    );
  }
}
