/**
 * The layer a user of olmo-ts meets first, above the pure folders: `Olmo` with OLMo's
 * `from_checkpoint` and `generate` (checkpoint loading, explicit backend start-up, beam search),
 * and continuing a prompt with a checkpoint as `deno task generate` does. Everything here only
 * combines `model`, `checkpoint`, `generate`, `tokenizer` and `backend`.
 *
 * @module
 */
export type { FromCheckpointOptions } from "./olmo.ts";
export { Olmo } from "./olmo.ts";
export type { GenerateTextOptions, SamplerName } from "./generate_text.ts";
export { buildSampler, checkpointTokenizer, generateText, SAMPLER_NAMES } from "./generate_text.ts";
