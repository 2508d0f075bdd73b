/**
 * OLMo's `ICLMetric`: a score per (document, continuation) pair from its log-likelihood, then the
 * per-document argmax over continuations compared with the answer.
 *
 * Scores (`update`): `acc` and `f1` use the summed log-probability of the continuation's tokens;
 * `len_norm` divides it by the continuation's character length (less its leading space);
 * `pmi_dc` divides it by the same sum after the domain-conditional prompt. Scores are kept as
 * float32, as OLMo's metric state tensors hold them.
 *
 * `compute`, as OLMo does it: the first result seen for a (document, continuation) pair counts
 * (duplicates from padding the rank split are dropped); a document is scored over the
 * continuations seen, and skipped when their ids are not `0..k-1` (OLMo's `IndexError` case,
 * e.g. when `subset_num_batches` cut a document's requests short); ties go to the first
 * continuation (`torch.argmax`). `acc` is the fraction of scored documents whose argmax is the
 * answer; `f1` is the binary F1 of the predictions with continuation 0 as the positive class
 * (scikit-learn's `f1_score(labels, preds, pos_label=0)`, 0 when undefined).
 *
 * @module
 */
import type { MetricType } from "./tasks.ts";

/** The model's log-likelihoods for one request. */
export interface RequestScore {
  /** Document index. */
  docId: number;
  /** Continuation index. */
  contId: number;
  /** The document's answer. */
  labelId: number;
  /** Σ log p(continuation token) after the context. */
  logLikelihood: number;
  /** Σ log p(continuation token) after the domain conditional (NaN when not computed). */
  dcLogLikelihood: number;
  /** The continuation's characters less its leading space. */
  contStrLen: number;
}

/** A metric's value and the documents it covers. */
export interface MetricValue {
  /** The metric. */
  metric: MetricType;
  /** Its value; NaN when no document could be scored. */
  value: number;
  /** Documents scored. */
  documents: number;
  /** Documents seen but skipped because their continuation ids had a gap. */
  incomplete: number;
}

/** OLMo's per-request score for `metric` (float32). */
export function requestScore(metric: MetricType, s: RequestScore): number {
  switch (metric) {
    case "acc":
    case "f1":
      return Math.fround(s.logLikelihood);
    case "len_norm":
      return Math.fround(s.logLikelihood / s.contStrLen);
    case "pmi_dc":
      return Math.fround(s.logLikelihood / s.dcLogLikelihood);
  }
}

/** `torch.argmax`: the first maximum, NaN counting as the largest value. */
function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (Number.isNaN(values[best])) break;
    if (Number.isNaN(values[i]) || values[i] > values[best]) best = i;
  }
  return best;
}

/** OLMo's `ICLMetric.compute` over every rank's request scores (in any order). */
export function computeMetric(metric: MetricType, scores: readonly RequestScore[]): MetricValue {
  const labels = new Map<number, number>();
  const perDoc = new Map<number, Map<number, number>>();
  for (const s of scores) {
    if (!labels.has(s.docId)) labels.set(s.docId, s.labelId);
    let conts = perDoc.get(s.docId);
    if (conts === undefined) perDoc.set(s.docId, conts = new Map());
    if (!conts.has(s.contId)) conts.set(s.contId, requestScore(metric, s));
  }
  const preds: number[] = [];
  const golds: number[] = [];
  let incomplete = 0;
  for (const [docId, conts] of perDoc) {
    const values = new Array<number>(conts.size).fill(-Infinity);
    let gap = false;
    for (const [contId, value] of conts) {
      if (contId >= values.length) gap = true;
      else values[contId] = value;
    }
    if (gap) {
      incomplete++;
      continue;
    }
    preds.push(argmax(values));
    golds.push(labels.get(docId)!);
  }
  let value: number;
  if (preds.length === 0) value = NaN;
  else if (metric === "f1") value = binaryF1(golds, preds, 0);
  else value = preds.filter((p, i) => p === golds[i]).length / preds.length;
  return { metric, value, documents: preds.length, incomplete };
}

/** Binary F1 of `preds` against `golds` for class `positive` (0 when it is undefined). */
export function binaryF1(
  golds: readonly number[],
  preds: readonly number[],
  positive: number,
): number {
  let tp = 0, fp = 0, fn = 0;
  preds.forEach((p, i) => {
    const g = golds[i];
    if (p === positive && g === positive) tp++;
    else if (p === positive) fp++;
    else if (g === positive) fn++;
  });
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}
