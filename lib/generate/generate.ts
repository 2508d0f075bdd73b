/**
 * `generate`: OLMo's `Olmo.generate` (`olmo/model.py`). Beam search over the model with a KV cache:
 * the first step runs the whole prompt, every later step one position per beam. The cache lives
 * in the beam-search state (`past_key_{i}` / `past_value_{i}`), so beam search reorders it by
 * backpointer along with the attention mask.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../config/model_config.ts";
import type { ForwardOptions, KeyValue, OlmoOutput } from "../model/types.ts";
import { BeamSearch, type BeamSearchOptions } from "./beam_search.ts";
import type { BeamSearchState } from "./search_state.ts";

/** What `generate` needs from a model (`Olmo` has it). */
export interface GenerationModel {
  /** The architecture; `eos_token_id`, `n_layers` and `max_sequence_length` are used. */
  readonly config: ModelConfig;
  /** OLMo's forward pass (`Olmo.forward`). */
  forward(inputIds: tf.Tensor2D, opts?: ForwardOptions): OlmoOutput;
}

/** Options of `generate`: the inputs besides the prompt, and the beam search's options. */
export interface GenerateOptions extends Omit<BeamSearchOptions, "maxSteps" | "beamSize"> {
  /** (B, S) padding mask of the prompt, 1 = token, 0 = padding. Pad on the **left**. */
  attentionMask?: tf.Tensor2D;
  /** (B, 1, L, L) attention bias with S + maxSteps ≤ L ≤ max_sequence_length. */
  attentionBias?: tf.Tensor4D;
  /** Maximum number of generated tokens (default 10). */
  maxSteps?: number;
  /** Beam width (default 1: greedy, or sampling with a sampler). */
  beamSize?: number;
}

/** Result of `generate`; the caller owns both tensors. */
export interface GenerateOutput {
  /** (B, beam, T ≤ maxSteps) int32 generated tokens (prompt excluded), best beam first. */
  tokenIds: tf.Tensor3D;
  /** (B, beam) sequence scores (summed log-probabilities under the default scorer). */
  scores: tf.Tensor2D;
}

/**
 * Generates continuations of `inputIds` (B, S) int32 with beam search; the end token is
 * `config.eos_token_id`. Inputs are not disposed. Batched prompts must be left-padded with an
 * `attentionMask` (right padding would make the model read a pad position).
 * @throws Error for a mask or bias of the wrong shape, or a bias too short for `maxSteps`.
 */
export async function generate(
  model: GenerationModel,
  inputIds: tf.Tensor2D,
  options: GenerateOptions = {},
): Promise<GenerateOutput> {
  const { attentionMask, attentionBias, ...searchOptions } = options;
  const beamSearch = new BeamSearch(model.config.eos_token_id, {
    ...searchOptions,
    maxSteps: options.maxSteps ?? 10,
    beamSize: options.beamSize ?? 1,
  });
  validateInputs(model.config, inputIds, attentionMask, attentionBias, beamSearch.maxSteps);
  const [batchSize] = inputIds.shape;

  // The search takes over the state's tensors, so it gets its own references.
  const state: BeamSearchState = { input_ids: tf.clone(inputIds) };
  if (attentionMask) state.attention_mask = tf.cast(attentionMask, "float32");
  if (attentionBias) state.attention_bias = tf.clone(attentionBias);

  const nLayers = model.config.n_layers;
  let tokensGenerated = 0;
  const step = (
    lastPredictions: tf.Tensor1D,
    state: BeamSearchState,
  ): [tf.Tensor2D, BeamSearchState] => {
    let mask = state.attention_mask as tf.Tensor2D | undefined;
    const bias = state.attention_bias;
    let input: tf.Tensor2D;
    let past: KeyValue[] | undefined;
    if (tokensGenerated > 0) {
      past = [];
      for (let i = 0; i < nLayers; i++) {
        past.push([state[`past_key_${i}`] as tf.Tensor4D, state[`past_value_${i}`] as tf.Tensor4D]);
      }
      input = tf.reshape(lastPredictions, [lastPredictions.shape[0], 1]); // (G, 1)
      if (mask) mask = tf.tidy(() => tf.concat([mask!, tf.ones([mask!.shape[0], 1])], 1)); // (G, S+t)
    } else {
      input = state.input_ids as tf.Tensor2D;
    }
    tokensGenerated++;
    const output = model.forward(input, {
      attentionMask: mask,
      attentionBias: bias,
      pastKeyValues: past,
      useCache: true,
      lastLogitsOnly: true,
    });
    if (input !== state.input_ids) input.dispose();
    const [groupSize, positions, numClasses] = output.logits.shape;
    const logProbs = tf.tidy(() =>
      tf.logSoftmax(
        tf.reshape(tf.slice(output.logits, [0, positions - 1, 0], [-1, 1, -1]), [
          groupSize,
          numClasses,
        ]),
      )
    ) as tf.Tensor2D; // (G, E)
    output.logits.dispose();
    if (!output.attnKeyValues) throw new Error("generate: the model returned no key/value cache");
    const next: BeamSearchState = {};
    output.attnKeyValues.forEach(([k, v], i) => {
      next[`past_key_${i}`] = k;
      next[`past_value_${i}`] = v;
    });
    if (mask) next.attention_mask = mask;
    if (bias) next.attention_bias = bias;
    return [logProbs, next];
  };

  const start = tf.zeros([batchSize], "int32") as tf.Tensor1D; // unused by the step, as in OLMo
  try {
    const { predictions, scores, state: finalState } = await beamSearch.search(start, state, step);
    tf.dispose(Object.values(finalState));
    return { tokenIds: predictions, scores };
  } finally {
    start.dispose();
  }
}

function validateInputs(
  config: ModelConfig,
  inputIds: tf.Tensor2D,
  mask: tf.Tensor2D | undefined,
  bias: tf.Tensor4D | undefined,
  maxSteps: number,
): void {
  if (inputIds.rank !== 2) {
    throw new Error(`generate: inputIds must be (batch, seq_len), got shape [${inputIds.shape}]`);
  }
  if (inputIds.dtype !== "int32") {
    throw new Error(`generate: inputIds must be int32, got ${inputIds.dtype}`);
  }
  const [batchSize, seqLen] = inputIds.shape;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== batchSize || mask.shape[1] !== seqLen)) {
    throw new Error(
      `generate: attentionMask must have shape [${batchSize}, ${seqLen}] (like inputIds), got [${mask.shape}]`,
    );
  }
  if (bias) {
    const [b, one, rows, cols] = bias.shape;
    const lengthOk = seqLen + maxSteps <= rows && rows === cols &&
      cols <= config.max_sequence_length;
    if (bias.rank !== 4 || b !== batchSize || one !== 1 || !lengthOk) {
      throw new Error(
        `generate: attentionBias must have shape [${batchSize}, 1, L, L] with ` +
          `${seqLen + maxSteps} (seq_len + maxSteps) ≤ L ≤ ${config.max_sequence_length} ` +
          `(max_sequence_length), got [${bias.shape}]`,
      );
    }
  }
}
