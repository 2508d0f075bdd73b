/**
 * Deno Worker body for `TokenizePool`: rebuilds the tokenizer from its JSON, then answers
 * batches of texts with their ids, flattened into transferable typed arrays.
 *
 * @module
 */
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { TokenizeRequest, TokenizeResponse, TokenizerInit } from "./tokenize_pool.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<TokenizerInit | TokenizeRequest>) => void) | null;
  postMessage(message: TokenizeResponse, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;
let tokenizer: Tokenizer | null = null;

scope.onmessage = (event) => {
  const msg = event.data;
  if (msg.kind === "init") {
    tokenizer = new Tokenizer(msg.json, {
      eosTokenId: msg.eosTokenId,
      padTokenId: msg.padTokenId,
      maxLength: msg.maxLength,
      truncateDirection: msg.truncateDirection,
    });
    return;
  }
  try {
    if (tokenizer === null) throw new Error("tokenize worker used before init");
    const encoded = tokenizer.encodeBatch(msg.texts);
    const lengths = new Uint32Array(encoded.length);
    let total = 0;
    encoded.forEach((ids, i) => {
      lengths[i] = ids.length;
      total += ids.length;
    });
    const flat = new Uint32Array(total);
    let at = 0;
    for (const ids of encoded) {
      flat.set(ids, at);
      at += ids.length;
    }
    scope.postMessage({ id: msg.id, flat, lengths }, [flat.buffer, lengths.buffer]);
  } catch (e) {
    scope.postMessage({ id: msg.id, error: (e as Error).message }, []);
  }
};
