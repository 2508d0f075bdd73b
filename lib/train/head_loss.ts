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
 * train inside the wasm backend's 4 GiB heap.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { OutputHead } from "../model/olmo.ts";
import { leanGradient } from "../util/lean_grad.ts";
import { type LmLoss, Z_LOSS_COEF } from "./loss.ts";

/** Logit elements per chunk by default (32 MiB of float32). */
export const DEFAULT_LOGIT_CHUNK_ELEMENTS = 8 * 2 ** 20;

/** Options of {@link headTrainingLoss}. */
export interface HeadLossOptions {
  /** Add PaLM's z-loss (`softmax_auxiliary_loss`). */
  zLoss: boolean;
  /** Multiplier of the loss (1 / number of micro-batches). */
  scale: number;
  /** Logit elements per vocabulary chunk (default {@link DEFAULT_LOGIT_CHUNK_ELEMENTS}). */
  chunkElements?: number;
}

/** `[start, end)` vocabulary ranges of at most `width` columns. */
function columnChunks(vocab: number, width: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < vocab; start += width) {
    out.push([start, Math.min(vocab, start + width)]);
  }
  return out;
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
  const vocab = head.weight.shape[0];
  const width = Math.max(1, Math.floor((opts.chunkElements ?? DEFAULT_LOGIT_CHUNK_ELEMENTS) / n));
  const chunks = columnChunks(vocab, width);
  const flatLabels = tf.reshape(labels, [n]) as tf.Tensor1D;
  const flatWeights = tf.reshape(weights, [n]) as tf.Tensor1D;
  const count = tf.maximum(tf.sum(flatWeights), 1); // labelled tokens
  const hasBias = head.bias !== undefined;
  let ce: tf.Scalar | null = null;
  let z: tf.Scalar | null = null;

  /** Logits of columns [start, end): (N, end − start). */
  const chunkLogits = (h: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D | null, [start, end]: [
    number,
    number,
  ]) => {
    const wc = chunks.length === 1 ? w : tf.slice(w, [start, 0], [end - start, d]);
    let l: tf.Tensor = tf.matMul(h, wc, false, true);
    if (bias) l = tf.add(l, chunks.length === 1 ? bias : tf.slice(bias, [start], [end - start]));
    return (head.scale === 1 ? l : tf.mul(l, head.scale)) as tf.Tensor2D;
  };
  const rows = tf.range(0, n, 1, "int32"); // (N,)
  /**
   * Where each row's label falls in columns [start, end): `inside` (N,) bool, `flatIdx` (N,) the
   * flat index of the label entry in the (N, end − start) chunk, column 0 for rows outside.
   */
  const labelEntries = (lab: tf.Tensor1D, rowIds: tf.Tensor1D, start: number, end: number) => {
    const inside = tf.logicalAnd(
      tf.greaterEqual(lab, tf.scalar(start, "int32")),
      tf.less(lab, tf.scalar(end, "int32")),
    );
    const column = tf.where(inside, tf.sub(lab, tf.scalar(start, "int32")), tf.zerosLike(lab));
    const flatIdx = tf.add(tf.mul(rowIds, tf.scalar(end - start, "int32")), column);
    return { inside, column, flatIdx };
  };

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const h = tf.reshape(args[0] as tf.Tensor, [n, d]) as tf.Tensor2D; // (N, d)
    const w = args[1] as tf.Tensor2D; // (E, d)
    const bias = hasBias ? args[2] as tf.Tensor1D : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    // Running log-sum-exp over the chunks (one chunk: exactly tf.logSumExp's arithmetic).
    let runMax: tf.Tensor1D | null = null;
    let runSum: tf.Tensor1D | null = null;
    let target = tf.zeros([n]) as tf.Tensor1D; // logit of each row's label
    for (const [start, end] of chunks) {
      const step = tf.tidy(() => {
        const l = chunkLogits(h, w, bias, [start, end]); // (N, width)
        const at = labelEntries(flatLabels, rows, start, end);
        const atLabel = tf.gather(tf.reshape(l, [-1]), at.flatIdx); // (N,)
        const picked = tf.where(at.inside, atLabel, tf.zerosLike(atLabel));
        const chunkMax = tf.max(l, 1) as tf.Tensor1D;
        const newMax = runMax ? tf.maximum(runMax, chunkMax) : chunkMax;
        const chunkSum = tf.sum(tf.exp(tf.sub(l, tf.expandDims(newMax, 1))), 1);
        const sum = runSum
          ? tf.add(tf.mul(runSum, tf.exp(tf.sub(runMax!, newMax))), chunkSum)
          : chunkSum;
        return { max: newMax, sum, target: tf.add(target, picked) as tf.Tensor1D };
      });
      tf.dispose([runMax, runSum, target].filter((t) => t !== null) as tf.Tensor[]);
      runMax = step.max as tf.Tensor1D;
      runSum = step.sum as tf.Tensor1D;
      target = step.target as tf.Tensor1D;
    }
    const lse = tf.add(runMax!, tf.log(runSum!)) as tf.Tensor1D; // (N,)
    const nll = tf.sub(lse, target);
    ce = tf.keep(tf.div(tf.sum(tf.mul(nll, flatWeights)), count) as tf.Scalar);
    let total: tf.Tensor = ce;
    if (opts.zLoss) {
      z = tf.keep(tf.mul(tf.mean(tf.square(lse)), Z_LOSS_COEF) as tf.Scalar);
      total = tf.add(total, z);
    }
    save([h, w, ...(bias ? [bias] : []), lse, flatLabels, flatWeights, count, rows]);
    return {
      value: tf.mul(total, opts.scale) as tf.Scalar,
      gradFunc: leanGradient((dy, saved) => {
        const [hs, ws] = saved as tf.Tensor2D[];
        const bs = hasBias ? saved[2] as tf.Tensor1D : null;
        const [lseS, savedLabels, savedWeights, savedCount, savedRows] = saved.slice(
          hasBias ? 3 : 2,
        ) as tf.Tensor1D[];
        // d loss / d logits = (softmax − onehot)·w/count [+ coef·2·lse/N·softmax] times
        // dy·scale; the logit scale carries over to the pre-scale logits.
        const outer = tf.mul(tf.mul(dy, opts.scale), head.scale); // scalar
        const ceCoef = tf.mul(tf.div(savedWeights, savedCount), outer); // (N,)
        const rowCoef = opts.zLoss
          ? tf.add(ceCoef, tf.mul(tf.mul(lseS, (2 * Z_LOSS_COEF) / n), outer))
          : ceCoef;
        let dh = tf.zeros([n, d]) as tf.Tensor2D;
        const dw: tf.Tensor[] = [];
        const db: tf.Tensor[] = [];
        for (const [start, end] of chunks) {
          const parts = tf.tidy(() => {
            const l = chunkLogits(hs, ws, bs, [start, end]); // recomputed (N, width)
            const probs = tf.exp(tf.sub(l, tf.expandDims(lseS, 1)));
            const scaled = tf.mul(probs, tf.expandDims(rowCoef, 1)); // (N, width)
            // − w/count at each row's label entry (rows whose label is elsewhere rewrite an
            // entry with its own value): a scatter instead of an (N, width) one-hot.
            const at = labelEntries(savedLabels, savedRows, start, end);
            const current = tf.gather(tf.reshape(scaled, [-1]), at.flatIdx); // (N,)
            const updated = tf.where(at.inside, tf.sub(current, ceCoef), current);
            const g = tf.tensorScatterUpdate(
              scaled,
              tf.stack([savedRows, at.column], 1),
              updated,
            ) as tf.Tensor2D; // (N, width)
            const wc = chunks.length === 1 ? ws : tf.slice(ws, [start, 0], [end - start, d]);
            return {
              dh: tf.add(dh, tf.matMul(g, wc)), // (N, d)
              dw: tf.matMul(g, hs, true, false), // (width, d)
              db: hasBias ? tf.reshape(tf.matMul(tf.ones([1, n]), g), [end - start]) : [],
            };
          });
          dh.dispose();
          dh = parts.dh as tf.Tensor2D;
          dw.push(parts.dw);
          if (hasBias) db.push(parts.db as tf.Tensor);
        }
        const grads = [
          tf.reshape(dh, [b, s, d]),
          dw.length === 1 ? dw[0] : tf.concat(dw, 0),
          ...(hasBias ? [db.length === 1 ? db[0] : tf.concat(db, 0)] : []),
        ];
        return grads;
      }),
    };
  });
  const inputs = [hidden, head.weight, ...(head.bias ? [head.bias] : [])];
  const loss = op(...inputs) as tf.Scalar;
  return { loss, ce: ce!, z };
}
