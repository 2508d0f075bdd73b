/**
 * The core of scaled dot-product attention, `softmax(q·kᵀ/√hd + bias)·v`, as one custom op with
 * its gradient written out (the numerics of OLMo's `OlmoBlock._scaled_dot_product_attention`:
 * float32 softmax, q scaled before the product).
 *
 * Autodiff would keep the scaled scores, the biased scores and the probabilities, each
 * (B, heads, Q, K), plus as many gradients of that size; this op keeps only the probabilities
 * and runs the backward pass as four batched matmuls and one softmax-gradient chain.
 *
 * Grouped-query and multi-query attention fold the query heads sharing a key/value head into
 * the rows of one product, so the key/value gradients sum over those heads.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leanGradient } from "../util/lean_grad.ts";

/**
 * Grouped-query attention (and multi-query, one group) folds the query heads of each key/value
 * head into the rows of one product: q (B, g·r, Q, hd) is viewed as (B·g, r·Q, hd), since query
 * head h uses key/value head `floor(h / r)` (torch's `repeat_interleave`).
 */
function grouped(x: tf.Tensor4D, kvHeads: number): tf.Tensor3D {
  const [b, nh, rows, cols] = x.shape;
  return tf.reshape(x, [b * kvHeads, (nh / kvHeads) * rows, cols]);
}

/** `q @ kᵀ` for q (B, nh, Q, hd) and k (B, kvHeads, K, hd) → (B, nh, Q, K). */
export function scores(q: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D {
  const [b, nh, ql] = q.shape;
  const [, g, kl, hd] = k.shape;
  if (g === nh) return tf.matMul(q, k, false, true);
  const s = tf.matMul(grouped(q, g), tf.reshape(k, [b * g, kl, hd]), false, true);
  return tf.reshape(s, [b, nh, ql, kl]);
}

/** `p @ v` for p (B, nh, Q, K) and v (B, kvHeads, K, hd) → (B, nh, Q, hd). */
export function weightedValues(p: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  const [b, nh, ql] = p.shape;
  const [, g, kl, hd] = v.shape;
  if (g === nh) return tf.matMul(p, v);
  const out = tf.matMul(grouped(p, g), tf.reshape(v, [b * g, kl, hd]));
  return tf.reshape(out, [b, nh, ql, hd]);
}

/**
 * `pᵀ @ x` for p (B, nh, Q, K) and x (B, nh, Q, d) → (B, kvHeads, K, d), summing over the
 * query heads of each group when `kvHeads` < nh (the gradient of a shared key/value head).
 */
function transposedProduct(p: tf.Tensor4D, x: tf.Tensor4D, kvHeads: number): tf.Tensor4D {
  const [b, nh, , kl] = p.shape;
  const d = x.shape[3];
  if (kvHeads === nh) return tf.matMul(p, x, true, false);
  const out = tf.matMul(grouped(p, kvHeads), grouped(x, kvHeads), true, false); // (B·g, K, d)
  return tf.reshape(out, [b, kvHeads, kl, d]);
}

/**
 * Attention probabilities times values for q (B, nh, Q, hd), k and v (B, kvHeads, K, hd) and an
 * additive `bias` broadcastable to (B, nh, Q, K); returns (B, nh, Q, hd). Differentiable with
 * respect to q, k and v (the bias is a constant of the forward pass).
 */
export function attentionCore(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor4D,
): tf.Tensor4D {
  const scale = 1 / Math.sqrt(q.shape[3]);
  const kvHeads = k.shape[1];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qh, kh, vh] = args as tf.Tensor4D[];
    const save = args[3] as tf.GradSaveFunc;
    // q is scaled first (fewer elements than the scores), as in the unfused computation.
    const qScaled = tf.mul(qh, scale) as tf.Tensor4D;
    const logits = tf.add(scores(qScaled, kh), bias) as tf.Tensor4D; // (B, nh, Q, K)
    const probs = tf.softmax(logits) as tf.Tensor4D;
    save([qScaled, kh, vh, probs]);
    return {
      value: weightedValues(probs, vh), // (B, nh, Q, hd)
      gradFunc: leanGradient((dy, saved) => {
        const dOut = dy as tf.Tensor4D;
        const [qs, ks, vs, p] = saved as tf.Tensor4D[];
        const dProbs = scores(dOut, vs); // dOut · vᵀ, (B, nh, Q, K)
        const dv = transposedProduct(p, dOut, kvHeads); // pᵀ · dOut
        // softmax gradient: p · (dp − Σ dp·p)
        const dLogits = tf.mul(p, tf.sub(dProbs, tf.sum(tf.mul(dProbs, p), -1, true)));
        const dq = tf.mul(weightedValues(dLogits as tf.Tensor4D, ks), scale); // dS · k · scale
        const dk = transposedProduct(dLogits as tf.Tensor4D, qs, kvHeads); // dSᵀ · q_scaled
        return [dq, dk, dv];
      }),
    };
  });
  return op(q, k, v) as tf.Tensor4D;
}
