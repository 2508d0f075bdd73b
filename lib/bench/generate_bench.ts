/**
 * Decode-speed benchmark: tokens per second of greedy generation with the KV cache, batch 1, after
 * prompts of given lengths. The bench harness calls `benchGenerate` for each model config.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../config/model_config.ts";
import { Olmo } from "../model/olmo.ts";
import { Rng } from "../model/random.ts";
import { generate, type GenerationModel } from "../generate/generate.ts";

/** Options of `benchGenerate`. */
export interface BenchGenerateOptions {
  /** Prompt lengths to measure after (default [64, 512]). */
  contextLengths?: number[];
  /** Tokens generated per measurement (default 32; at least 2). */
  newTokens?: number;
  /** Seed of the random prompts (and of the model when built from a config). Default 0. */
  seed?: number;
  /** Run one short untimed generation first, e.g. to compile GPU kernels (default true). */
  warmup?: boolean;
}

/** One measurement of `benchGenerate`. */
export interface BenchGenerateResult {
  /** Prompt length. */
  contextLength: number;
  /** Tokens generated. */
  newTokens: number;
  /** Seconds of the first step: the prompt's forward pass and the first token. */
  prefillSeconds: number;
  /** Seconds of the remaining `newTokens - 1` single-position steps. */
  decodeSeconds: number;
  /** `(newTokens - 1) / decodeSeconds`. */
  decodeTokensPerSecond: number;
}

/**
 * Measures greedy decoding (batch 1, beam 1, KV cache) on the active tfjs backend. EOS is blocked
 * (`minSteps = newTokens`) so every run generates exactly `newTokens` tokens. Given a config, a
 * randomly initialised `Olmo` is built and disposed afterwards; a given model is left as is.
 * @throws Error when a context length plus `newTokens` exceeds `max_sequence_length`.
 */
export async function benchGenerate(
  modelOrConfig: GenerationModel | ModelConfig,
  options: BenchGenerateOptions = {},
): Promise<BenchGenerateResult[]> {
  const contextLengths = options.contextLengths ?? [64, 512];
  const newTokens = options.newTokens ?? 32;
  const seed = options.seed ?? 0;
  if (!(Number.isInteger(newTokens) && newTokens >= 2)) {
    throw new Error(`benchGenerate: newTokens must be an integer ≥ 2, got ${newTokens}`);
  }
  const owned = !("forward" in modelOrConfig);
  const model: GenerationModel = owned ? new Olmo(modelOrConfig, { seed }) : modelOrConfig;
  const { max_sequence_length: maxLength, vocab_size: vocabSize } = model.config;
  for (const length of contextLengths) {
    if (!(Number.isInteger(length) && length >= 1 && length + newTokens <= maxLength)) {
      throw new Error(
        `benchGenerate: context length ${length} + newTokens ${newTokens} must be between 2 and ` +
          `max_sequence_length (${maxLength})`,
      );
    }
  }
  const rng = new Rng(seed);
  const prompt = (length: number) =>
    tf.tensor2d(
      [Array.from({ length }, () => Math.floor(rng.next() * vocabSize))],
      undefined,
      "int32",
    );

  /** Generates `steps` tokens after a random prompt; returns each step's completion time. */
  const timedRun = async (length: number, steps: number): Promise<number[]> => {
    const ids = prompt(length);
    const times = [performance.now()];
    try {
      const out = await generate(model, ids, {
        maxSteps: steps,
        minSteps: steps,
        onPredictions: () => times.push(performance.now()),
      });
      tf.dispose([out.tokenIds, out.scores]);
    } finally {
      ids.dispose();
    }
    return times;
  };

  try {
    if (options.warmup ?? true) await timedRun(Math.min(...contextLengths), 2);
    const results: BenchGenerateResult[] = [];
    for (const contextLength of contextLengths) {
      const times = await timedRun(contextLength, newTokens);
      const prefillSeconds = (times[1] - times[0]) / 1000;
      const decodeSeconds = (times[times.length - 1] - times[1]) / 1000;
      results.push({
        contextLength,
        newTokens,
        prefillSeconds,
        decodeSeconds,
        decodeTokensPerSecond: (newTokens - 1) / decodeSeconds,
      });
    }
    return results;
  } finally {
    if (owned) (model as Olmo).dispose();
  }
}
