/**
 * `max_duration` as OLMo later defined it (`olmo/train.py`, after commit 11470bce): a number of
 * optimizer steps, or a string — `"2e9T"` is a budget of 2e9 training tokens, any other numeric
 * string (`"1e4"`) is steps.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** A parsed `max_duration`: a step count or a token budget. */
export type Duration = { steps: number } | { tokens: number };

const NUMBER = /^\+?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Parses `max_duration`. Numbers must be non-negative integers; strings are `int(float(s))`
 * steps, or `int(float(s[:-1]))` tokens when they end in `T` (OLMo's rules).
 */
export function parseDuration(value: number | string): Duration {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0) return { steps: value };
    throw new ConfigError(`max_duration: expected a whole number of steps, got ${value}`);
  }
  const text = value.trim();
  const tokens = /[tT]$/.test(text);
  const digits = tokens ? text.slice(0, -1) : text;
  if (!NUMBER.test(digits)) {
    throw new ConfigError(
      `max_duration: expected a number of steps or a token budget like "2e9T", got '${value}'`,
    );
  }
  const n = Math.trunc(Number(digits));
  return tokens ? { tokens: n } : { steps: n };
}

/** What `durationToSteps` needs to turn a token budget into a step count. */
export interface DurationContext {
  /** Instances per optimizer step (`global_train_batch_size`). */
  globalTrainBatchSize: number;
  /** Tokens per instance (`model.max_sequence_length`). */
  sequenceLength: number;
  /** Steps already taken (after a restart); default 0. */
  globalStep?: number;
  /** Training tokens already seen (after a restart); default 0. */
  tokensSeen?: number;
}

/**
 * The step at which training ends: `steps` as given, or for a token budget
 * `globalStep + floor((tokens - tokensSeen) / (globalTrainBatchSize * sequenceLength))`.
 */
export function durationToSteps(duration: number | string, ctx: DurationContext): number {
  const d = parseDuration(duration);
  if ("steps" in d) return d.steps;
  const tokensPerStep = ctx.globalTrainBatchSize * ctx.sequenceLength;
  return (ctx.globalStep ?? 0) + Math.floor((d.tokens - (ctx.tokensSeen ?? 0)) / tokensPerStep);
}
