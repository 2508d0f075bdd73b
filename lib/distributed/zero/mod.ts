/**
 * ZeRO data parallelism (OLMo trains with FSDP): the one flat layout of the parameters that both
 * the in-memory shards and sharded checkpoints use (`layout.ts`), bucketed reduce-scatter and
 * all-gather over it (`flat_collectives.ts`), global norms, clipping and metrics from shards
 * (`norms.ts`), optimizer state cut into and gathered out of shards (`state.ts`, `gather.ts`),
 * and the strategy itself, `ZeroDataParallel` (`data_parallel.ts`).
 *
 * @module
 */
export type { FlatLayout, FlatParam, ShardRange, ShardSegment } from "./layout.ts";
export { flatLayout, layoutMismatch, shardSegments } from "./layout.ts";
export { allGatherFlat, DEFAULT_BUCKET_BYTES, reduceScatterFlat } from "./flat_collectives.ts";
export type { GlobalClipInput, GlobalNormsAndLoss, ShardBuffers, SplitTensor } from "./norms.ts";
export {
  clipWithGlobalNorms,
  globalNormsAndLoss,
  shardTensorMetrics,
  splitTensorMetrics,
} from "./norms.ts";
export type { ShardState } from "./state.ts";
export { gradNormEmasOf, pieceStateFromFull, pieceStateFromShard } from "./state.ts";
export type { GlobalStateFlags, ZeroShardView } from "./gather.ts";
export { globalStateFlags, zeroFullOptimizerState, zeroShardState } from "./gather.ts";
export type { ZeroOptions, ZeroSettings } from "./data_parallel.ts";
export { ZeroDataParallel } from "./data_parallel.ts";
