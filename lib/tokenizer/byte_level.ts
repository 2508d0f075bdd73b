/**
 * GPT-2 byte-level conventions shared with Hugging Face's `ByteLevel` pre-tokenizer/decoder:
 * every byte maps to one printable Unicode character, and text is split into pre-tokens by
 * GPT-2's regex before BPE, so merges never cross those boundaries.
 *
 * @module
 */

/** GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to U+0100 onward. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + extra++);
  }
  return table;
})();

/** The 256 byte-level characters, in byte order. */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR];
}

/** GPT-2's pre-tokenization pattern, as used by HF `ByteLevel(use_regex=true)`. */
export const GPT2_PRETOKENIZE_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();

/** Splits text into GPT-2 pre-tokens and returns each as its UTF-8 bytes. */
export function preTokenizeBytes(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const match of text.matchAll(GPT2_PRETOKENIZE_PATTERN)) out.push(utf8.encode(match[0]));
  return out;
}

/** A byte string in the byte-level alphabet (what HF stores in vocab and merges). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}
