/**
 * The training loss straight from the final hidden states: the output projection and OLMo's
 * next-token cross-entropy (+ z-loss) as one custom op that never materialises the (N, E)
 * logits. It equals `lmTrainingLoss(olmo.forward(ids).logits, ...)` up to float32 rounding.
 *
 * The vocabulary is processed in column chunks: the forward pass keeps a running log-sum-exp
 * over chunks, and the backward pass recomputes each chunk's logits (one extra head matmul) to
 * form its gradient, accumulating the hidden-state gradient and writing the weight gradient
 * chunk by chunk. With a 50k vocabulary the logits and their gradients are several 100 MiB
 * each; chunking keeps them to a few tens of MiB, which is what lets an 85M-parameter model
 * train inside the wasm backend's 4 GiB heap. When the logits fit one chunk the gradients are
 * formed in the forward pass from the exponentials it already has (no recomputation) and the
 * backward pass only scales them by the incoming gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { accurateMean, accurateSum } from "../backend/accurate_sum.ts";
import type { OutputHead } from "../model/types.ts";
import { leanGradient } from "../util/lean_grad.ts";
import { type LmLoss, Z_LOSS_COEF } from "./loss.ts";

/** Logit elements per chunk by default (32 MiB of float32). */
export const DEFAULT_LOGIT_CHUNK_ELEMENTS = 8 * 2 ** 20;

/** Options of {@link headTrainingLoss}. */
export interface HeadLossOptions {
  /** Add PaLM's z-loss (`softmax_auxiliary_loss`). */
  zLoss: boolean;
  /** Its coefficient (`auxiliary_loss_multiplier`); default `Z_LOSS_COEF` (1e-4). */
  zLossMultiplier?: number;
  /** Multiplier of the loss (1 / number of micro-batches). */
  scale: number;
  /** Logit elements per vocabulary chunk (default {@link DEFAULT_LOGIT_CHUNK_ELEMENTS}). */
  chunkElements?: number;
}

/** A column range `[start, end)` of the vocabulary. */
type Chunk = [number, number];

/** The tensors every chunk computation reads. */
interface HeadInputs {
  /** (N, d) hidden states. */
  h: tf.Tensor2D;
  /** (E, d) head weight. */
  w: tf.Tensor2D;
  /** (E,) head bias, or null. */
  bias: tf.Tensor1D | null;
  /** Logit scale. */
  scale: number;
  /** Whether the vocabulary is one chunk (no slicing). */
  whole: boolean;
}

/** Label bookkeeping of the rows. */
interface RowLabels {
  /** (N,) int32 labels. */
  labels: tf.Tensor1D;
  /** (N,) int32 row numbers. */
  rows: tf.Tensor1D;
}

/** `[start, end)` vocabulary ranges of at most `width` columns. */
function columnChunks(vocab: number, width: number): Chunk[] {
  const out: Chunk[] = [];
  for (let start = 0; start < vocab; start += width) {
    out.push([start, Math.min(vocab, start + width)]);
  }
  return out;
}

/** Head weight rows of a chunk: (end − start, d). */
function chunkWeight(x: HeadInputs, [start, end]: Chunk): tf.Tensor2D {
  return x.whole ? x.w : tf.slice(x.w, [start, 0], [end - start, x.w.shape[1]]);
}

/** Logits of a chunk: (N, end − start). */
function chunkLogits(x: HeadInputs, chunk: Chunk): tf.Tensor2D {
  let l: tf.Tensor = tf.matMul(x.h, chunkWeight(x, chunk), false, true);
  if (x.bias) {
    l = tf.add(l, x.whole ? x.bias : tf.slice(x.bias, [chunk[0]], [chunk[1] - chunk[0]]));
  }
  return (x.scale === 1 ? l : tf.mul(l, x.scale)) as tf.Tensor2D;
}

/**
 * Where each row's label falls in a chunk: `inside` (N,) bool, `column` (N,) its column (0 for
 * rows whose label is elsewhere) and `flatIdx` (N,) its flat index in the (N, width) chunk.
 */
function labelEntries(r: RowLabels, [start, end]: Chunk) {
  const inside = tf.logicalAnd(
    tf.greaterEqual(r.labels, tf.scalar(start, "int32")),
    tf.less(r.labels, tf.scalar(end, "int32")),
  );
  const column = tf.where(
    inside,
    tf.sub(r.labels, tf.scalar(start, "int32")),
    tf.zerosLike(r.labels),
  );
  const flatIdx = tf.add(tf.mul(r.rows, tf.scalar(end - start, "int32")), column);
  return { inside, column, flatIdx };
}

/**
 * Gradient contributions of a chunk: `dLogits = expo·rowScale − ceCoef at the label entry`,
 * then (N, d) for the hidden states, (width, d) for the weight and (width,) for the bias.
 * The label correction is a scatter (rows whose label is elsewhere rewrite an entry with its own
 * value) instead of an (N, width) one-hot.
 */
function chunkGradients(
  x: HeadInputs,
  r: RowLabels,
  chunk: Chunk,
  expo: tf.Tensor2D,
  rowScale: tf.Tensor1D,
  ceCoef: tf.Tensor1D,
): { dh: tf.Tensor2D; dw: tf.Tensor2D; db: tf.Tensor1D | null } {
  const scaled = tf.mul(expo, tf.expandDims(rowScale, 1)); // (N, width)
  const at = labelEntries(r, chunk);
  const current = tf.gather(tf.reshape(scaled, [-1]), at.flatIdx); // (N,)
  const updated = tf.where(at.inside, tf.sub(current, ceCoef), current);
  const g = tf.tensorScatterUpdate(scaled, tf.stack([r.rows, at.column], 1), updated);
  const n = x.h.shape[0];
  return {
    dh: tf.matMul(g, chunkWeight(x, chunk)) as tf.Tensor2D, // (N, d)
    dw: tf.matMul(g, x.h, true, false) as tf.Tensor2D, // (width, d)
    db: x.bias ? tf.reshape(tf.matMul(tf.ones([1, n]), g), [chunk[1] - chunk[0]]) : null,
  };
}

/** True while a gradient tape records. */
function recordingGradients(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}

/**
 * OLMo's training loss for one micro-batch from `hidden` (B, S, d) and the model's output head,
 * with the semantics of `lmTrainingLoss`: token-mean CE over positions with weight > 0, z-loss
 * over all positions, `(ce + z) · scale` back-propagated. Gradients flow to `hidden` and the head
 * weight (and bias). Must be called inside a gradient scope; the caller disposes `ce` and `z`.
 */
export function headTrainingLoss(
  hidden: tf.Tensor3D,
  head: OutputHead,
  labels: tf.Tensor2D, // (B, S) int32
  weights: tf.Tensor2D, // (B, S) float32, 0 = ignored
  opts: HeadLossOptions,
): LmLoss {
  const [b, s, d] = hidden.shape;
  const n = b * s;
  const zCoef = opts.zLossMultiplier ?? Z_LOSS_COEF;
  const vocab = head.weight.shape[0];
  const width = Math.max(1, Math.floor((opts.chunkElements ?? DEFAULT_LOGIT_CHUNK_ELEMENTS) / n));
  const chunks = columnChunks(vocab, width);
  const whole = chunks.length === 1;
  const hasBias = head.bias !== undefined;
  const rowLabels = {
    labels: tf.reshape(labels, [n]) as tf.Tensor1D,
    rows: tf.range(0, n, 1, "int32") as tf.Tensor1D,
  };
  const flatWeights = tf.reshape(weights, [n]) as tf.Tensor1D;
  const count = tf.maximum(tf.sum(flatWeights), 1); // labelled tokens
  /** d loss/d logits coefficients per row for an incoming gradient `outer`: (ceCoef, rowCoef). */
  const coefficients = (lse: tf.Tensor1D, w: tf.Tensor1D, c: tf.Tensor, outer: tf.Tensor) => {
    const ceCoef = tf.mul(tf.div(w, c), outer) as tf.Tensor1D; // (N,)
    const rowCoef = opts.zLoss
      ? tf.add(ceCoef, tf.mul(tf.mul(lse, (2 * zCoef) / n), outer)) as tf.Tensor1D
      : ceCoef;
    return { ceCoef, rowCoef };
  };
  let ce: tf.Scalar | null = null;
  let z: tf.Scalar | null = null;

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x: HeadInputs = {
      h: tf.reshape(args[0] as tf.Tensor, [n, d]) as tf.Tensor2D,
      w: args[1] as tf.Tensor2D,
      bias: hasBias ? args[2] as tf.Tensor1D : null,
      scale: head.scale,
      whole,
    };
    const save = args[args.length - 1] as tf.GradSaveFunc;
    // Running log-sum-exp over the chunks (one chunk: exactly tf.logSumExp's arithmetic).
    let runMax: tf.Tensor1D | null = null;
    let runSum: tf.Tensor1D | null = null;
    let target = tf.zeros([n]) as tf.Tensor1D; // logit of each row's label
    let expo: tf.Tensor2D | null = null; // exp(logits − max), kept when there is one chunk
    for (const chunk of chunks) {
      const step = tf.tidy(() => {
        const l = chunkLogits(x, chunk); // (N, width)
        const at = labelEntries(rowLabels, chunk);
        const atLabel = tf.gather(tf.reshape(l, [-1]), at.flatIdx); // (N,)
        const picked = tf.where(at.inside, atLabel, tf.zerosLike(atLabel));
        const chunkMax = tf.max(l, 1) as tf.Tensor1D;
        const newMax = runMax ? tf.maximum(runMax, chunkMax) : chunkMax;
        const e = tf.exp(tf.sub(l, tf.expandDims(newMax, 1))) as tf.Tensor2D;
        const chunkSum = tf.sum(e, 1);
        const sum = runSum
          ? tf.add(tf.mul(runSum, tf.exp(tf.sub(runMax!, newMax))), chunkSum)
          : chunkSum;
        return { max: newMax, sum, target: tf.add(target, picked), e: whole ? e : [] };
      });
      tf.dispose([runMax, runSum, target].filter((t) => t !== null) as tf.Tensor[]);
      runMax = step.max as tf.Tensor1D;
      runSum = step.sum as tf.Tensor1D;
      target = step.target as tf.Tensor1D;
      if (whole) expo = step.e as tf.Tensor2D;
    }
    const lse = tf.add(runMax!, tf.log(runSum!)) as tf.Tensor1D; // (N,)
    const nll = tf.sub(lse, target);
    ce = tf.keep(tf.div(accurateSum(tf.mul(nll, flatWeights)), count) as tf.Scalar);
    let total: tf.Tensor = ce;
    if (opts.zLoss) {
      z = tf.keep(tf.mul(accurateMean(tf.square(lse)), zCoef) as tf.Scalar);
      total = tf.add(total, z);
    }
    const value = tf.mul(total, opts.scale) as tf.Scalar;
    if (whole && recordingGradients()) {
      // Gradients for an incoming gradient of 1 (softmax = expo / sum); backward scales them.
      const c = coefficients(lse, flatWeights, count, tf.scalar(opts.scale * head.scale));
      const rowScale = tf.div(c.rowCoef, runSum!) as tf.Tensor1D;
      const g = chunkGradients(x, rowLabels, [0, vocab], expo!, rowScale, c.ceCoef);
      save([g.dh, g.dw, ...(g.db ? [g.db] : [])]);
      return {
        value,
        gradFunc: leanGradient((dy, saved) => {
          const grads = saved.map((t) => tf.mul(t, dy));
          grads[0] = tf.reshape(grads[0], [b, s, d]);
          return grads;
        }),
      };
    }
    save([
      x.h,
      x.w,
      ...(x.bias ? [x.bias] : []),
      lse,
      rowLabels.labels,
      rowLabels.rows,
      flatWeights,
      count,
    ]);
    return {
      value,
      gradFunc: leanGradient((dy, saved) => {
        const [hs, ws] = saved as tf.Tensor2D[];
        const rest = saved.slice(hasBias ? 3 : 2) as tf.Tensor1D[];
        const [lseS, labelsS, rowsS, weightsS, countS] = rest;
        const xs: HeadInputs = {
          h: hs,
          w: ws,
          bias: hasBias ? saved[2] as tf.Tensor1D : null,
          scale: head.scale,
          whole,
        };
        const r = { labels: labelsS, rows: rowsS };
        // The logit scale carries over to the pre-scale logits.
        const c = coefficients(lseS, weightsS, countS, tf.mul(tf.mul(dy, opts.scale), head.scale));
        let dh = tf.zeros([n, d]) as tf.Tensor2D;
        const dw: tf.Tensor[] = [];
        const db: tf.Tensor[] = [];
        for (const chunk of chunks) {
          const parts = tf.tidy(() => {
            const l = chunkLogits(xs, chunk); // recomputed (N, width)
            const expo = tf.exp(tf.sub(l, tf.expandDims(lseS, 1))) as tf.Tensor2D; // softmax
            const g = chunkGradients(xs, r, chunk, expo, c.rowCoef, c.ceCoef);
            return { dh: tf.add(dh, g.dh), dw: g.dw, db: g.db ?? [] };
          });
          dh.dispose();
          dh = parts.dh as tf.Tensor2D;
          dw.push(parts.dw);
          if (hasBias) db.push(parts.db as tf.Tensor);
        }
        return [
          tf.reshape(dh, [b, s, d]),
          dw.length === 1 ? dw[0] : tf.concat(dw, 0),
          ...(hasBias ? [db.length === 1 ? db[0] : tf.concat(db, 0)] : []),
        ];
      }),
    };
  });
  const inputs = [hidden, head.weight, ...(head.bias ? [head.bias] : [])];
  const loss = op(...inputs) as tf.Scalar;
  return { loss, ce: ce!, z };
}
