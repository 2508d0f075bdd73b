/**
 * Log-likelihoods of continuations from one batched forward pass (OLMo's `ICLMetric.update`
 * gather): the queries are right-padded with the pad token to the longest in the batch (causal
 * attention keeps padding from touching earlier positions, so no mask is needed, as in OLMo),
 * and the continuation's tokens are scored at positions `prefixLen-1 … prefixLen+contLen-2`
 * with a log-softmax over all `embedding_size` output columns.
 *
 * Only those positions go through the output projection: the hidden states are gathered first,
 * so a batch never holds the (B, S, embedding_size) logits that OLMo materialises.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { linear } from "../model/linear.ts";
import type { Olmo } from "../model/olmo.ts";

/** What scoring needs of a model. */
export type ScoringModel = Pick<Olmo, "hiddenStates" | "outputHead">;

/** One sequence to score. */
export interface ScoringItem {
  /** Input tokens: prefix, then the continuation without its last token. */
  query: readonly number[];
  /** Prefix tokens in `query` (≥ 1). */
  prefixLen: number;
  /** The continuation tokens scored. */
  continuation: readonly number[];
}

/**
 * Σ log p(continuation token | everything before it) for each item, in float64 from the
 * float32 per-token log-probabilities. Eval mode (no dropout).
 */
export async function continuationLogLikelihoods(
  model: ScoringModel,
  items: readonly ScoringItem[],
  padTokenId: number,
): Promise<Float64Array> {
  const b = items.length;
  const s = Math.max(...items.map((it) => it.query.length));
  const ids = new Int32Array(b * s).fill(padTokenId);
  const rows: number[] = []; // flat (b, position) of each scored token
  const targets: number[] = [];
  items.forEach((it, i) => {
    ids.set(it.query, i * s);
    it.continuation.forEach((token, j) => {
      rows.push(i * s + it.prefixLen - 1 + j);
      targets.push(token);
    });
  });
  const logProbs = tf.tidy(() => {
    const input = tf.tensor2d(ids, [b, s], "int32"); // (B, S)
    const { hidden } = model.hiddenStates(input, { training: false }); // (B, S, d)
    const d = hidden.shape[2];
    const picked = tf.gather(tf.reshape(hidden, [b * s, d]), tf.tensor1d(rows, "int32")); // (N, d)
    const head = model.outputHead();
    let logits = linear(picked, head.weight, head.bias) as tf.Tensor2D; // (N, E)
    if (head.scale !== 1) logits = tf.mul(logits, head.scale);
    const e = logits.shape[1];
    const lse = tf.logSumExp(logits, 1); // (N,)
    const flat = tf.add(
      tf.mul(tf.range(0, rows.length, 1, "int32"), tf.scalar(e, "int32")),
      tf.tensor1d(targets, "int32"),
    );
    return tf.sub(tf.gather(tf.reshape(logits, [-1]), flat), lse); // (N,)
  });
  const values = await logProbs.data();
  logProbs.dispose();
  const out = new Float64Array(b);
  let k = 0;
  items.forEach((it, i) => {
    for (let j = 0; j < it.continuation.length; j++) out[i] += values[k++];
  });
  return out;
}
