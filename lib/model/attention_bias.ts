/**
 * The additive attention bias OLMo builds in `Olmo.forward`: causal and
 * ALiBi biases, user-supplied biases, padding masks, and `ensure_finite_`.
 *
 * OLMo builds an (L, L) bias and each block slices rows `[key_len-query_len, key_len)` and
 * columns `[0, key_len)`. Only those rows are built here; the values are identical.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** `torch.finfo(torch.float32).min`, the value OLMo uses for masked positions. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/** ALiBi slope of each head: `1 / 2^m_h` with `m_h = (h+1) · alibi_bias_max / n_heads`. */
export function alibiSlopes(nHeads: number, alibiBiasMax: number): Float32Array {
  const f = Math.fround;
  const step = f(alibiBiasMax / nHeads);
  const slopes = new Float32Array(nHeads);
  for (let h = 0; h < nHeads; h++) slopes[h] = f(1 / f(2 ** f((h + 1) * step)));
  return slopes;
}

/**
 * Causal bias rows `[K-Q, K)` of OLMo's `causal_attention_bias`: `FLOAT32_MIN` where the key is
 * after the query, 0 elsewhere. Shape (1, 1, Q, K). Built on the host: a handful of integer
 * comparisons per entry cost far less than a chain of broadcasting tensor ops.
 */
export function causalBias(queryLen: number, keyLen: number): tf.Tensor4D {
  const values = new Float32Array(queryLen * keyLen);
  for (let q = 0; q < queryLen; q++) {
    const row = keyLen - queryLen + q; // absolute query position
    values.fill(FLOAT32_MIN, q * keyLen + row + 1, (q + 1) * keyLen);
  }
  return tf.tensor4d(values, [1, 1, queryLen, keyLen]);
}

/**
 * ALiBi bias rows `[K-Q, K)`: `-|j - i| · slope_h`, shape (1, n_heads, Q, K), each entry the
 * float32 product of the integer distance and the float32 slope (as OLMo computes it).
 */
export function alibiBias(
  nHeads: number,
  alibiBiasMax: number,
  queryLen: number,
  keyLen: number,
): tf.Tensor4D {
  const slopes = alibiSlopes(nHeads, alibiBiasMax);
  const values = new Float32Array(nHeads * queryLen * keyLen);
  let i = 0;
  for (let h = 0; h < nHeads; h++) {
    for (let q = 0; q < queryLen; q++) {
      const row = keyLen - queryLen + q;
      for (let k = 0; k < keyLen; k++) values[i++] = Math.fround(-Math.abs(k - row) * slopes[h]);
    }
  }
  return tf.tensor4d(values, [1, nHeads, queryLen, keyLen]);
}

/** Inputs of `buildAttentionBias`. */
export interface AttentionBiasInputs {
  /** Batch size B. */
  batchSize: number;
  /** New positions Q (the input length). */
  queryLen: number;
  /** Cached positions P; the key length is K = P + Q. */
  pastLength: number;
  /** (B, K) padding mask, 1 = keep, any dtype. */
  attentionMask?: tf.Tensor;
  /**
   * User bias (b, h, ≥K, ≥K) with b ∈ {1, B}, h ∈ {1, n_heads}, or (≥K, ≥K). bool and int32
   * (tfjs' stand-in for OLMo's int8) are allow-masks: 0 becomes `FLOAT32_MIN`, other values are
   * used as floats. A float32 bias is added as is.
   */
  attentionBias?: tf.Tensor;
  /** Attention heads (valid sizes of a user bias' second axis are 1 and this). */
  nHeads: number;
  /** ALiBi settings, or null without ALiBi. */
  alibi: { biasMax: number } | null;
}

function userBias(bias: tf.Tensor, inputs: AttentionBiasInputs, keyLen: number): tf.Tensor4D {
  const { batchSize, nHeads, queryLen } = inputs;
  if (bias.rank !== 2 && bias.rank !== 4) {
    throw new Error(`attentionBias: expected rank 2 or 4, got shape [${bias.shape}]`);
  }
  const b4 = bias.rank === 2 ? tf.reshape(bias, [1, 1, ...bias.shape]) : bias;
  const [batch, heads, rows, cols] = b4.shape;
  if ((batch !== 1 && batch !== batchSize) || (heads !== 1 && heads !== nHeads)) {
    throw new Error(
      `attentionBias: shape [${bias.shape}] does not broadcast over batch ${batchSize} ` +
        `and ${nHeads} heads (first two axes must be 1 or those sizes)`,
    );
  }
  if (rows < keyLen || cols < keyLen) {
    throw new Error(
      `attentionBias: shape [${bias.shape}] is smaller than the ${keyLen} x ${keyLen} ` +
        "positions (past + input) it must cover",
    );
  }
  let f = tf.slice(b4, [0, 0, keyLen - queryLen, 0], [-1, -1, queryLen, keyLen]) as tf.Tensor4D;
  if (bias.dtype === "bool" || bias.dtype === "int32") {
    f = tf.cast(f, "float32");
    f = tf.where(tf.equal(f, 0), tf.fill(f.shape, FLOAT32_MIN), f);
  } else if (bias.dtype !== "float32") {
    throw new Error(`attentionBias: unsupported dtype ${bias.dtype}`);
  }
  return f;
}

/**
 * The bias every block adds to its attention scores, shape (1 or B, 1 or n_heads, Q, K):
 * the user bias or `causal (+ alibi)`, plus `(1 - mask)·FLOAT32_MIN` for a padding mask, with
 * -inf (FLOAT32_MIN + FLOAT32_MIN) clamped back to FLOAT32_MIN as OLMo's `ensure_finite_` does.
 *
 * When OLMo builds no bias (no mask, user bias, ALiBi or cache) it runs causal SDPA, which is
 * the plain causal bias returned here.
 */
export function buildAttentionBias(inputs: AttentionBiasInputs): tf.Tensor4D {
  const { batchSize, queryLen, pastLength, attentionMask, attentionBias, alibi, nHeads } = inputs;
  const keyLen = pastLength + queryLen;
  return tf.tidy(() => {
    let bias: tf.Tensor4D;
    if (attentionBias) bias = userBias(attentionBias, inputs, keyLen);
    else {
      bias = causalBias(queryLen, keyLen);
      if (alibi) bias = tf.add(bias, alibiBias(nHeads, alibi.biasMax, queryLen, keyLen));
    }
    if (attentionMask) {
      if (attentionMask.rank !== 2 || attentionMask.shape[0] !== batchSize) {
        throw new Error(
          `attentionMask: expected shape [${batchSize}, ${keyLen}], got [${attentionMask.shape}]`,
        );
      }
      if (attentionMask.shape[1] !== keyLen) {
        throw new Error(
          `attentionMask: has ${attentionMask.shape[1]} columns but past (${pastLength}) + ` +
            `input (${queryLen}) = ${keyLen} positions; the mask must cover the cache too`,
        );
      }
      const keep = tf.cast(attentionMask, "float32");
      const maskBias = tf.reshape(tf.mul(tf.sub(1, keep), FLOAT32_MIN), [batchSize, 1, 1, keyLen]);
      // ensure_finite_: FLOAT32_MIN + FLOAT32_MIN overflows to -inf; clamp it back.
      bias = tf.maximum(tf.add(bias, maskBias), FLOAT32_MIN);
    }
    return bias;
  });
}
