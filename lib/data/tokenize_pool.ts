/**
 * Parallel tokenization with Deno Workers. Batches are handed to idle workers and results come
 * back as promises, so callers can keep several batches in flight and still consume them in
 * submission order (which keeps `prepareData`'s output independent of the worker count).
 *
 * @module
 */
import type { Tokenizer, TruncationDirection } from "../tokenizer/tokenizer.ts";

/** First message to a worker. */
export interface TokenizerInit {
  /** Discriminator. */
  kind: "init";
  /** tokenizer.json text. */
  json: string;
  /** EOS id. */
  eosTokenId: number;
  /** Pad id. */
  padTokenId: number;
  /** Truncation length (EOS included), or null. */
  maxLength: number | null;
  /** Truncation side. */
  truncateDirection: TruncationDirection;
}

/** A batch to encode (with EOS, like `Tokenizer.encodeBatch`). */
export interface TokenizeRequest {
  /** Discriminator. */
  kind: "encode";
  /** Request id. */
  id: number;
  /** Texts. */
  texts: string[];
}

/** A worker's answer: flattened ids and per-text lengths, or an error. */
export type TokenizeResponse =
  | { id: number; flat: Uint32Array; lengths: Uint32Array }
  | { id: number; error: string };

/** A fixed set of tokenizer workers. */
export class TokenizePool {
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #queue: Array<() => void> = [];
  readonly #pending = new Map<
    number,
    { resolve: (ids: number[][]) => void; reject: (e: Error) => void }
  >();
  #nextId = 0;

  /** Starts `size` workers, each with its own copy of `tokenizer` (same ids, EOS, truncation). */
  constructor(tokenizer: Tokenizer, size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`workers must be >= 1, got ${size}`);
    const init: TokenizerInit = {
      kind: "init",
      json: tokenizer.json,
      eosTokenId: tokenizer.eosTokenId,
      padTokenId: tokenizer.padTokenId,
      maxLength: tokenizer.maxLength,
      truncateDirection: tokenizer.truncateDirection,
    };
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./tokenize_worker.ts", import.meta.url).href, {
        type: "module",
      });
      worker.onmessage = (event: MessageEvent<TokenizeResponse>) =>
        this.#onResult(worker, event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const error = new Error(`tokenizer worker failed: ${event.message}`);
        for (const p of this.#pending.values()) p.reject(error);
        this.#pending.clear();
      };
      worker.postMessage(init);
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  /** Encodes `texts` on the next idle worker. */
  encode(texts: string[]): Promise<number[][]> {
    return new Promise((resolve, reject) => {
      const run = () => {
        const worker = this.#idle.pop()!;
        const id = this.#nextId++;
        this.#pending.set(id, { resolve, reject });
        const request: TokenizeRequest = { kind: "encode", id, texts };
        worker.postMessage(request);
      };
      if (this.#idle.length > 0) run();
      else this.#queue.push(run);
    });
  }

  #onResult(worker: Worker, msg: TokenizeResponse): void {
    const pending = this.#pending.get(msg.id);
    this.#pending.delete(msg.id);
    this.#idle.push(worker);
    const next = this.#queue.shift();
    if (next) next();
    if (pending === undefined) return;
    if ("error" in msg) {
      pending.reject(new Error(`tokenizer worker: ${msg.error}`));
      return;
    }
    const out: number[][] = [];
    let at = 0;
    for (const n of msg.lengths) {
      out.push(Array.from(msg.flat.subarray(at, at + n)));
      at += n;
    }
    pending.resolve(out);
  }

  /** Stops every worker. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers.length = 0;
    this.#idle.length = 0;
  }
}
