/**
 * Checkpoint I/O: safetensors, PyTorch `model.pt` (ZIP + restricted unpickler), remote folders
 * with a download cache, loading the model part of an unsharded checkpoint, trainer checkpoints
 * (sharded and unsharded), unsharding, and conversion between olmo-ts, OLMo and hf_olmo layouts.
 *
 * @module
 */
export type { SafetensorsContents } from "./safetensors.ts";
export {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "./safetensors.ts";
export { readTorchFile, readTorchStateDict, writeTorchStateDict } from "./torch_pt.ts";
export type { ResolveResourceOptions } from "./remote.ts";
export {
  cachePathFor,
  defaultCacheDir,
  isUrl,
  resolveResource,
  ResourceNotFoundError,
  toHttpUrl,
} from "./remote.ts";
export type { LoadModelCheckpointOptions, ModelCheckpoint } from "./load_model.ts";
export { loadModelCheckpoint, MODEL_WEIGHT_FILES } from "./load_model.ts";
export type {
  CheckpointManagerOptions,
  LoadCheckpointOptions,
  LoadedCheckpoint,
  ShardedSaveContents,
} from "./trainer_checkpoint.ts";
export { CheckpointManager, loadCheckpoint, unshardCheckpoint } from "./trainer_checkpoint.ts";
export type { JoinedShardedCheckpoint, ReadShardedOptions } from "./trainer_checkpoint_unshard.ts";
export {
  checkShardedCheckpointFiles,
  defaultUnshardedDir,
  readShardedCheckpoint,
} from "./trainer_checkpoint_unshard.ts";
export type { CheckpointForConversion, CheckpointLayout } from "./convert_read.ts";
export { detectCheckpointLayout, readCheckpointForConversion } from "./convert_read.ts";
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
export type { TrainerState } from "./trainer_checkpoint_state.ts";
export { parseTrainerState, readTrainerState } from "./trainer_checkpoint_state.ts";
export type {
  ConfigSource,
  UnshardedContents,
  UnshardedRead,
} from "./trainer_checkpoint_unsharded.ts";
export {
  CHECKPOINT_FORMAT_VERSION,
  readUnshardedFiles,
  writeUnshardedFiles,
} from "./trainer_checkpoint_unsharded.ts";
export type { RankShard, ShardLayout, ShardMetadata } from "./trainer_checkpoint_sharded.ts";
export {
  buildShardLayout,
  readRankShard,
  readShardMetadata,
  shardStateDicts,
  unshardRankShards,
  validateShardLayout,
  writeRankShard,
  writeShardMetadata,
} from "./trainer_checkpoint_sharded.ts";
export {
  checkpointDirName,
  LATEST_LINK,
  LATEST_UNSHARDED_LINK,
  parseCheckpointDirName,
  readLatest,
} from "./run_folder.ts";
/** OLMo's `find_latest_checkpoint` (highest step, sharded wins a tie), from the config module. */
export { findLatestCheckpoint } from "../config/resolvers.ts";
