/**
 * A task's documents as scoring requests (OLMo `ICLMultiChoiceTaskDataset.prep_examples`): one
 * per (document, continuation) pair, with context and continuation tokenised separately and
 * without special tokens (so a continuation's leading space stays its own token's), the query
 * `ctx + cont[:-1]` cut from the left to the model's context window, and the domain-conditional
 * query `dc + cont[:-1]` for `pmi_dc`.
 *
 * Where OLMo goes wrong, this is explicit instead:
 * - OLMo keeps `ctx_len` of the untruncated context after cutting a long query from the left, so
 *   it scores the wrong positions; here `ctxLen` counts the context tokens that remain.
 * - A document that cannot be scored — a continuation longer than the context window (no
 *   context token would be left to predict its first token), an empty context or continuation,
 *   or (for `pmi_dc`) an empty domain conditional — is skipped whole and counted, with the
 *   reason, rather than crashing or scoring garbage.
 *
 * @module
 */
import { pyLen } from "./py_strings.ts";
import type { McDocument } from "./tasks.ts";

/** One (document, continuation) pair to score. */
export interface McRequest {
  /** Index of the document among the task's scored documents. */
  docId: number;
  /** Index of the continuation within its document. */
  contId: number;
  /** `ctx + cont[:-1]`, the last `maxLength` tokens. */
  query: number[];
  /** Context tokens left in `query` (the first continuation token is predicted at `ctxLen-1`). */
  ctxLen: number;
  /** The continuation's tokens (all of them are scored). */
  continuation: number[];
  /** Characters (code points) of the continuation string, less its leading space. */
  contStrLen: number;
  /** `dc + cont[:-1]`, the last `maxLength` tokens (empty unless domain conditionals are used). */
  dcQuery: number[];
  /** Domain-conditional tokens left in `dcQuery`. */
  dcLen: number;
  /** The right continuation of the document. */
  labelId: number;
}

/** A document left out, and why. */
export interface SkippedDocument {
  /** Where the document came from (`FILE:LINE` or `FILE row N`). */
  where: string;
  /** Why it cannot be scored. */
  reason: string;
}

/** The requests of a task. */
export interface TaskRequests {
  /** All requests, document by document, continuations in order. */
  requests: McRequest[];
  /** Documents with requests. */
  numDocuments: number;
  /** Documents left out. */
  skipped: SkippedDocument[];
  /** Documents whose context was cut from the left to fit the window. */
  truncated: number;
}

/** Encodes text to token ids without special tokens. */
export type EncodeText = (text: string) => number[];

/**
 * Tokenises `documents` into requests for a model with a `maxLength`-token window.
 * `domainConditional`: also build the `pmi_dc` queries.
 */
export function buildRequests(
  documents: readonly { doc: McDocument; where: string }[],
  encode: EncodeText,
  maxLength: number,
  domainConditional: boolean,
): TaskRequests {
  const requests: McRequest[] = [];
  const skipped: SkippedDocument[] = [];
  let truncated = 0;
  let docId = 0;
  for (const { doc, where } of documents) {
    const pending: McRequest[] = [];
    let reason: string | null = null;
    let cut = false;
    for (let contId = 0; contId < doc.continuations.length && reason === null; contId++) {
      const text = doc.continuations[contId];
      const continuation = encode(text);
      const ctx = encode(doc.contexts[contId]);
      const dc = domainConditional ? encode(doc.domainConditionals[contId]) : [];
      if (continuation.length === 0) reason = `continuation ${contId} encodes to no tokens`;
      else if (ctx.length === 0) reason = "the context encodes to no tokens";
      else if (domainConditional && dc.length === 0) {
        reason = `the domain conditional of continuation ${contId} encodes to no tokens`;
      } else if (continuation.length > maxLength) {
        reason = `continuation ${contId} has ${continuation.length} tokens, more than the ` +
          `model's context window of ${maxLength}`;
      }
      if (reason !== null) break;
      const fit = (prefix: number[]) => {
        const full = [...prefix, ...continuation.slice(0, -1)];
        const drop = Math.max(0, full.length - maxLength);
        return { query: full.slice(drop), len: prefix.length - drop, cut: drop > 0 };
      };
      const q = fit(ctx);
      const d = domainConditional ? fit(dc) : { query: [], len: 0, cut: false };
      cut ||= q.cut || d.cut;
      pending.push({
        docId,
        contId,
        query: q.query,
        ctxLen: q.len,
        continuation,
        contStrLen: pyLen(text) - 1, // OLMo: "continuation contain leading blank"
        dcQuery: d.query,
        dcLen: d.len,
        labelId: doc.label,
      });
    }
    if (reason !== null) {
      skipped.push({ where, reason });
      continue;
    }
    if (cut) truncated++;
    requests.push(...pending);
    docId++;
  }
  return { requests, numDocuments: docId, skipped, truncated };
}
