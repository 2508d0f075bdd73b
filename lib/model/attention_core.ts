/**
 * The core of scaled dot-product attention, `softmax(q·kᵀ/√hd + bias)·v`, as one custom op with
 * its gradient written out (the numerics of OLMo's `OlmoBlock._scaled_dot_product_attention`:
 * float32 softmax, q scaled before the product).
 *
 * Autodiff would keep the scaled scores, the biased scores and the probabilities, each
 * (B, heads, Q, K), plus as many gradients of that size; this op keeps only the probabilities
 * and runs the backward pass as four batched matmuls and one softmax-gradient chain.
 *
 * Multi-query attention (one key/value head) folds the query heads into the rows of a single
 * product, so the key/value gradients sum over heads.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leanGradient } from "../util/lean_grad.ts";

/** `q @ kᵀ` for q (B, nh, Q, hd) and k (B, kvHeads, K, hd) → (B, nh, Q, K). */
export function scores(q: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D {
  const [b, nh, ql, hd] = q.shape;
  const kl = k.shape[2];
  if (k.shape[1] === nh) return tf.matMul(q, k, false, true);
  // Multi-query: one key head shared by all query heads; fold the heads into the rows.
  const s = tf.matMul(tf.reshape(q, [b, nh * ql, hd]), tf.reshape(k, [b, kl, hd]), false, true);
  return tf.reshape(s, [b, nh, ql, kl]);
}

/** `p @ v` for p (B, nh, Q, K) and v (B, kvHeads, K, hd) → (B, nh, Q, hd). */
export function weightedValues(p: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  const [b, nh, ql, kl] = p.shape;
  const hd = v.shape[3];
  if (v.shape[1] === nh) return tf.matMul(p, v);
  const out = tf.matMul(tf.reshape(p, [b, nh * ql, kl]), tf.reshape(v, [b, kl, hd]));
  return tf.reshape(out, [b, nh, ql, hd]);
}

/**
 * `pᵀ @ x` for p (B, nh, Q, K) and x (B, nh, Q, d) → (B, kvHeads, K, d), summing over the
 * query heads when `kvHeads` is 1 (the gradient of a shared key/value head).
 */
function transposedProduct(p: tf.Tensor4D, x: tf.Tensor4D, kvHeads: number): tf.Tensor4D {
  const [b, nh, ql, kl] = p.shape;
  const d = x.shape[3];
  if (kvHeads === nh) return tf.matMul(p, x, true, false);
  const out = tf.matMul(
    tf.reshape(p, [b, nh * ql, kl]),
    tf.reshape(x, [b, nh * ql, d]),
    true,
    false,
  );
  return tf.reshape(out, [b, 1, kl, d]);
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
