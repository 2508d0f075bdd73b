/**
 * ZeRO data parallelism over a {@link Communicator} (OLMo trains with FSDP), the multi-rank
 * `DataParallel` strategy:
 *
 * - every parameter is laid end to end in one padded flat buffer (model order), and rank r owns
 *   the contiguous range `[r·S, (r+1)·S)`: the same range a sharded checkpoint stores for it;
 * - after backward, the flat gradients are reduce-scattered in buckets and averaged over ranks
 *   (as FSDP does), so each rank holds the mean gradient of its range only;
 * - the global gradient norm (and each parameter's, for adaptive clipping) comes from squared
 *   sums all-reduced together with the step's loss, so clipping, the logged loss and the NaN
 *   check are identical on every rank;
 * - each rank updates only its range with OLMo's AdamW/LionW: an `Optimizer` over one flat
 *   variable per parameter piece (named like the parameter), so optimizer state is sharded;
 * - the updated ranges are all-gathered into the model's full parameters before the next forward.
 *
 * Between steps every rank keeps the full parameters (the model's variables; ZeRO stage 2).
 * World size 1 does not need this class: `LocalDataParallel` is the fast path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Olmo } from "../../model/olmo.ts";
import { createOptimizer, type Optimizer, updateCosSim } from "../../optim/optimizer.ts";
import { type OptimizerStateDict, parseOptimizerState } from "../../optim/optimizer_state.ts";
import { buildParamGroups, type ParamGroup } from "../../optim/param_groups.ts";
import type { ClippingSettings, OptimizerSettings } from "../../optim/settings.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import type {
  AccumulatedGradients,
  CheckpointState,
  DataParallel,
  ReducedStep,
} from "../data_parallel.ts";
import type { Communicator } from "../world.ts";
import { allGatherFlat, DEFAULT_BUCKET_BYTES, reduceScatterFlat } from "./flat_collectives.ts";
import { zeroFullOptimizerState, zeroShardState } from "./gather.ts";
import {
  type FlatLayout,
  flatLayout,
  layoutMismatch,
  type ShardSegment,
  shardSegments,
} from "./layout.ts";
import { clipWithGlobalNorms, globalNormsAndLoss, shardTensorMetrics } from "./norms.ts";
import {
  gradNormEmasOf,
  pieceStateFromFull,
  pieceStateFromShard,
  type ShardState,
} from "./state.ts";

/** Tells apart the piece variables of several instances (tfjs variable names are global). */
let instanceCounter = 0;

/** The config fields ZeRO reads; `TrainConfig` satisfies them. */
export interface ZeroSettings extends ClippingSettings {
  /** `optimizer.*`. */
  optimizer: OptimizerSettings;
}

/** Options of {@link ZeroDataParallel.create}. */
export interface ZeroOptions {
  /** Largest collective call in bytes (default 32 MiB); larger buffers move in buckets. */
  maxBucketBytes?: number;
}

/** Data-parallel training state of one rank: its shard of the parameters and optimizer state. */
export class ZeroDataParallel implements DataParallel {
  /** The process group. */
  readonly world: Communicator;
  /** `world.size`. */
  readonly worldSize: number;
  /** Every parameter in model order, padded to a multiple of the world size. */
  readonly layout: FlatLayout;
  /** The pieces of each parameter inside this rank's range, in flat order. */
  readonly segments: readonly ShardSegment[];
  /** AdamW/LionW over this rank's pieces, with OLMo's groups (lr, decay, clipping settings). */
  readonly optimizer: Optimizer;
  /** Largest collective call in bytes. */
  readonly maxBucketBytes: number;
  readonly #model: Olmo;
  readonly #groupNames: string[][];
  readonly #pieces = new Map<string, tf.Variable>();
  readonly #emas = new Map<string, tf.Scalar>();
  readonly #params: Float32Array;
  readonly #gradShard: Float32Array;

  /**
   * Shards `model` over `world`: every rank starts from rank 0's parameters (broadcast), and
   * builds the optimizer over its pieces. Every rank must call it.
   */
  static async create(
    world: Communicator,
    model: Olmo,
    settings: ZeroSettings,
    options: ZeroOptions = {},
  ): Promise<ZeroDataParallel> {
    const layout = flatLayout(model.params, world.size);
    const params = new Float32Array(layout.paddedNumel);
    for (const e of layout.params) params.set(await model.params.get(e.name)!.data(), e.offset);
    await world.broadcast(params, 0);
    const zero = new ZeroDataParallel(world, model, settings, layout, params, options);
    if (world.rank !== 0) zero.#assignModelParams();
    return zero;
  }

  private constructor(
    world: Communicator,
    model: Olmo,
    settings: ZeroSettings,
    layout: FlatLayout,
    params: Float32Array,
    options: ZeroOptions,
  ) {
    this.world = world;
    this.worldSize = world.size;
    this.#model = model;
    this.layout = layout;
    this.#params = params;
    this.#gradShard = new Float32Array(layout.shardSize);
    this.maxBucketBytes = options.maxBucketBytes ?? DEFAULT_BUCKET_BYTES;
    this.segments = shardSegments(layout, world.rank);
    const id = instanceCounter++;
    const base = world.rank * layout.shardSize;
    for (const s of this.segments) {
      const values = params.slice(
        base + s.shardStart,
        base + s.shardStart + s.paramEnd - s.paramStart,
      );
      const initial = tf.tensor1d(values);
      this.#pieces.set(s.name, tf.variable(initial, false, `zero${id}/${s.name}`));
      initial.dispose();
    }
    const groups = buildParamGroups(model.params.keys(), settings.optimizer, {
      max_grad_norm: settings.max_grad_norm,
      max_grad_norm_ratio: settings.max_grad_norm_ratio,
      sharded: true,
    });
    this.#groupNames = groups.map((g) => g.param_names);
    const pieceGroups = groups.map((g) => ({
      ...g,
      param_names: g.param_names.filter((n) => this.#pieces.has(n)),
    }));
    this.optimizer = createOptimizer(settings.optimizer, this.#pieces, { groups: pieceGroups });
  }

  /**
   * Reduce-scatters this rank's summed micro-batch gradients (taking over `acc`), averages them
   * over ranks, and computes the global norms and loss, the clipping and the metrics; `apply`
   * then updates this rank's pieces and all-gathers them into the model. `ce` and `z` are the
   * means over ranks. Every rank must call both.
   */
  async reduceGradients(
    acc: AccumulatedGradients,
    globalStep: number,
    collect: boolean,
  ): Promise<ReducedStep> {
    const { flat, losses, hasGrad } = await this.#readGradients(acc);
    await reduceScatterFlat(this.world, flat, this.#gradShard, this.maxBucketBytes);
    const grads = this.#gradShard;
    const scale = 1 / this.world.size;
    for (let i = 0; i < grads.length; i++) grads[i] *= scale;

    const global = await globalNormsAndLoss(this.world, this.segments, grads, losses, hasGrad);
    const { norms, totalNorm } = global;
    const optimMetrics: Record<string, number> = { total_grad_norm: totalNorm };
    if (collect) {
      const metrics = await shardTensorMetrics(this, {
        names: this.#groupNames.flat().filter((n) => hasGrad.has(n)),
        gradShard: this.#gradShard,
        params: this.#params,
      });
      Object.assign(optimMetrics, metrics);
    }
    const clip = await clipWithGlobalNorms({
      groups: this.paramGroups(),
      norms,
      totalNorm,
      globalStep,
      collect,
      emas: this.#emas,
    });
    Object.assign(optimMetrics, clip.metrics);

    const pieceGrads = new Map<string, tf.Tensor>();
    for (const s of this.segments) {
      if (!hasGrad.has(s.name)) continue;
      const raw = grads.slice(s.shardStart, s.shardStart + s.paramEnd - s.paramStart);
      const coef = clip.coefficients.get(s.name);
      pieceGrads.set(
        s.name,
        coef === undefined ? tf.tensor1d(raw) : tf.tidy(() => tf.mul(tf.tensor1d(raw), coef)),
      );
    }
    tf.dispose([...clip.coefficients.values()]);
    return {
      ce: global.ce,
      z: acc.z === null ? null : global.z,
      gradNorm: totalNorm,
      optimMetrics,
      apply: async (lr) => {
        try {
          this.optimizer.step(pieceGrads, lr);
        } finally {
          tf.dispose([...pieceGrads.values()]);
        }
        await this.#gatherUpdatedParams();
      },
      discard: () => tf.dispose([...pieceGrads.values()]),
    };
  }

  /** OLMo's groups with every parameter's name (the optimizer's own list only this rank's). */
  paramGroups(): ParamGroup[] {
    return this.optimizer.paramGroups.map((g, i) => ({
      ...structuredClone(g),
      param_names: [...this.#groupNames[i]],
    }));
  }

  /** LionW's `update_cos_sim` over all ranks' pieces; AdamW has none. Every rank must call it. */
  async postStepMetrics(): Promise<Record<string, number>> {
    if (this.optimizer.name !== "lionw") return {};
    const sums = Float64Array.from((await this.optimizer.updateCosSimSums()) ?? [0, 0, 0]);
    await this.world.allReduceSum(sums);
    return { update_cos_sim: updateCosSim([sums[0], sums[1], sums[2]]) };
  }

  /**
   * What a checkpoint stores for this rank: its `ShardState` (sharded), or the full optimizer
   * state gathered on every rank with the parameters on rank 0 (unsharded). Every rank must call
   * it.
   */
  async checkpointState(sharded: boolean): Promise<CheckpointState> {
    if (sharded) return { layout: this.layout, shard: await zeroShardState(this) };
    const optim = await zeroFullOptimizerState(this);
    const model: NamedHostTensors = this.world.rank === 0
      ? await this.#model.stateDict()
      : new Map();
    return { model, optim };
  }

  /**
   * Loads the same full state on every rank (an unsharded checkpoint's): the model's weights,
   * this rank's pieces of them and of `optim` (when given). `source` names the checkpoint in
   * errors; the optimizer state is validated before anything of it changes.
   */
  async loadFullState(
    model: NamedHostTensors,
    optim: OptimizerStateDict | null,
    source: string,
  ): Promise<void> {
    try {
      this.#model.loadStateDict(model);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
    for (const e of this.layout.params) {
      this.#params.set(await this.#model.params.get(e.name)!.data(), e.offset);
    }
    this.#assignPieces();
    if (optim === null) return;
    const shapes = new Map([...this.#model.params].map(([n, v]) => [n, v.shape]));
    const parsed = parseOptimizerState(optim.state, this.optimizer.name, shapes, source);
    const state = pieceStateFromFull(parsed, this.segments);
    this.optimizer.loadStateDict({ state, paramGroups: optim.paramGroups }, source);
    this.#setEmas(gradNormEmasOf(parsed));
  }

  /**
   * Restores this rank's shard of a sharded checkpoint written by a run of the same world size
   * and model: parameters (all-gathered into the model) and, when `loadOptimizer` and present,
   * the optimizer state. Every rank must call it.
   * @throws Error naming `source` when the checkpoint was sharded differently.
   */
  async loadShardState(
    layout: FlatLayout,
    shard: ShardState,
    source: string,
    loadOptimizer: boolean,
  ): Promise<void> {
    const mismatch = layoutMismatch(this.layout, layout);
    if (mismatch !== null) throw new Error(`${source}: ${mismatch}`);
    const { start, end } = this.layout.ranks[this.world.rank];
    if (shard.params.length !== end - start) {
      throw new Error(
        `${source}: rank ${shard.rank} holds ${shard.params.length} parameters, expected ${
          end - start
        }`,
      );
    }
    if (loadOptimizer && shard.paramGroups !== null) {
      const state = pieceStateFromShard(shard, this.segments);
      const emas = gradNormEmasOf(shard);
      this.optimizer.loadStateDict({ state, paramGroups: shard.paramGroups }, source);
      this.#setEmas(emas);
    }
    this.#params.fill(0);
    this.#params.set(shard.params, this.world.rank * this.layout.shardSize);
    await allGatherFlat(this.world, this.#params, this.maxBucketBytes);
    this.#assignModelParams();
    this.#assignPieces();
  }

  /** A copy of this rank's range of the current parameters (its checkpoint shard). */
  ownParams(): Float32Array {
    const { start, end } = this.layout.ranks[this.world.rank];
    return this.#params.slice(start, end);
  }

  /** The adaptive-clipping EMAs by parameter (replicated on every rank). */
  async gradNormEmas(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [name, ema] of this.#emas) out.set(name, (await ema.data())[0]);
    return out;
  }

  /** Frees the pieces, the optimizer state and the EMAs (not the model). */
  dispose(): void {
    this.optimizer.dispose();
    tf.dispose([...this.#pieces.values(), ...this.#emas.values()]);
    this.#pieces.clear();
    this.#emas.clear();
  }

  /** Reads the gradients (zeros for parameters without one), padding and losses in one read. */
  async #readGradients(
    acc: AccumulatedGradients,
  ): Promise<{ flat: Float32Array; losses: Float32Array; hasGrad: Set<string> }> {
    const hasGrad = new Set<string>();
    const joined = tf.tidy(() => {
      const parts = this.layout.params.map((e) => {
        const g = acc.grads.get(e.name);
        if (g === undefined) return tf.zeros([e.size]);
        hasGrad.add(e.name);
        return tf.reshape(g, [-1]);
      });
      const padding = this.layout.paddedNumel - this.layout.numel;
      if (padding > 0) parts.push(tf.zeros([padding]));
      parts.push(tf.stack([acc.ce, acc.z ?? tf.scalar(0)]));
      return tf.concat(parts); // (paddedNumel + 2,)
    });
    tf.dispose([...acc.grads.values(), acc.ce, ...(acc.z ? [acc.z] : [])]);
    const values = (await joined.data()) as Float32Array;
    joined.dispose();
    const n = this.layout.paddedNumel;
    return { flat: values.subarray(0, n), losses: values.subarray(n), hasGrad };
  }

  /** Reads the updated pieces into this rank's range, all-gathers, and updates the model. */
  async #gatherUpdatedParams(): Promise<void> {
    if (this.#pieces.size > 0) {
      const joined = tf.concat([...this.#pieces.values()]); // pieces are contiguous, in order
      const values = (await joined.data()) as Float32Array;
      joined.dispose();
      this.#params.set(values, this.world.rank * this.layout.shardSize);
    }
    await allGatherFlat(this.world, this.#params, this.maxBucketBytes);
    this.#assignModelParams();
  }

  #assignModelParams(): void {
    for (const { name, offset, size } of this.layout.params) {
      const v = this.#model.params.get(name)!;
      const t = tf.tensor(this.#params.slice(offset, offset + size), v.shape, "float32");
      v.assign(t);
      t.dispose();
    }
  }

  #assignPieces(): void {
    const base = this.world.rank * this.layout.shardSize;
    for (const s of this.segments) {
      const start = base + s.shardStart;
      const t = tf.tensor1d(this.#params.slice(start, start + s.paramEnd - s.paramStart));
      this.#pieces.get(s.name)!.assign(t);
      t.dispose();
    }
  }

  #setEmas(values: ReadonlyMap<string, number>): void {
    tf.dispose([...this.#emas.values()]);
    this.#emas.clear();
    for (const [name, v] of values) this.#emas.set(name, tf.scalar(v));
  }
}
