/**
 * One optimizer step, exactly OLMo's `train_step` (spec §6.2): the device batch is split into
 * micro-batches of `device_train_microbatch_size`; each contributes
 * `(token-mean CE [+ z-loss]) / n_micro` to the loss and its gradients are summed; gradients are
 * synchronised across ranks, clipped, the LR is set and the optimizer steps.
 *
 * Device traffic: every tensor is created inside a `tf.tidy`/gradient scope or disposed here,
 * and the host reads the device once per step — the loss and z-loss travel with the gradient
 * norm in the optimizer's single clipping read.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CollatedBatch } from "../data/collator.ts";
import type { Olmo } from "../model/olmo.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { headTrainingLoss } from "./head_loss.ts";
import { nextTokenTargets } from "./loss.ts";
import { throwIfTestFailureRequested } from "./test_failure.ts";
import type { ZeroDataParallel } from "./zero_data_parallel.ts";

/** What `runTrainStep` needs besides the batch. */
export interface TrainStepContext {
  /** The model (its `params` are trained). */
  model: Olmo;
  /** The optimizer over `model.params`. */
  optimizer: Optimizer;
  /**
   * ZeRO data parallelism across ranks: when set, it averages the gradients across ranks and
   * replaces clipping and `optimizer.step` (the optimizer is then its shard optimizer). Without
   * it the gradients are this process's own.
   */
  dataParallel?: ZeroDataParallel;
  /** `device_train_microbatch_size`. */
  microBatchSize: number;
  /** `softmax_auxiliary_loss`: add PaLM's z-loss. */
  zLoss: boolean;
  /** Dropout seed of micro-batch `micro` of this step. */
  dropoutSeed(micro: number): number;
}

/** The host-side outcome of one step. */
export interface TrainStepResult {
  /**
   * The batch CE: the mean over micro-batches of each micro-batch's token-mean CE; this rank's,
   * or the mean over ranks with `dataParallel`.
   */
  ce: number;
  /** The z-loss (this rank's, or the mean over ranks), or null without the auxiliary loss. */
  z: number | null;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** Optimizer metrics, unprefixed (`total_grad_norm`, and per-parameter ones when collected). */
  optimMetrics: Record<string, number>;
}

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

/** A step's summed micro-batch gradients and losses, on the device. */
export interface AccumulatedGradients {
  /** Gradients by parameter name. */
  grads: Map<string, tf.Tensor>;
  /** This rank's batch CE (mean over micro-batches of each one's token-mean CE). */
  ce: tf.Scalar;
  /** This rank's z-loss, or null without `softmax_auxiliary_loss`. */
  z: tf.Scalar | null;
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
 * updating anything) when the loss is not finite.
 */
export async function runTrainStep(
  ctx: TrainStepContext,
  batch: CollatedBatch,
  step: number,
  lr: number,
  collectOptimMetrics = false,
): Promise<TrainStepResult> {
  const acc = accumulateGradients(ctx, batch);
  throwIfTestFailureRequested(step);
  if (ctx.dataParallel) return await ctx.dataParallel.step(acc, step, lr, collectOptimMetrics);
  const grads = acc.grads;
  const losses = tf.tidy(() => tf.stack([acc.ce, acc.z ?? tf.scalar(0)])); // (2,)
  acc.ce.dispose();
  acc.z?.dispose();
  let clipped: Map<string, tf.Tensor>;
  let result: TrainStepResult;
  try {
    const clip = await ctx.optimizer.clipGradsAndCollectMetrics(
      grads,
      step,
      collectOptimMetrics,
      [losses],
    );
    clipped = clip.grads;
    const [ce, z] = clip.extra;
    result = {
      ce,
      z: acc.z === null ? null : z,
      gradNorm: clip.totalGradNorm,
      optimMetrics: clip.metrics,
    };
  } finally {
    tf.dispose([...grads.values(), losses]);
  }
  try {
    const total = result.ce + (result.z ?? 0);
    if (!Number.isFinite(total)) throw new NonFiniteLossError(step, total);
    ctx.optimizer.step(clipped, lr);
  } finally {
    tf.dispose([...clipped.values()]);
  }
  return result;
}
