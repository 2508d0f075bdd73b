/**
 * One optimizer step, exactly OLMo's `olmo/train.py` `Trainer.train_step`: the device batch is
 * split into micro-batches of `device_train_microbatch_size`; each contributes
 * `(token-mean CE [+ z-loss]) / n_micro` to the loss and its gradients are summed; the
 * data-parallel strategy (`DataParallel`: local, or ZeRO over ranks) synchronises and clips
 * them; a non-finite loss stops the step before the update; otherwise the strategy updates the
 * parameters at the step's LR. This is the one training step of every path.
 *
 * Device traffic: every tensor is created inside a `tf.tidy`/gradient scope or disposed here,
 * and the host reads the device once per step locally — the loss and z-loss travel with the
 * gradient norm in the optimizer's single clipping read.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CollatedBatch } from "../data/collator.ts";
import type {
  AccumulatedGradients,
  DataParallel,
  StepResult,
} from "../distributed/data_parallel.ts";
import type { Olmo } from "../model/olmo.ts";
import { headTrainingLoss } from "./head_loss.ts";
import { nextTokenTargets } from "./loss.ts";

/** What `runTrainStep` needs besides the batch. */
export interface TrainStepContext {
  /** The model (its `params` are trained). */
  model: Olmo;
  /** How gradients become an update: `LocalDataParallel`, or `ZeroDataParallel` over ranks. */
  dataParallel: DataParallel;
  /** `device_train_microbatch_size`. */
  microBatchSize: number;
  /** `softmax_auxiliary_loss`: add PaLM's z-loss. */
  zLoss: boolean;
  /** The z-loss coefficient (`auxiliary_loss_multiplier`); default `Z_LOSS_COEF` (1e-4). */
  zLossMultiplier?: number;
  /** Dropout seed of micro-batch `micro` of this step. */
  dropoutSeed(micro: number): number;
  /**
   * Called after the forward and backward passes of step `step` (1-based), before the
   * gradients are synchronised; tests use it to make a rank fail mid-step.
   */
  afterBackward?(step: number): void;
}

/** The host-side outcome of one step (see `StepResult`). */
export type TrainStepResult = StepResult;

/** Thrown when the loss is NaN or infinite; the step is not applied. */
export class NonFiniteLossError extends Error {
  /** @param step the 1-based step whose loss was not finite */
  constructor(readonly step: number, readonly loss: number) {
    super(
      `${Number.isNaN(loss) ? "nan" : "infinite"} loss encountered at step ${step} ` +
        `(the update was not applied; lower optimizer.learning_rate, set max_grad_norm, or ` +
        `restart from an earlier checkpoint)`,
    );
    this.name = "NonFiniteLossError";
  }
}

/** Micro-batch `[start, start + size)` of a (B, S) host array as a tensor. */
function rows<T extends "int32" | "float32">(
  data: Int32Array | Float32Array,
  seqLen: number,
  start: number,
  size: number,
  dtype: T,
): tf.Tensor2D {
  return tf.tensor2d(data.subarray(start * seqLen, (start + size) * seqLen), [size, seqLen], dtype);
}

/**
 * Forward + backward over the micro-batches of `batch`: returns the summed gradients by
 * parameter name and the step's CE and z-loss as scalars (the caller disposes all of them).
 */
export function accumulateGradients(
  ctx: TrainStepContext,
  batch: CollatedBatch,
): AccumulatedGradients {
  const [batchSize, seqLen] = batch.inputIds.shape;
  if (batch.attentionBias !== undefined) {
    throw new Error(
      "training batches with an attention_bias are not supported (only attention_mask)",
    );
  }
  const micro = Math.max(1, Math.min(ctx.microBatchSize, batchSize));
  const nMicro = Math.ceil(batchSize / micro);
  const names = [...ctx.model.params.keys()];
  const vars = names.map((n) => ctx.model.params.get(n)!);
  const byVarName = new Map(vars.map((v, i) => [v.name, names[i]]));
  const grads = new Map<string, tf.Tensor>();
  let ceSum: tf.Scalar | null = null;
  let zSum: tf.Scalar | null = null;
  for (let m = 0; m < nMicro; m++) {
    const start = m * micro;
    const size = Math.min(micro, batchSize - start);
    ctx.model.seedDropout(ctx.dropoutSeed(m));
    const ids = rows(batch.inputIds.data, seqLen, start, size, "int32"); // (b, S)
    const mask = batch.attentionMask
      ? rows(batch.attentionMask.data, seqLen, start, size, "float32") // (b, S)
      : undefined;
    const { labels, weights } = nextTokenTargets(ids, mask);
    let ce: tf.Scalar | null = null;
    let z: tf.Scalar | null = null;
    const { value, grads: g } = tf.variableGrads(() => {
      // The head and the loss as one op: the (b, S, vocab) logits are never materialised.
      const { hidden } = ctx.model.hiddenStates(ids, { attentionMask: mask, training: true });
      const loss = headTrainingLoss(hidden, ctx.model.outputHead(), labels, weights, {
        zLoss: ctx.zLoss,
        zLossMultiplier: ctx.zLossMultiplier,
        scale: 1 / nMicro,
      });
      ce = loss.ce;
      z = loss.z;
      return loss.loss;
    }, vars);
    tf.dispose([value, ids, labels, weights]);
    mask?.dispose();
    for (const [varName, grad] of Object.entries(g)) {
      const name = byVarName.get(varName)!;
      const prev = grads.get(name);
      if (prev === undefined) grads.set(name, grad);
      else {
        grads.set(name, tf.add(prev, grad));
        tf.dispose([prev, grad]);
      }
    }
    ceSum = accumulateScalar(ceSum, ce!, nMicro);
    if (z !== null) zSum = accumulateScalar(zSum, z, nMicro);
  }
  return { grads, ce: ceSum!, z: zSum };
}

/** `(sum ?? 0) + value / n`, disposing the inputs. */
function accumulateScalar(sum: tf.Scalar | null, value: tf.Scalar, n: number): tf.Scalar {
  const next = tf.tidy(() => {
    const part = tf.div(value, n);
    return (sum === null ? part : tf.add(sum, part)) as tf.Scalar;
  });
  value.dispose();
  sum?.dispose();
  return next;
}

/**
 * Runs optimizer step `step` (1-based) on `batch` with learning rate `lr`. `collectOptimMetrics`
 * asks for OLMo's per-parameter `optim/*` metrics. Throws `NonFiniteLossError` (without
 * updating the parameters or the optimizer's moments) when the loss is not finite.
 */
export async function runTrainStep(
  ctx: TrainStepContext,
  batch: CollatedBatch,
  step: number,
  lr: number,
  collectOptimMetrics = false,
): Promise<TrainStepResult> {
  const acc = accumulateGradients(ctx, batch);
  ctx.afterBackward?.(step);
  const reduced = await ctx.dataParallel.reduceGradients(acc, step, collectOptimMetrics);
  const { ce, z, gradNorm, optimMetrics } = reduced;
  const total = ce + (z ?? 0);
  if (!Number.isFinite(total)) {
    reduced.discard();
    throw new NonFiniteLossError(step, total);
  }
  await reduced.apply(lr);
  return { ce, z, gradNorm, optimMetrics };
}
