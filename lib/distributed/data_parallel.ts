/**
 * How one training step's gradients become an update, and how the trained state goes into and
 * out of checkpoints: the data-parallel strategy the training step runs with. `LocalDataParallel`
 * is one process holding everything (the optimizer over the model's own variables);
 * `ZeroDataParallel` (`zero/`) shards the optimizer state over the ranks of a communicator.
 *
 * A step is two calls, so that the training step alone decides whether the update happens (the
 * non-finite-loss check): `reduceGradients` synchronises and clips the summed micro-batch
 * gradients and reads the step's loss and norms; `apply` of its result updates the parameters.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Olmo } from "../model/olmo.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { OptimizerStateDict } from "../optim/optimizer_state.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";
import type { FlatLayout } from "./zero/layout.ts";
import type { ShardState } from "./zero/state.ts";

/** A step's summed micro-batch gradients and losses, on the device. */
export interface AccumulatedGradients {
  /** Gradients by parameter name. */
  grads: Map<string, tf.Tensor>;
  /** This rank's batch CE (mean over micro-batches of each one's token-mean CE). */
  ce: tf.Scalar;
  /** This rank's z-loss, or null without `softmax_auxiliary_loss`. */
  z: tf.Scalar | null;
}

/** The host-side outcome of one step. */
export interface StepResult {
  /**
   * The batch CE: the mean over micro-batches of each micro-batch's token-mean CE, and over
   * ranks when data parallel.
   */
  ce: number;
  /** The z-loss (mean over ranks when data parallel), or null without the auxiliary loss. */
  z: number | null;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** Optimizer metrics, unprefixed (`total_grad_norm`, and per-parameter ones when collected). */
  optimMetrics: Record<string, number>;
}

/** Gradients synchronised and clipped, ready to update the parameters. */
export interface ReducedStep extends StepResult {
  /** Updates the parameters at learning rate `lr` and frees the gradients. */
  apply(lr: number): Promise<void>;
  /** Frees the gradients without updating anything. */
  discard(): void;
}

/** What a checkpoint stores for this rank: the full state, or this rank's shard of it. */
export type CheckpointState =
  | {
    /** Full parameters (on rank 0; empty on the other ranks of a sharded run). */
    model: NamedHostTensors;
    /** Full optimizer state. */
    optim: OptimizerStateDict;
  }
  | {
    /** How the flattened state is cut over the ranks. */
    layout: FlatLayout;
    /** This rank's range of it. */
    shard: ShardState;
  };

/** A data-parallel strategy: the training step and checkpoints run through it. */
export interface DataParallel {
  /** Number of ranks the strategy trains over (1 for `LocalDataParallel`). */
  readonly worldSize: number;
  /** The optimizer that updates what this rank owns (its groups carry the LRs). */
  readonly optimizer: Optimizer;
  /**
   * Takes over `acc` (and disposes it): synchronises the gradients across ranks, clips them and
   * reads the step's loss, gradient norm and optimizer metrics (`collect`: the per-parameter
   * ones). Every rank must call it.
   */
  reduceGradients(
    acc: AccumulatedGradients,
    globalStep: number,
    collect: boolean,
  ): Promise<ReducedStep>;
  /** Metrics of the last update (LionW's `update_cos_sim`). Every rank must call it. */
  postStepMetrics(): Promise<Record<string, number>>;
  /**
   * The state a `sharded` or unsharded checkpoint stores for this rank. Every rank must call it
   * (a sharded run gathers the full optimizer state for an unsharded one).
   */
  checkpointState(sharded: boolean): Promise<CheckpointState>;
  /**
   * Loads full parameters and, when given, a full optimizer state (an unsharded checkpoint's, or
   * a one-rank sharded one's); `source` names it in errors. Every rank must call it.
   */
  loadFullState(
    model: NamedHostTensors,
    optim: OptimizerStateDict | null,
    source: string,
  ): Promise<void>;
  /**
   * Loads this rank's shard of a sharded checkpoint of the same world size and layout (and its
   * optimizer state when `loadOptimizer`). Every rank must call it.
   */
  loadShardState(
    layout: FlatLayout,
    shard: ShardState,
    source: string,
    loadOptimizer: boolean,
  ): Promise<void>;
  /** Frees what the strategy owns (the optimizer state; not the model). */
  dispose(): void;
}

/** One process: the optimizer updates the model's own variables; nothing to synchronise. */
export class LocalDataParallel implements DataParallel {
  /** One process. */
  readonly worldSize = 1;
  /** The trained model. */
  readonly model: Olmo;
  /** The optimizer over `model.params`. */
  readonly optimizer: Optimizer;

  /** Trains `model` with `optimizer` (which must be over `model.params`). */
  constructor(model: Olmo, optimizer: Optimizer) {
    this.model = model;
    this.optimizer = optimizer;
  }

  /** Clips the gradients and reads the loss with the clipping metrics in one device read. */
  async reduceGradients(
    acc: AccumulatedGradients,
    globalStep: number,
    collect: boolean,
  ): Promise<ReducedStep> {
    const losses = tf.tidy(() => tf.stack([acc.ce, acc.z ?? tf.scalar(0)])); // (2,)
    const hasZ = acc.z !== null;
    acc.ce.dispose();
    acc.z?.dispose();
    let clip;
    try {
      clip = await this.optimizer.clipGradsAndCollectMetrics(acc.grads, globalStep, collect, [
        losses,
      ]);
    } finally {
      tf.dispose([...acc.grads.values(), losses]);
    }
    const clipped = clip.grads;
    const [ce, z] = clip.extra;
    return {
      ce,
      z: hasZ ? z : null,
      gradNorm: clip.totalGradNorm,
      optimMetrics: clip.metrics,
      apply: (lr) => {
        try {
          this.optimizer.step(clipped, lr);
        } finally {
          tf.dispose([...clipped.values()]);
        }
        return Promise.resolve();
      },
      discard: () => tf.dispose([...clipped.values()]),
    };
  }

  /** The optimizer's own post-step metrics. */
  postStepMetrics(): Promise<Record<string, number>> {
    return this.optimizer.postStepMetrics();
  }

  /** The full state, for either kind (the manager cuts the one-rank shard itself). */
  async checkpointState(_sharded: boolean): Promise<CheckpointState> {
    return { model: await this.model.stateDict(), optim: await this.optimizer.stateDict() };
  }

  /** Loads the weights into the model and the optimizer state into the optimizer. */
  loadFullState(
    model: NamedHostTensors,
    optim: OptimizerStateDict | null,
    source: string,
  ): Promise<void> {
    try {
      this.model.loadStateDict(model);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
    if (optim !== null) this.optimizer.loadStateDict(optim, source);
    return Promise.resolve();
  }

  /** @throws Error: one process restores sharded checkpoints as full state (`loadFullState`). */
  loadShardState(layout: FlatLayout, _shard: ShardState, source: string): Promise<void> {
    return Promise.reject(
      new Error(
        `${source}: a shard of a ${layout.worldSize}-rank checkpoint restores only with ZeRO ` +
          "data parallelism at that world size",
      ),
    );
  }

  /** Frees the optimizer state. */
  dispose(): void {
    this.optimizer.dispose();
  }
}
