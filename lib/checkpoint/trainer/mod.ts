/**
 * Trainer checkpoints (OLMo's `olmo/checkpoint.py` and the trainer's save/restore): the run
 * folder and its `step{N}(-unsharded)?` names (`run_folder.ts`, which also registers
 * `${path.last_checkpoint:DIR}`), what layout a folder holds (`detect.ts`), the save protocol
 * (`manager.ts`), the unsharded and sharded file layouts (`unsharded.ts`, `sharded.ts`, with
 * `shard_state.ts` cutting and joining shards), the trainer state (`state.ts`), restoring a
 * folder (`load.ts`), unsharding (`unshard.ts`), and the live run's side through its
 * data-parallel strategy (`training.ts`).
 *
 * @module
 */
export type { CheckpointLayout } from "./detect.ts";
export { detectCheckpointLayout } from "./detect.ts";
export type { LoadCheckpointOptions, LoadedCheckpoint } from "./load.ts";
export { loadCheckpoint } from "./load.ts";
export type { CheckpointManagerOptions, ShardedSaveContents } from "./manager.ts";
export { CheckpointManager } from "./manager.ts";
export {
  checkpointDirName,
  defaultUnshardedDir,
  findLatestCheckpoint,
  LATEST_LINK,
  LATEST_UNSHARDED_LINK,
  parseCheckpointDirName,
  readLatest,
} from "./run_folder.ts";
export { shardStateDicts, unshardRankShards } from "./shard_state.ts";
export type { RankShard, ShardMetadata } from "./sharded.ts";
export {
  parseShardLayout,
  readRankShard,
  readShardMetadata,
  writeRankShard,
  writeShardMetadata,
} from "./sharded.ts";
export type { TrainerState } from "./state.ts";
export { parseTrainerState, readTrainerState } from "./state.ts";
export type { SaveInputs } from "./training.ts";
export {
  applyTrainingCheckpoint,
  readTrainingCheckpoint,
  saveTrainingCheckpoint,
} from "./training.ts";
export type { JoinedShardedCheckpoint, ReadShardedOptions } from "./unshard.ts";
export {
  checkShardedCheckpointFiles,
  readShardedCheckpoint,
  unshardCheckpoint,
} from "./unshard.ts";
export type { ConfigSource, UnshardedContents, UnshardedRead } from "./unsharded.ts";
export { CHECKPOINT_FORMAT_VERSION, readUnshardedFiles, writeUnshardedFiles } from "./unsharded.ts";
