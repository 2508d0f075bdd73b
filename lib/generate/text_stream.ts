/**
 * Streaming detokenisation: turns a growing list of token ids into text pieces that can be
 * printed as they arrive. Byte-level BPE tokens can end in the middle of a UTF-8 character, so a
 * piece is held back while the decoded text ends in the replacement character U+FFFD.
 *
 * @module
 */

/** Builds printable text pieces from tokens generated one at a time. */
export class IncrementalDecoder {
  readonly #decode: (ids: number[]) => string;
  readonly #ids: number[] = [];
  #emitted = "";

  /** @param decode decodes a whole id list to text (e.g. `Tokenizer.decode`). */
  constructor(decode: (ids: number[]) => string) {
    this.#decode = decode;
  }

  /**
   * Adds one token and returns the new text: "" while a multi-byte character is unfinished. If
   * decoding ever changes text already returned (possible with some normalising decoders), the
   * pieces resume once the decoded text extends what was returned again.
   */
  push(id: number): string {
    this.#ids.push(id);
    const text = this.#decode(this.#ids);
    if (text.endsWith("\uFFFD") || !text.startsWith(this.#emitted)) return "";
    const piece = text.slice(this.#emitted.length);
    this.#emitted = text;
    return piece;
  }

  /** The text not yet returned, unfinished characters included (call once at the end). */
  flush(): string {
    const text = this.#decode(this.#ids);
    const piece = text.startsWith(this.#emitted) ? text.slice(this.#emitted.length) : "";
    this.#emitted = text;
    return piece;
  }

  /** The ids pushed so far. */
  get ids(): readonly number[] {
    return this.#ids;
  }
}
