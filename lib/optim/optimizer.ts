/**
 * The optimizer object the trainer drives: OLMo's AdamW or LionW over named `tf.Variable`s with
 * OLMo's parameter groups, gradient clipping/metrics, LR control and a host state dict.
 *
 * Per step the trainer calls `clipGradsAndCollectMetrics` (one device read), sets the LR from
 * the scheduler and calls `step`. The per-tensor math lives in `adamw.ts` / `lionw.ts` and works
 * on any shape, so a data-parallel (ZeRO) optimizer can apply it to flat shards; building this
 * class over shard variables with explicit `groups` also works.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { HostTensor, NamedHostTensors } from "../util/host_tensor.ts";
import { adamwScalars, adamwUpdate, disposeAdamWScalars } from "./adamw.ts";
import type { AdamWScalars } from "./adamw.ts";
import { disposeLionWScalars, lionwScalars, lionwUpdate } from "./lionw.ts";
import type { ClipResult } from "./clipping.ts";
import { clipGradients } from "./clipping.ts";
import type { ParamGroup, ParamGroupOptions } from "./param_groups.ts";
import { ADAMW_EPS, buildParamGroups } from "./param_groups.ts";
import type { OptimizerStateDict } from "./optimizer_state.ts";
import {
  ELEMENT_STATE_KEYS,
  GRAD_NORM_EMA_KEY,
  mergeParamGroups,
  parseOptimizerState,
} from "./optimizer_state.ts";
import type { OptimizerName, OptimizerSettings } from "./settings.ts";
import { optimizerName } from "./settings.ts";

/** Optimizer state of one parameter. */
interface ParamState {
  /** AdamW's step count (bias corrections); LionW keeps none (always 0). */
  step: number;
  /** Per-element state tensors by key (`exp_avg`, `exp_avg_sq`). */
  elements: Map<string, tf.Tensor>;
}

/** Options of `createOptimizer`. `TrainConfig` satisfies the clipping fields. */
export interface CreateOptimizerOptions extends ParamGroupOptions {
  /** Use these groups instead of building OLMo's (e.g. for flat ZeRO shard variables). */
  groups?: ParamGroup[];
}

/** AdamW or LionW with OLMo's groups, clipping and metrics. */
export class Optimizer {
  /** `adamw` or `lionw`. */
  readonly name: OptimizerName;
  /** Parameter groups (OLMo dicts); `lr` changes every step. */
  paramGroups: ParamGroup[];
  readonly #params: Map<string, tf.Variable>;
  readonly #state = new Map<string, ParamState>();
  readonly #gradNormEma = new Map<string, tf.Scalar>();
  /** LionW cosine-similarity pieces of the last step: (3,) [dot, ‖u‖², ‖sign u‖²]. */
  #lionMetrics: tf.Tensor1D | null = null;

  /** Prefer `createOptimizer`. Every parameter must be in exactly one group. */
  constructor(name: OptimizerName, params: Map<string, tf.Variable>, groups: ParamGroup[]) {
    this.name = name;
    this.#params = params;
    this.paramGroups = groups;
    const seen = new Set<string>();
    for (const g of groups) {
      for (const n of g.param_names) {
        if (!params.has(n)) throw new Error(`param group lists "${n}", which is not a parameter`);
        if (seen.has(n)) throw new Error(`parameter "${n}" is in two param groups`);
        seen.add(n);
      }
    }
    for (const n of params.keys()) {
      if (!seen.has(n)) throw new Error(`parameter "${n}" is in no param group`);
    }
  }

  /** Sets the learning rate of every group (OLMo sets all groups to the scheduler's LR). */
  setLr(lr: number): void {
    for (const g of this.paramGroups) g.lr = lr;
  }

  /**
   * OLMo's restart rule (`load_trainer_state_dict`): every group gets `lr`, `initial_lr` becomes
   * the configured LR, and groups with weight decay > 0 get the configured weight decay.
   */
  resetFromConfig(optimizer: OptimizerSettings, lr: number): void {
    for (const g of this.paramGroups) {
      g.lr = lr;
      g.initial_lr = optimizer.learning_rate;
      if (g.weight_decay > 0) g.weight_decay = optimizer.weight_decay;
    }
  }

  /**
   * Clips gradients and collects metrics (see `clipGradients`). Reads the device once, together
   * with the `extra` tensors (e.g. the loss), whose values come back in `ClipResult.extra`.
   * The returned gradients are new tensors; the caller disposes them and its inputs.
   */
  clipGradsAndCollectMetrics(
    grads: ReadonlyMap<string, tf.Tensor>,
    globalStep: number,
    collect: boolean,
    extra: readonly tf.Tensor[] = [],
  ): Promise<ClipResult> {
    return clipGradients(
      {
        groups: this.paramGroups,
        param: (n) => this.#params.get(n)!,
        elementState: (n) => this.#state.get(n)?.elements ?? new Map(),
        gradNormEma: (n) => this.#gradNormEma.get(n),
        setGradNormEma: (n, v) => {
          this.#gradNormEma.get(n)?.dispose();
          this.#gradNormEma.set(n, v);
        },
      },
      grads,
      globalStep,
      collect,
      extra,
    );
  }

  /**
   * Applies one update to every parameter that has a gradient, with each group's current LR
   * (or `lr` for all groups when given). Inputs are not disposed.
   * @throws Error naming the parameter for an unknown name or a shape mismatch.
   */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr?: number): void {
    if (lr !== undefined) this.setLr(lr);
    for (const [n, g] of grads) {
      const p = this.#params.get(n);
      if (!p) throw new Error(`gradient for "${n}", which is not a parameter of this optimizer`);
      if (JSON.stringify(g.shape) !== JSON.stringify(p.shape)) {
        throw new Error(
          `gradient for "${n}" has shape ${JSON.stringify(g.shape)}, parameter has ${
            JSON.stringify(p.shape)
          }`,
        );
      }
    }
    if (this.name === "adamw") this.#stepAdamW(grads);
    else this.#stepLionW(grads);
  }

  #stepAdamW(grads: ReadonlyMap<string, tf.Tensor>): void {
    for (const group of this.paramGroups) {
      // Scalars per distinct step count (normally one per group).
      const scalars = new Map<number, AdamWScalars>();
      for (const n of group.param_names) {
        const grad = grads.get(n);
        if (!grad) continue;
        const param = this.#params.get(n)!;
        const st = this.#ensureState(n, param);
        st.step += 1;
        let s = scalars.get(st.step);
        if (!s) {
          s = adamwScalars({
            lr: group.lr,
            beta1: group.betas[0],
            beta2: group.betas[1],
            eps: group.eps ?? ADAMW_EPS,
            weightDecay: group.weight_decay,
            step: st.step,
          });
          scalars.set(st.step, s);
        }
        const sc = s;
        const r = tf.tidy(() => {
          const u = adamwUpdate(
            param,
            grad,
            st.elements.get("exp_avg")!,
            st.elements.get("exp_avg_sq")!,
            sc,
          );
          return [u.param, u.expAvg, u.expAvgSq];
        });
        param.assign(r[0]);
        r[0].dispose();
        this.#replaceElement(st, "exp_avg", r[1]);
        this.#replaceElement(st, "exp_avg_sq", r[2]);
      }
      for (const s of scalars.values()) disposeAdamWScalars(s);
    }
  }

  #stepLionW(grads: ReadonlyMap<string, tf.Tensor>): void {
    const pieces: tf.Tensor[] = [];
    for (const group of this.paramGroups) {
      const s = lionwScalars({
        lr: group.lr,
        beta1: group.betas[0],
        beta2: group.betas[1],
        weightDecay: group.weight_decay,
      });
      for (const n of group.param_names) {
        const grad = grads.get(n);
        if (!grad) continue;
        const param = this.#params.get(n)!;
        const st = this.#ensureState(n, param);
        const r = tf.tidy(() => {
          const u = lionwUpdate(param, grad, st.elements.get("exp_avg")!, s);
          const metrics = tf.stack([u.updateDotSigned, u.updateSquaredNorm, u.signedSquaredNorm]);
          return [u.param, u.expAvg, metrics];
        });
        param.assign(r[0]);
        r[0].dispose();
        this.#replaceElement(st, "exp_avg", r[1]);
        pieces.push(r[2]);
      }
      disposeLionWScalars(s);
    }
    this.#lionMetrics?.dispose();
    this.#lionMetrics = pieces.length === 0 ? null : tf.tidy(() => tf.addN(pieces) as tf.Tensor1D);
    tf.dispose(pieces);
  }

  /**
   * Metrics of the last `step` (unprefixed): LionW's `update_cos_sim`
   * = Σ u·sign(u) / max(‖u‖·‖sign u‖, 1e-8); AdamW has none.
   */
  async postStepMetrics(): Promise<Record<string, number>> {
    const sums = await this.updateCosSimSums();
    return sums === null ? {} : { update_cos_sim: updateCosSim(sums) };
  }

  /**
   * The pieces of LionW's `update_cos_sim` of the last `step`, summed over the parameters:
   * `[Σ u·sign(u), ‖u‖², ‖sign u‖²]`; null for AdamW or before the first step. A data-parallel
   * optimizer over shards sums them over ranks before `updateCosSim`.
   */
  async updateCosSimSums(): Promise<[number, number, number] | null> {
    if (!this.#lionMetrics) return null;
    const [dot, uSq, sSq] = await this.#lionMetrics.data();
    return [dot, uSq, sSq];
  }

  #ensureState(name: string, param: tf.Variable): ParamState {
    let st = this.#state.get(name);
    if (!st) {
      st = { step: 0, elements: new Map() };
      for (const key of ELEMENT_STATE_KEYS[this.name]) st.elements.set(key, tf.zerosLike(param));
      this.#state.set(name, st);
    }
    return st;
  }

  #replaceElement(st: ParamState, key: string, value: tf.Tensor): void {
    st.elements.get(key)?.dispose();
    st.elements.set(key, value);
  }

  /** Reads the whole state to the host (see `OptimizerStateDict` for the format). */
  async stateDict(): Promise<OptimizerStateDict> {
    const state: NamedHostTensors = new Map();
    for (const group of this.paramGroups) {
      for (const n of group.param_names) {
        const st = this.#state.get(n);
        if (st) {
          if (this.name === "adamw") {
            state.set(`${n}.step`, { dtype: "float32", shape: [], data: Float32Array.of(st.step) });
          }
          for (const key of ELEMENT_STATE_KEYS[this.name]) {
            const t = st.elements.get(key)!;
            const host: HostTensor = {
              dtype: "float32",
              shape: [...t.shape],
              data: Float32Array.from(await t.data()),
            };
            state.set(`${n}.${key}`, host);
          }
        }
        const ema = this.#gradNormEma.get(n);
        if (ema) {
          const data = Float32Array.from(await ema.data());
          state.set(`${n}.${GRAD_NORM_EMA_KEY}`, { dtype: "float32", shape: [], data });
        }
      }
    }
    return { state, paramGroups: structuredClone(this.paramGroups) };
  }

  /**
   * Replaces the state with a checkpoint's (see `mergeParamGroups` for how groups combine).
   * `source` names the checkpoint in errors. Everything is validated before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict, source = "optimizer state"): void {
    const shapes = new Map([...this.#params].map(([n, v]) => [n, v.shape]));
    const parsed = parseOptimizerState(sd.state, this.name, shapes, source);
    const groups = mergeParamGroups(sd.paramGroups, this.paramGroups, source);
    this.#disposeState();
    this.paramGroups = groups;
    for (const [n, entry] of parsed) {
      const shape = shapes.get(n)!;
      if (entry.elements.size > 0) {
        const elements = new Map<string, tf.Tensor>();
        for (const [key, data] of entry.elements) elements.set(key, tf.tensor(data, shape));
        this.#state.set(n, { step: entry.step ?? 0, elements });
      }
      if (entry.gradNormEma !== null) this.#gradNormEma.set(n, tf.scalar(entry.gradNormEma));
    }
  }

  #disposeState(): void {
    for (const st of this.#state.values()) tf.dispose([...st.elements.values()]);
    this.#state.clear();
    tf.dispose([...this.#gradNormEma.values()]);
    this.#gradNormEma.clear();
    this.#lionMetrics?.dispose();
    this.#lionMetrics = null;
  }

  /** Frees all state tensors (not the parameters). */
  dispose(): void {
    this.#disposeState();
  }
}

/** `Σ u·sign(u) / max(‖u‖·‖sign u‖, 1e-8)` from `Optimizer.updateCosSimSums`. */
export function updateCosSim([dot, uSq, sSq]: readonly [number, number, number]): number {
  return dot / Math.max(Math.sqrt(uSq) * Math.sqrt(sSq), 1e-8);
}

/**
 * Builds OLMo's optimizer: `optimizer.name` selects AdamW (eps 1e-5) or LionW, groups come from
 * `buildParamGroups` (or `options.groups`), clipping settings from `options` — pass the
 * `TrainConfig` itself, e.g. `createOptimizer(cfg.optimizer, model.params, cfg)`.
 */
export function createOptimizer(
  optimizer: OptimizerSettings,
  namedParams: Map<string, tf.Variable>,
  options: CreateOptimizerOptions = {},
): Optimizer {
  const name = optimizerName(optimizer);
  if (!(optimizer.learning_rate > 0)) {
    throw new Error(`optimizer.learning_rate must be > 0, got ${optimizer.learning_rate}`);
  }
  const groups = options.groups ?? buildParamGroups(namedParams.keys(), optimizer, options);
  return new Optimizer(name, namedParams, groups);
}
