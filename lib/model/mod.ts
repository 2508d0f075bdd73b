/**
 * The OLMo model, pure tfjs: parameters, forward pass, its layers, initialisation, state-dict
 * compatibility and FLOPs. No file system, no backend start-up, no checkpoint or generation code
 * (that is `lib/facade`), so it also runs in a browser.
 *
 * @module
 */
export { Olmo } from "./olmo.ts";
export type { ForwardOptions, KeyValue, OlmoOptions, OlmoOutput, OutputHead } from "./types.ts";
export { effectiveKvHeads, modelDims, validateModelConfig } from "./dims.ts";
export type { ModelDims } from "./dims.ts";
export { blockPrefix, countParams, isEmbeddingParam, parameterSpecs } from "./params.ts";
export type { InitModuleType, ParamInit, ParamSpec } from "./params.ts";
export { initialValue, weightDistribution } from "./init.ts";
export type { WeightDistribution } from "./init.ts";
export { makeStateDictCompatible } from "./state_dict.ts";
export type { CompatibleStateDict } from "./state_dict.ts";
export { numFwdFlops, trainFlopsPerToken } from "./flops.ts";
export {
  alibiBias,
  alibiSlopes,
  buildAttentionBias,
  causalBias,
  FLOAT32_MIN,
} from "./attention_bias.ts";
export type { AttentionBiasInputs } from "./attention_bias.ts";
export { applyRope, ropeAngles } from "./rope.ts";
export { layerNorm } from "./layer_norm.ts";
export { activation, geluExact, swiglu } from "./activation.ts";
export { linear } from "./linear.ts";
export { embedding } from "./embedding.ts";
export { Rng } from "./random.ts";
