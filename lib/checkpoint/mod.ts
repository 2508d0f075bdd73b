/**
 * Checkpoints: file formats (`formats/`: safetensors, PyTorch `model.pt`), trainer checkpoints
 * (`trainer/`: run folders, sharded and unsharded layouts, saving, restoring, unsharding),
 * remote folders with a download cache, loading the model part of an unsharded checkpoint, and
 * conversion between olmo-ts, OLMo and hf_olmo layouts.
 *
 * @module
 */
export * from "./formats/mod.ts";
export type { ResolveResourceOptions } from "./remote.ts";
export {
  cachePathFor,
  defaultCacheDir,
  resolveResource,
  ResourceNotFoundError,
  toHttpUrl,
} from "./remote.ts";
export type { LoadModelCheckpointOptions, ModelCheckpoint } from "./load_model.ts";
export { loadModelCheckpoint, MODEL_WEIGHT_FILES } from "./load_model.ts";
export * from "./trainer/mod.ts";
export type { CheckpointForConversion } from "./convert_read.ts";
export { readCheckpointForConversion } from "./convert_read.ts";
export type { ConvertOptions, ConvertResult, ConvertTarget } from "./convert.ts";
export { CONVERT_TARGETS, convertCheckpoint } from "./convert.ts";
export {
  HF_ARCHITECTURES,
  HF_CONFIG_FILE,
  HF_MODEL_TYPE,
  HF_TOKENIZER_CLASS,
  HF_TOKENIZER_FILES,
  hfConfigJson,
  hfTokenizerFiles,
  isOlmoHfConfig,
} from "./hf_layout.ts";
export type { HfTransformersConfig, HfTransformersLayout } from "./hf_transformers/config.ts";
export {
  detectHfTransformersLayout,
  hfConfigFromModel,
  modelConfigFromHf,
} from "./hf_transformers/config.ts";
export type { HfTransformersCheckpoint } from "./hf_transformers/folder.ts";
export { readHfTransformersFolder, writeHfTransformersFolder } from "./hf_transformers/folder.ts";
export { cachedHubSnapshot, hubIdOf } from "./hf_transformers/hub_cache.ts";
export { hfTransformersFolder } from "./hf_transformers/locate.ts";
