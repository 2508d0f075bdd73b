/**
 * ZeRO data parallelism over a {@link Communicator} (OLMo trains with FSDP; spec §8):
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
 * World size 1 does not use this class: the trainer's local optimizer is the fast path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  buildShardLayout,
  type RankShard,
  type ShardLayout,
} from "../checkpoint/trainer_checkpoint_sharded.ts";
import {
  type FlatLayout,
  flatLayout,
  type ShardSegment,
  shardSegments,
} from "../distributed/flat_layout.ts";
import type { Communicator } from "../distributed/world.ts";
import {
  allGatherFlat,
  DEFAULT_BUCKET_BYTES,
  reduceScatterFlat,
} from "../distributed/zero_flat.ts";
import type { Olmo } from "../model/olmo.ts";
import { createOptimizer, type Optimizer, updateCosSim } from "../optim/optimizer.ts";
import {
  ELEMENT_STATE_KEYS,
  type OptimizerStateDict,
  parseOptimizerState,
} from "../optim/optimizer_state.ts";
import { buildParamGroups, type ParamGroup } from "../optim/param_groups.ts";
import type { ClippingSettings, OptimizerSettings } from "../optim/settings.ts";
import type { AccumulatedGradients, TrainStepResult } from "./train_step.ts";
import { NonFiniteLossError } from "./train_step.ts";
import { globalStateFlags } from "./zero_checkpoint.ts";
import {
  globalNormsAndLoss,
  type SplitTensor,
  splitTensorMetrics,
  zeroClipCoefficients,
} from "./zero_clipping.ts";
import {
  gradNormEmasOf,
  layoutMismatch,
  pieceStateFromFull,
  pieceStateFromRankShard,
} from "./zero_state.ts";

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
export class ZeroDataParallel {
  /** The process group. */
  readonly world: Communicator;
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
    const names = [...model.params.keys()];
    const layout = flatLayout(names, names.map((n) => model.params.get(n)!.size), world.size);
    const params = new Float32Array(layout.paddedNumel);
    for (const e of layout.entries) params.set(await model.params.get(e.name)!.data(), e.offset);
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

  /** The elements of the flattened parameters this rank owns (its checkpoint range). */
  get shardRange(): { start: number; end: number } {
    const { shardSize, numel } = this.layout;
    const r = this.world.rank;
    return { start: Math.min(r * shardSize, numel), end: Math.min((r + 1) * shardSize, numel) };
  }

  /**
   * Finishes a training step from this rank's summed micro-batch gradients (which it takes
   * over and disposes): reduce-scatter, global norms and loss, clipping, the update of this
   * rank's pieces at `lr`, and the all-gather into the model. `ce` and `z` of the result are the
   * means over ranks. Every rank must call it.
   * @throws NonFiniteLossError (on every rank, nothing updated) when the global loss is not finite.
   */
  async step(
    acc: AccumulatedGradients,
    globalStep: number,
    lr: number,
    collect: boolean,
  ): Promise<TrainStepResult> {
    const { flat, losses, hasGrad } = await this.#readGradients(acc);
    await reduceScatterFlat(this.world, flat, this.#gradShard, this.maxBucketBytes);
    const grads = this.#gradShard;
    const scale = 1 / this.world.size;
    for (let i = 0; i < grads.length; i++) grads[i] *= scale;

    const global = await globalNormsAndLoss(this.world, this.segments, grads, losses, hasGrad);
    const { norms, totalNorm } = global;
    const ce = global.ce;
    const z = acc.z === null ? null : global.z;
    if (!Number.isFinite(ce + (z ?? 0))) throw new NonFiniteLossError(globalStep, ce + (z ?? 0));
    const optimMetrics: Record<string, number> = { total_grad_norm: totalNorm };
    if (collect) Object.assign(optimMetrics, await this.#tensorMetrics(hasGrad));
    const clip = await zeroClipCoefficients({
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
    try {
      this.optimizer.step(pieceGrads, lr);
    } finally {
      tf.dispose([...pieceGrads.values()]);
    }
    await this.#gatherUpdatedParams();
    return { ce, z, gradNorm: totalNorm, optimMetrics };
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

  /** After `model.loadStateDict` of the same full state on every rank: take this rank's pieces. */
  async syncFromModel(): Promise<void> {
    for (const e of this.layout.entries) {
      this.#params.set(await this.#model.params.get(e.name)!.data(), e.offset);
    }
    this.#assignPieces();
  }

  /**
   * Loads this rank's share of a full optimizer state (an unsharded checkpoint's). `source`
   * names the checkpoint in errors; everything is validated before anything changes.
   */
  loadFullOptimizerState(sd: OptimizerStateDict, source: string): void {
    const shapes = new Map([...this.#model.params].map(([n, v]) => [n, v.shape]));
    const parsed = parseOptimizerState(sd.state, this.optimizer.name, shapes, source);
    const state = pieceStateFromFull(parsed, this.segments);
    this.optimizer.loadStateDict({ state, paramGroups: sd.paramGroups }, source);
    this.#setEmas(gradNormEmasOf(parsed));
  }

  /**
   * Restores this rank's file of a sharded checkpoint written by a run of the same world size
   * and model: parameters (all-gathered into the model) and, when `loadOptimizer` and present,
   * the optimizer state. Every rank must call it.
   * @throws Error naming `source` when the checkpoint was sharded differently.
   */
  async loadRankShard(
    layout: ShardLayout,
    shard: RankShard,
    source: string,
    loadOptimizer: boolean,
  ): Promise<void> {
    const mismatch = layoutMismatch(this.checkpointLayout(), layout);
    if (mismatch !== null) throw new Error(`${source}: ${mismatch}`);
    const { start, end } = this.shardRange;
    if (shard.params.length !== end - start) {
      throw new Error(
        `${source}: rank ${shard.rank} holds ${shard.params.length} parameters, expected ${
          end - start
        }`,
      );
    }
    if (loadOptimizer && shard.paramGroups !== null) {
      const state = pieceStateFromRankShard(shard, this.segments);
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

  /** The layout of this run's sharded checkpoints (identical ranges to the ZeRO shards). */
  checkpointLayout(): ShardLayout {
    return buildShardLayout(
      [...this.#model.params].map(([name, v]) => [name, { shape: v.shape }]),
      this.world.size,
    );
  }

  /** A copy of this rank's range of the current parameters (its checkpoint shard). */
  ownParams(): Float32Array {
    const { start, end } = this.shardRange;
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

  /**
   * OLMo's per-parameter metrics (`grad/`, `param/`, `{state key}/` min, max, avg, norm) of
   * the averaged, unclipped gradients and the parameters and state before this step's update.
   */
  async #tensorMetrics(hasGrad: ReadonlySet<string>): Promise<Record<string, number>> {
    const local = await this.optimizer.stateDict();
    const flags = await globalStateFlags(this.world, this.layout, this.optimizer.name, local);
    const bySegment = new Map(this.segments.map((s) => [s.name, s]));
    const index = new Map(this.layout.entries.map((e, i) => [e.name, i]));
    const base = this.world.rank * this.layout.shardSize;
    const keys = [...ELEMENT_STATE_KEYS[this.optimizer.name]].sort();
    const tensors: SplitTensor[] = [];
    for (const name of this.#groupNames.flat()) {
      if (!hasGrad.has(name)) continue;
      const i = index.get(name)!;
      const numel = this.layout.entries[i].size;
      const s = bySegment.get(name);
      const span = (data: Float32Array, at: number) =>
        s === undefined
          ? []
          : [data.subarray(at + s.shardStart, at + s.shardStart + s.paramEnd - s.paramStart)];
      tensors.push({ prefix: `grad/${name}`, numel, pieces: span(this.#gradShard, 0) });
      tensors.push({ prefix: `param/${name}`, numel, pieces: span(this.#params, base) });
      if (!flags.withElements[i]) continue;
      for (const key of keys) {
        const t = local.state.get(`${name}.${key}`);
        tensors.push({
          prefix: `${key}/${name}`,
          numel,
          pieces: t ? [t.data as Float32Array] : [],
        });
      }
    }
    return await splitTensorMetrics(this.world, tensors);
  }

  /** Reads the gradients (zeros for parameters without one), padding and losses in one read. */
  async #readGradients(
    acc: AccumulatedGradients,
  ): Promise<{ flat: Float32Array; losses: Float32Array; hasGrad: Set<string> }> {
    const hasGrad = new Set<string>();
    const joined = tf.tidy(() => {
      const parts = this.layout.entries.map((e) => {
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
    for (const { name, offset, size } of this.layout.entries) {
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
