/**
 * The trainer's progress counters (OLMo `Trainer.global_step` & co. in `olmo/train.py`) and how
 * they go into and come out of a checkpoint's trainer state (OLMo
 * `Trainer.load_trainer_state_dict`).
 *
 * Randomness during training is dropout only (initialisation happens before step 1 and the data
 * order is a pure function of the seed). Dropout masks are drawn from a generator reseeded at
 * every micro-batch from `(seed, step, rank, micro-batch)`, so a restart reproduces them without
 * saving generator state; the trainer state records that scheme under `rng`.
 *
 * @module
 */
import type { TrainerState } from "../checkpoint/trainer/state.ts";

/** OLMo's trainer counters. */
export interface TrainCounters {
  /** Optimizer steps taken; steps are 1-based (the first step is 1). */
  globalStep: number;
  /** Batches consumed from the data loader. */
  globalDataStep: number;
  /** Training instances consumed over all ranks (the data loader's start index on restart). */
  globalTrainExamplesSeen: number;
  /** Training tokens consumed over all ranks. */
  globalTrainTokensSeen: number;
}

/** The `rng` entry of the trainer state: how dropout masks are seeded. */
export interface DropoutRngState {
  /** Always `per-micro-batch`: seeds derive from (seed, step, rank, micro-batch). */
  scheme: "per-micro-batch";
  /** The run's `seed`. */
  seed: number;
}

/** Counters of a run that has not started. */
export function initialCounters(): TrainCounters {
  return { globalStep: 0, globalDataStep: 0, globalTrainExamplesSeen: 0, globalTrainTokensSeen: 0 };
}

/** The counters after one more optimizer step of `globalBatchSize` instances of `seqLen`. */
export function advanceCounters(
  c: TrainCounters,
  globalBatchSize: number,
  seqLen: number,
): TrainCounters {
  return {
    globalStep: c.globalStep + 1,
    globalDataStep: c.globalDataStep + 1,
    globalTrainExamplesSeen: c.globalTrainExamplesSeen + globalBatchSize,
    globalTrainTokensSeen: c.globalTrainTokensSeen + globalBatchSize * seqLen,
  };
}

/** The trainer state to save (the checkpoint lists are filled in by the `CheckpointManager`). */
export function trainerStateOf(c: TrainCounters, worldSize: number, seed: number): TrainerState {
  const rng: DropoutRngState = { scheme: "per-micro-batch", seed };
  return {
    global_step: c.globalStep,
    global_data_step: c.globalDataStep,
    global_train_examples_seen: c.globalTrainExamplesSeen,
    global_train_tokens_seen: c.globalTrainTokensSeen,
    world_size: worldSize,
    checkpoints: [],
    unsharded_checkpoints: [],
    rng,
  };
}

/** The config fields OLMo's `load_trainer_state_dict` reads. */
export interface RestoreSettings {
  /** `restore_dataloader`: false restarts the data at example 0. */
  restoreDataloader: boolean;
  /** `fast_forward_batches`: skip this many more global batches. */
  fastForwardBatches: number | null;
  /** `global_train_batch_size`. */
  globalBatchSize: number;
  /** `model.max_sequence_length`. */
  seqLen: number;
}

/**
 * The counters a restored trainer state gives (OLMo's `load_trainer_state_dict`): the step is
 * kept; the data position is zeroed without `restore_dataloader` and moved by
 * `fast_forward_batches` (tokens seen unchanged, as in OLMo).
 */
export function countersFromState(state: TrainerState, s: RestoreSettings): TrainCounters {
  const c: TrainCounters = {
    globalStep: state.global_step,
    globalDataStep: state.global_data_step,
    globalTrainExamplesSeen: state.global_train_examples_seen,
    globalTrainTokensSeen: state.global_train_tokens_seen,
  };
  if (!s.restoreDataloader) {
    c.globalDataStep = 0;
    c.globalTrainExamplesSeen = 0;
    c.globalTrainTokensSeen = 0;
  }
  if (s.fastForwardBatches !== null && s.fastForwardBatches > 0) {
    c.globalDataStep += s.fastForwardBatches;
    c.globalTrainExamplesSeen += s.fastForwardBatches * s.globalBatchSize;
  }
  return c;
}

/** A 32-bit mix of the inputs (murmur3 finaliser over each word). */
function mix32(words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    let k = Math.imul(w >>> 0, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The dropout seed of one micro-batch: a function of (seed, step, rank, micro-batch) only. */
export function dropoutSeed(seed: number, step: number, rank: number, micro: number): number {
  return mix32([seed >>> 0, Math.floor(seed / 2 ** 32), step, rank, micro]);
}
