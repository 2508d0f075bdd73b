/**
 * Generation: OLMo's beam search with its samplers, final scorers and constraints, and
 * `generate` (beam search over the model with a KV cache), plus streaming detokenisation.
 *
 * @module
 */
export { BeamSearch } from "./beam_search.ts";
export type { BeamSearchOptions, BeamSearchResult } from "./beam_search.ts";
export type {
  BeamSearchState,
  StepFunction,
  StepResult,
  StepWithoutTimestep,
  StepWithTimestep,
} from "./search_state.ts";
export {
  DeterministicSampler,
  GumbelSampler,
  MultinomialSampler,
  Sampler,
  TopKSampler,
  TopPSampler,
} from "./samplers.ts";
export type {
  GumbelSamplerOptions,
  SamplerSelection,
  SamplerState,
  StochasticSamplerOptions,
  TopKSamplerOptions,
  TopPSamplerOptions,
} from "./samplers.ts";
export {
  LengthNormalizedSequenceLogProbabilityScorer,
  SequenceLogProbabilityScorer,
} from "./scorers.ts";
export type { FinalSequenceScorer, HostPredictions } from "./scorers.ts";
export { Constraint, RepeatedNGramBlockingConstraint } from "./constraints.ts";
export type { ConstraintState, NGramBeamState } from "./constraints.ts";
export type { Float32Matrix, Int32Matrix } from "./host_matrix.ts";
export { generate } from "./generate.ts";
export type { GenerateOptions, GenerateOutput, GenerationModel } from "./generate.ts";
export { IncrementalDecoder } from "./text_stream.ts";
