/**
 * OLMo's language-modelling losses with a hand-written gradient.
 *
 * Next-token cross-entropy is computed over all S positions of (B, S, E) logits: position t is
 * labelled with token t+1 and the last position gets weight 0. This equals OLMo's
 * `cross_entropy(logits[..., :-1, :], labels[..., 1:], ignore_index=-100)` without copying the
 * logits into a sliced tensor. The gradient is `softmax - onehot` written directly, which avoids
 * `tf.gather`'s gradient (missing on wasm, slow on cpu) and a (N, E) one-hot in the forward pass.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { accurateMean, accurateSum } from "../backend/accurate_sum.ts";
import { leanGradient } from "../util/lean_grad.ts";

/**
 * PaLM's z-loss coefficient used by OLMo (`softmax_auxiliary_loss`); OLMo later makes it
 * `auxiliary_loss_multiplier`, with this default.
 */
export const Z_LOSS_COEF = 1e-4;

/** Differentiable training loss and its parts (all scalars). */
export interface LmLoss {
  /** `(ce + z) * scale`: what is back-propagated. */
  loss: tf.Scalar;
  /** Token-mean next-token cross-entropy over the labelled positions (unscaled). */
  ce: tf.Scalar;
  /** `coef * mean(logsumexp(logits)^2)` over all B·S positions (unscaled), or null. */
  z: tf.Scalar | null;
}

/**
 * Builds next-token labels and weights from input ids and an optional attention mask:
 * `labels[b, t] = inputIds[b, t+1]`, `weights[b, t] = mask[b, t+1]` (1 without a mask) and 0 at
 * the last position — OLMo's "−100 where attention_mask is 0, then shift".
 */
export function nextTokenTargets(
  inputIds: tf.Tensor2D, // (B, S)
  attentionMask?: tf.Tensor2D, // (B, S), 1 = keep
): { labels: tf.Tensor2D; weights: tf.Tensor2D } {
  return tf.tidy(() => {
    const [b, s] = inputIds.shape;
    const ids = inputIds.dtype === "int32" ? inputIds : tf.cast(inputIds, "int32");
    const labels = tf.concat([tf.slice(ids, [0, 1], [b, s - 1]), tf.zeros([b, 1], "int32")], 1);
    const keep = attentionMask
      ? tf.slice(tf.cast(attentionMask, "float32"), [0, 1], [b, s - 1])
      : tf.ones([b, s - 1]);
    const weights = tf.concat([keep, tf.zeros([b, 1])], 1);
    return { labels: labels as tf.Tensor2D, weights: weights as tf.Tensor2D };
  });
}

/** Per-position `logsumexp` and negative log-likelihood of the label: both (N,). */
function nllAndLse(logits2d: tf.Tensor2D, labels: tf.Tensor1D): [tf.Tensor1D, tf.Tensor1D] {
  const [n, e] = logits2d.shape;
  const lse = tf.logSumExp(logits2d, 1) as tf.Tensor1D; // (N,)
  const flatIdx = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(e, "int32")), labels);
  const target = tf.gather(tf.reshape(logits2d, [-1]), flatIdx) as tf.Tensor1D; // (N,)
  return [tf.sub(lse, target), lse];
}

/**
 * OLMo's training loss for one micro-batch: token-mean CE (+ optional z-loss), multiplied by
 * `scale` (1 / number of micro-batches) for gradient accumulation.
 * Must be called inside a gradient scope (e.g. `tf.variableGrads`); `ce` and `z` are kept so they
 * survive the scope and must be disposed by the caller.
 */
export function lmTrainingLoss(
  logits: tf.Tensor3D, // (B, S, E)
  labels: tf.Tensor2D, // (B, S) int32
  weights: tf.Tensor2D, // (B, S) float32, 0 = ignored
  opts: { zLoss: boolean; scale: number; zLossMultiplier?: number },
): LmLoss {
  const [b, s, e] = logits.shape;
  const n = b * s;
  const zCoef = opts.zLossMultiplier ?? Z_LOSS_COEF;
  const flatLabels = tf.reshape(labels, [n]) as tf.Tensor1D;
  const flatWeights = tf.reshape(weights, [n]) as tf.Tensor1D;
  const count = tf.maximum(tf.sum(flatWeights), 1); // labelled tokens
  let ce: tf.Scalar | null = null;
  let z: tf.Scalar | null = null;
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = tf.reshape(args[0] as tf.Tensor, [n, e]) as tf.Tensor2D; // (N, E)
    const save = args[1] as tf.GradSaveFunc;
    const [nll, lse] = nllAndLse(x, flatLabels);
    ce = tf.keep(tf.div(accurateSum(tf.mul(nll, flatWeights)), count) as tf.Scalar);
    let total: tf.Tensor = ce;
    if (opts.zLoss) {
      z = tf.keep(tf.mul(accurateMean(tf.square(lse)), zCoef) as tf.Scalar);
      total = tf.add(total, z);
    }
    // Tensors used by the gradient must be saved: the forward scope disposes everything else.
    save([x, lse, flatLabels, flatWeights, count]);
    return {
      value: tf.mul(total, opts.scale) as tf.Scalar,
      gradFunc: leanGradient((dy, saved) => {
        const [xs, lseS, savedLabels, savedWeights, savedCount] = saved;
        // d loss / d x = (softmax − onehot)·w/count [+ coef·2·lse/N·softmax], times dy·scale.
        // Built as softmax·rowCoef, then the label entries corrected in place of a one-hot, so
        // at most three (N, E) buffers are alive at once (the logits can be 100s of MiB).
        const outer = tf.mul(dy, opts.scale); // scalar
        const ceCoef = tf.mul(tf.div(savedWeights, savedCount), outer); // (N,)
        const rowCoef = opts.zLoss // (N,)
          ? tf.add(ceCoef, tf.mul(tf.mul(lseS, (2 * zCoef) / n), outer))
          : ceCoef;
        const probs = tf.tidy(() => tf.exp(tf.sub(xs, tf.expandDims(lseS, 1)))); // (N, E)
        xs.dispose(); // the saved logits are not needed any more
        const scaled = tf.mul(probs, tf.expandDims(rowCoef, 1)); // (N, E)
        probs.dispose();
        const rowsIdx = tf.range(0, n, 1, "int32");
        const flatIdx = tf.add(tf.mul(rowsIdx, tf.scalar(e, "int32")), savedLabels);
        const atLabel = tf.sub(tf.gather(tf.reshape(scaled, [-1]), flatIdx), ceCoef); // (N,)
        const idx = tf.stack([rowsIdx, savedLabels as tf.Tensor1D], 1); // (N, 2)
        const grad = tf.tensorScatterUpdate(scaled, idx, atLabel); // (N, E)
        scaled.dispose();
        return tf.reshape(grad, [b, s, e]);
      }),
    };
  });
  const loss = fused(logits) as tf.Scalar;
  return { loss, ce: ce!, z };
}

/**
 * OLMo's evaluation loss: per-sequence mean of the next-token NLL over all S−1 positions, where
 * positions masked out by the attention mask count as 0 (not excluded). Returns (B,).
 */
export function perSequenceEvalLoss(
  logits: tf.Tensor3D, // (B, S, E)
  labels: tf.Tensor2D, // (B, S) int32
  weights: tf.Tensor2D, // (B, S)
): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, s, e] = logits.shape;
    const [nll] = nllAndLse(
      tf.reshape(logits, [b * s, e]) as tf.Tensor2D,
      tf.reshape(labels, [b * s]) as tf.Tensor1D,
    );
    const perPos = tf.reshape(tf.mul(nll, tf.reshape(weights, [b * s])), [b, s]);
    return tf.div(tf.sum(perPos, 1), s - 1) as tf.Tensor1D;
  });
}
