/**
 * A byte-level BPE trainer in TypeScript that writes a Hugging Face `tokenizer.json` (loadable
 * by `@huggingface/tokenizers`, the Rust `tokenizers` library and `transformers`).
 *
 * Algorithm (the classic one, as in HF's `BpeTrainer`): count pre-token ("word") frequencies
 * once, then repeatedly merge the most frequent adjacent symbol pair. Pair counts are kept
 * incrementally: merging (a, b) only touches the words that contain it (an index from pair to
 * words), and only pairs involving the new symbol can grow, so only those are pushed onto a
 * lazy max-heap. Ties go to the smaller (a, b) ids, so training is deterministic.
 *
 * Layout of the result: ids 0–255 are the 256 byte-level characters (all present, whatever the
 * training text), merges follow, and the special tokens come last with EOS as the very last id —
 * so OLMo's default `eos_token_id = vocab_size - 1` picks it. With the default specials,
 * `<|padding|>` is `vocab_size - 2` and `<|endoftext|>` is `vocab_size - 1`.
 *
 * @module
 */
import { BYTE_TO_CHAR, GPT2_PRETOKENIZE_PATTERN } from "./byte_level.ts";

/** Options of `ByteLevelBpeTrainer`. */
export interface BpeTrainerOptions {
  /** Final vocabulary size, special tokens included. At least 256 + number of specials. */
  vocabSize: number;
  /** End-of-text token, given the last id. Default `<|endoftext|>`. */
  eosToken?: string;
  /** Padding token, given the id before EOS; null for none. Default `<|padding|>`. */
  padToken?: string | null;
  /** A pair must occur at least this often to be merged. Default 2. */
  minFrequency?: number;
}

/** Key of a symbol pair (ids < 2^21 each). */
const PAIR_SHIFT = 2 ** 21;

/** Binary max-heap of [count, pairKey], larger count first, then smaller key. */
class PairHeap {
  #counts: number[] = [];
  #keys: number[] = [];
  get size(): number {
    return this.#counts.length;
  }
  #above(i: number, j: number): boolean {
    const c = this.#counts;
    return c[i] > c[j] || (c[i] === c[j] && this.#keys[i] < this.#keys[j]);
  }
  #swap(i: number, j: number): void {
    [this.#counts[i], this.#counts[j]] = [this.#counts[j], this.#counts[i]];
    [this.#keys[i], this.#keys[j]] = [this.#keys[j], this.#keys[i]];
  }
  push(count: number, key: number): void {
    this.#counts.push(count);
    this.#keys.push(key);
    let i = this.#counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#above(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.#counts[0], this.#keys[0]];
    const lastCount = this.#counts.pop()!;
    const lastKey = this.#keys.pop()!;
    if (this.#counts.length > 0) {
      this.#counts[0] = lastCount;
      this.#keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < this.#counts.length && this.#above(l, best)) best = l;
        if (r < this.#counts.length && this.#above(r, best)) best = r;
        if (best === i) break;
        this.#swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/** Collects text, then trains a byte-level BPE tokenizer. */
export class ByteLevelBpeTrainer {
  readonly #wordCounts = new Map<string, number>();
  #characters = 0;

  /** Adds a document (or any text) to the training counts. */
  addText(text: string): void {
    this.#characters += text.length;
    for (const match of text.matchAll(GPT2_PRETOKENIZE_PATTERN)) {
      const w = match[0];
      this.#wordCounts.set(w, (this.#wordCounts.get(w) ?? 0) + 1);
    }
  }

  /** Characters and distinct pre-tokens seen so far. */
  get stats(): { characters: number; distinctWords: number } {
    return { characters: this.#characters, distinctWords: this.#wordCounts.size };
  }

  /** Runs the merges and returns the tokenizer.json object. */
  train(options: BpeTrainerOptions): Record<string, unknown> {
    const eos = options.eosToken ?? "<|endoftext|>";
    const pad = options.padToken === undefined ? "<|padding|>" : options.padToken;
    const specials = pad === null || pad === eos ? [eos] : [pad, eos];
    const minFrequency = options.minFrequency ?? 2;
    const target = options.vocabSize - specials.length;
    if (!Number.isInteger(options.vocabSize) || target < 256 || options.vocabSize >= PAIR_SHIFT) {
      throw new Error(
        `BPE vocab_size must be an integer in [${256 + specials.length}, ${PAIR_SHIFT}), ` +
          `got ${options.vocabSize}`,
      );
    }

    // Symbols: ids 0..255 are bytes; merged symbols get new ids (or reuse an equal string).
    const symbolText: string[] = [...BYTE_TO_CHAR];
    const idOfText = new Map<string, number>(symbolText.map((t, i) => [t, i]));
    const utf8 = new TextEncoder();
    const words: number[][] = [];
    const freqs: number[] = [];
    for (const [w, n] of this.#wordCounts) {
      words.push(Array.from(utf8.encode(w)));
      freqs.push(n);
    }

    const pairCount = new Map<number, number>();
    const pairWords = new Map<number, Set<number>>();
    const addPairs = (w: number, sign: number): void => {
      const sym = words[w];
      for (let i = 0; i + 1 < sym.length; i++) {
        const key = sym[i] * PAIR_SHIFT + sym[i + 1];
        pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freqs[w]);
        if (sign > 0) {
          let set = pairWords.get(key);
          if (set === undefined) pairWords.set(key, set = new Set());
          set.add(w);
        }
      }
    };
    for (let w = 0; w < words.length; w++) addPairs(w, 1);
    const heap = new PairHeap();
    for (const [key, count] of pairCount) heap.push(count, key);

    const merges: string[] = [];
    while (symbolText.length < target && heap.size > 0) {
      const [count, key] = heap.pop();
      const current = pairCount.get(key) ?? 0;
      if (count !== current) { // stale entry: re-queue at its true count
        if (current >= minFrequency) heap.push(current, key);
        continue;
      }
      if (current < minFrequency) break;
      const a = Math.floor(key / PAIR_SHIFT), b = key % PAIR_SHIFT;
      const text = symbolText[a] + symbolText[b];
      let merged = idOfText.get(text);
      if (merged === undefined) {
        merged = symbolText.length;
        symbolText.push(text);
        idOfText.set(text, merged);
      }
      merges.push(`${symbolText[a]} ${symbolText[b]}`);

      const touched = new Set<number>();
      for (const w of pairWords.get(key) ?? []) {
        const sym = words[w];
        let found = false;
        for (let i = 0; i + 1 < sym.length; i++) {
          if (sym[i] === a && sym[i + 1] === b) {
            found = true;
            break;
          }
        }
        if (!found) continue; // stale index entry
        addPairs(w, -1);
        const next: number[] = [];
        for (let i = 0; i < sym.length; i++) {
          if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
            next.push(merged);
            i++;
          } else next.push(sym[i]);
        }
        words[w] = next;
        addPairs(w, 1);
        for (let i = 0; i + 1 < next.length; i++) {
          if (next[i] === merged || next[i + 1] === merged) {
            touched.add(next[i] * PAIR_SHIFT + next[i + 1]);
          }
        }
      }
      pairWords.delete(key);
      for (const k of touched) heap.push(pairCount.get(k)!, k);
    }

    return tokenizerJson(symbolText, merges, specials);
  }
}

/** Assembles a HF tokenizer.json for byte-level BPE (no normalizer, so decoding is exact). */
function tokenizerJson(
  symbols: readonly string[],
  merges: readonly string[],
  specials: readonly string[],
): Record<string, unknown> {
  const vocab: Record<string, number> = Object.create(null);
  symbols.forEach((t, i) => vocab[t] = i);
  for (const content of specials) {
    if (Object.hasOwn(vocab, content)) {
      throw new Error(`BPE special token ${JSON.stringify(content)} is also a learned token`);
    }
  }
  const addedTokens = specials.map((content, k) => {
    const id = symbols.length + k;
    vocab[content] = id;
    return {
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    };
  });
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: "ByteLevel",
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(false, false),
    decoder: byteLevel(true, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}
