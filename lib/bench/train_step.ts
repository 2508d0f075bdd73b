/**
 * One OLMo training step on random tokens, run by the trainer's own `runTrainStep`: forward,
 * next-token loss, backward, clipping (with its one device read) and the optimizer update. The
 * harness times and profiles this step.
 *
 * @module
 */
import type { TrainConfig } from "../config/train_config.ts";
import type { CollatedBatch } from "../data/collator.ts";
import { LocalDataParallel } from "../distributed/data_parallel.ts";
import { Olmo } from "../model/olmo.ts";
import { Rng } from "../model/random.ts";
import { createOptimizer, type Optimizer } from "../optim/mod.ts";
import { runTrainStep } from "../train/train_step.ts";

/** A model, its optimizer and a source of random batches of the config's shape. */
export interface TrainStepRig {
  /** The model (randomly initialised from the seed). */
  readonly model: Olmo;
  /** The configured optimizer over `model.params`. */
  readonly optimizer: Optimizer;
  /** Sequences per step (`device_train_microbatch_size`). */
  readonly batchSize: number;
  /** Tokens per sequence (`model.max_sequence_length`). */
  readonly seqLen: number;
  /** Runs one full step on a fresh random batch; resolves to the step's cross-entropy. */
  step(): Promise<number>;
  /** Frees the model and the optimizer state. */
  dispose(): void;
}

/** Options of {@link buildTrainStep}. */
export interface TrainStepOptions {
  /** Model and data seed (default the config's `seed`). */
  seed?: number;
}

/** A (B, S) batch of random token ids in `[0, vocab)`, as the data loader delivers it. */
export function randomBatch(rng: Rng, batch: number, seqLen: number, vocab: number): CollatedBatch {
  const ids = new Int32Array(batch * seqLen);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rng.next() * vocab);
  return { inputIds: { dtype: "int32", shape: [batch, seqLen], data: ids } };
}

/**
 * Builds the model and optimizer of `cfg` on the active backend. One step is one micro-batch of
 * `device_train_microbatch_size` × `model.max_sequence_length` tokens at the configured learning
 * rate, with the config's clipping and z-loss settings; dropout runs in training mode.
 */
export function buildTrainStep(cfg: TrainConfig, options: TrainStepOptions = {}): TrainStepRig {
  const batchSize = cfg.device_train_microbatch_size;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new Error(
      `bench: device_train_microbatch_size must be a positive integer, got ${batchSize}`,
    );
  }
  const seed = options.seed ?? cfg.seed;
  const seqLen = cfg.model.max_sequence_length;
  const model = new Olmo(cfg.model, { seed });
  const optimizer = createOptimizer(cfg.optimizer, model.params, cfg);
  const rng = new Rng(seed + 1);
  let globalStep = 0;
  const ctx = {
    model,
    dataParallel: new LocalDataParallel(model, optimizer),
    microBatchSize: batchSize,
    zLoss: cfg.softmax_auxiliary_loss,
    dropoutSeed: (micro: number) => seed + globalStep * 1000 + micro,
  };
  return {
    model,
    optimizer,
    batchSize,
    seqLen,
    async step() {
      globalStep += 1;
      const batch = randomBatch(rng, batchSize, seqLen, cfg.model.vocab_size);
      const result = await runTrainStep(ctx, batch, globalStep, cfg.optimizer.learning_rate);
      return result.ce;
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
}
