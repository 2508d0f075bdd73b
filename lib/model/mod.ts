/**
 * The OLMo model: parameters, forward pass, initialisation, state-dict compatibility and FLOPs.
 *
 * @module
 */
export { Olmo } from "./olmo.ts";
export type { ForwardOptions, OlmoOptions, OlmoOutput, OutputHead } from "./olmo.ts";
export type { KeyValue } from "./context.ts";
export { modelDims, validateModelConfig } from "./dims.ts";
export type { ModelDims } from "./dims.ts";
export { blockPrefix, countParams, isEmbeddingParam, parameterSpecs } from "./params.ts";
export type { InitModuleType, ParamInit, ParamSpec } from "./params.ts";
export { initialValue, weightDistribution } from "./init.ts";
export type { WeightDistribution } from "./init.ts";
export {
  groupName,
  makeStateDictCompatible,
  stateDictBlockGroupSize,
  ungroupName,
} from "./state_dict.ts";
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
export { applyRope, ropeAngles, ropeTables } from "./rope.ts";
export { LAYER_NORM_EPS, layerNorm } from "./layer_norm.ts";
export { activation, geluExact, swiglu } from "./activation.ts";
export { linear } from "./linear.ts";
export { fillNormal, Rng } from "./random.ts";
