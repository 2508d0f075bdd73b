/**
 * olmo-ts: pretrain, checkpoint, evaluate and sample from OLMo-architecture language models on
 * TensorFlow.js. This module re-exports the public API.
 *
 * @module
 */
export type { HostDType, HostTensor, NamedHostTensors } from "./lib/util/host_tensor.ts";
export {
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "./lib/checkpoint/safetensors.ts";
export { embedding } from "./lib/backend/embedding.ts";
export type { ModelConfig } from "./lib/config/model_config.ts";
export { defaultModelConfig } from "./lib/config/model_config.ts";
