/**
 * `Olmo`: the OLMo decoder-only transformer (OLMo `olmo/model.py` `Olmo`) on tfjs: parameters,
 * forward pass and state dicts. Loading checkpoints and `generate` live in `lib/facade`, so this
 * folder needs no file system, backend start-up or search code.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../config/model_config.ts";
import { embedding } from "./embedding.ts";
import type { HostTensor, NamedHostTensors } from "../util/host_tensor.ts";
import { numElements, toFloat32 } from "../util/host_tensor.ts";
import { buildAttentionBias } from "./attention_bias.ts";
import { blockForward } from "./block.ts";
import type { ForwardContext } from "./context.ts";
import { type ModelDims, modelDims, validateModelConfig } from "./dims.ts";
import { numFwdFlops, trainFlopsPerToken } from "./flops.ts";
import { initialValue } from "./init.ts";
import { layerNorm } from "./layer_norm.ts";
import { leanAdd } from "./lean_ops.ts";
import { linear } from "./linear.ts";
import { blockPrefix, isEmbeddingParam, parameterSpecs } from "./params.ts";
import { Rng } from "./random.ts";
import { ropeAngles } from "./rope.ts";
import { makeStateDictCompatible } from "./state_dict.ts";
import type { ForwardOptions, KeyValue, OlmoOptions, OlmoOutput, OutputHead } from "./types.ts";

let modelCounter = 0;

function describe(names: string[]): string {
  const shown = names.slice(0, 10).join(", ");
  return names.length > 10 ? `${shown}, … (${names.length} in all)` : shown;
}

/** The OLMo model: parameters as `tf.Variable`s under OLMo's names, and the forward pass. */
export class Olmo {
  /** The architecture (validated). */
  readonly config: ModelConfig;
  /** Derived sizes. */
  readonly dims: ModelDims;
  /**
   * Parameters by OLMo state-dict name in OLMo's registration order. Variable names are
   * `olmo<k>/<name>` (unique per model), which is what `tf.variableGrads` keys its result by.
   */
  readonly params: Map<string, tf.Variable>;
  #dropoutRng: Rng;

  /** Builds the model; throws an `Error` naming the field for an invalid config (`validateModelConfig`). */
  constructor(config: ModelConfig, opts: OlmoOptions = {}) {
    validateModelConfig(config);
    this.config = { ...config };
    this.dims = modelDims(this.config);
    const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
    const initRng = new Rng(seed);
    this.#dropoutRng = new Rng(seed + 0x2545f491);
    const id = modelCounter++;
    this.params = new Map();
    for (const spec of parameterSpecs(this.config)) {
      const value = opts.init === false
        ? tf.zeros(spec.shape)
        : tf.tensor(initialValue(this.config, spec, initRng), spec.shape);
      this.params.set(spec.name, tf.variable(value, true, `olmo${id}/${spec.name}`));
      value.dispose();
    }
  }

  /** Reseeds the dropout generator (e.g. when restoring a training run). */
  seedDropout(seed: number): void {
    this.#dropoutRng = new Rng(seed);
  }

  #param(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new Error(`Olmo: parameter ${name} does not exist`);
    return p;
  }

  /**
   * Runs the model on `inputIds` (B, S) int32. Semantics follow OLMo's `Olmo.forward` exactly:
   * absolute positions start at the cache length, the padding mask and bias are combined with
   * `ensure_finite_`, RoPE uses positions `past .. past+S-1` for queries, and the returned cache
   * holds un-rotated keys. Differentiable with respect to `params`.
   */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): OlmoOutput {
    const { hidden, attnKeyValues } = this.hiddenStates(inputIds, opts);
    const logits = tf.tidy(() => {
      const head = this.outputHead();
      const l = linear(hidden, head.weight, head.bias); // (B, S, E)
      return head.scale === 1 ? l : tf.mul(l, head.scale);
    });
    hidden.dispose();
    return { logits: logits as tf.Tensor3D, attnKeyValues };
  }

  /**
   * The final hidden states (after `ln_f`): `forward` without the output projection, for losses
   * that apply {@link outputHead} themselves (e.g. in chunks). Same options and cache as
   * `forward`; the caller owns the returned tensors.
   */
  hiddenStates(
    inputIds: tf.Tensor2D,
    opts: ForwardOptions = {},
  ): { hidden: tf.Tensor3D; attnKeyValues: KeyValue[] | null } {
    const { config, dims } = this;
    if (inputIds.rank !== 2) {
      throw new Error(`forward: inputIds must be (B, S), got [${inputIds.shape}]`);
    }
    const [batch, seqLen] = inputIds.shape;
    const past = opts.pastKeyValues;
    const pastLength = past ? this.#checkPast(past, batch) : 0;
    const keyLen = pastLength + seqLen;
    if (dims.absolutePositions && keyLen > config.max_sequence_length) {
      throw new Error(
        `forward: ${keyLen} positions exceed max_sequence_length ${config.max_sequence_length} ` +
          "(absolute position embeddings)",
      );
    }
    const training = opts.training ?? false;
    const useCache = opts.useCache ?? false;
    const result = tf.tidy(() => {
      let x = embedding(this.#param("transformer.wte.weight") as tf.Tensor2D, inputIds); // (B, S, C)
      if (config.embedding_layer_norm) {
        x = layerNorm(
          x,
          config.layer_norm_type,
          this.params.get("transformer.emb_norm.weight") as tf.Tensor1D | undefined,
          this.params.get("transformer.emb_norm.bias") as tf.Tensor1D | undefined,
          config.layer_norm_eps,
        );
      }
      if (dims.absolutePositions) {
        const pos = tf.range(pastLength, keyLen, 1, "int32");
        x = leanAdd(x, embedding(this.#param("transformer.wpe.weight") as tf.Tensor2D, pos));
      }
      const ctx: ForwardContext = {
        config,
        dims,
        bias: buildAttentionBias({
          batchSize: batch,
          queryLen: seqLen,
          pastLength,
          attentionMask: opts.attentionMask,
          attentionBias: opts.attentionBias,
          nHeads: config.n_heads,
          alibi: config.alibi ? { biasMax: config.alibi_bias_max } : null,
        }),
        rope: null,
        training,
        dropout: (t, rate) =>
          training && rate > 0 ? tf.dropout(t, rate, undefined, this.#dropoutRng.nextSeed()) : t,
      };
      if (config.rope) {
        const k = ropeAngles(dims.headDim, 0, keyLen, config.rope_theta);
        ctx.rope = {
          kSin: k.sin,
          kCos: k.cos,
          qSin: tf.slice(k.sin, [pastLength, 0], [seqLen, -1]),
          qCos: tf.slice(k.cos, [pastLength, 0], [seqLen, -1]),
        };
      }
      x = ctx.dropout(x, config.embedding_dropout);

      const presents: KeyValue[] = [];
      for (let i = 0; i < config.n_layers; i++) {
        const prefix = blockPrefix(i, config.block_group_size);
        const lookup = (suffix: string) => this.params.get(prefix + suffix);
        // A scope per block: its intermediates are freed when it ends (the gradient tape keeps
        // what the backward pass needs), so a training step's forward pass does not hold every
        // intermediate of every layer at once.
        const input = x;
        const out = tf.tidy(() => {
          const r = blockForward(input, lookup, past ? past[i] : null, useCache, ctx);
          return { x: r.x, present: r.present ?? [] };
        });
        x = out.x;
        if (useCache) presents.push(out.present as KeyValue);
      }
      if (opts.lastLogitsOnly) x = tf.slice(x, [0, seqLen - 1, 0], [-1, 1, -1]); // (B, 1, C)
      x = layerNorm(
        x,
        config.layer_norm_type,
        this.params.get("transformer.ln_f.weight") as tf.Tensor1D | undefined,
        this.params.get("transformer.ln_f.bias") as tf.Tensor1D | undefined,
        config.layer_norm_eps,
      );
      return { hidden: x, presents };
    });
    return {
      hidden: result.hidden as tf.Tensor3D,
      attnKeyValues: useCache ? result.presents : null,
    };
  }

  /**
   * The output projection (OLMo's `Olmo.forward` after `ln_f`): `logits = (hidden · weightᵀ + bias) · scale`, with the
   * tied `wte` or the untied `ff_out`, and `scale = 1/√d_model` under `scale_logits`, else 1.
   */
  outputHead(): OutputHead {
    const { config } = this;
    return config.weight_tying
      ? { weight: this.#param("transformer.wte.weight") as tf.Tensor2D, scale: this.#logitScale() }
      : {
        weight: this.#param("transformer.ff_out.weight") as tf.Tensor2D,
        bias: this.params.get("transformer.ff_out.bias") as tf.Tensor1D | undefined,
        scale: this.#logitScale(),
      };
  }

  #logitScale(): number {
    return this.config.scale_logits ? 1 / Math.sqrt(this.config.d_model) : 1;
  }

  #checkPast(past: KeyValue[], batch: number): number {
    const { config, dims } = this;
    if (past.length !== config.n_layers) {
      throw new Error(
        `forward: pastKeyValues has ${past.length} entries, expected ${config.n_layers}`,
      );
    }
    const length = past[0][0].shape[2];
    past.forEach(([k, v], i) => {
      for (const [what, t] of [["key", k], ["value", v]] as const) {
        const want = [batch, dims.kvHeads, length, dims.headDim];
        if (t.rank !== 4 || t.shape.some((s, j) => s !== want[j])) {
          throw new Error(
            `forward: pastKeyValues[${i}] ${what} has shape [${t.shape}], expected [${want}]`,
          );
        }
      }
    });
    return length;
  }

  /** OLMo `num_params`; without embeddings excludes `wte`/`wpe` (an untied `ff_out` counts). */
  numParams(opts: { includeEmbedding?: boolean } = {}): number {
    let n = 0;
    for (const [name, p] of this.params) {
      if (opts.includeEmbedding === false && isEmbeddingParam(name)) continue;
      n += p.size;
    }
    return n;
  }

  /** OLMo `num_fwd_flops`: forward FLOPs of one `max_sequence_length` sequence (see `numFwdFlops`). */
  numFwdFlops(): number {
    return numFwdFlops(this.config);
  }

  /** Training FLOPs per token at `seqLen` (default max_sequence_length); see `trainFlopsPerToken`. */
  trainFlopsPerToken(seqLen?: number): number {
    return trainFlopsPerToken(this.config, seqLen);
  }

  /**
   * Loads parameters from an OLMo state dict (any float or integer dtype; converted to float32)
   * after OLMo's compatibility renames (`makeStateDictCompatible`). Throws an `Error` naming the
   * tensors for a wrong shape, and (with `strict`, the default) for missing or unexpected names.
   * Nothing is assigned unless every check passes.
   */
  loadStateDict(state: NamedHostTensors, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const compat = makeStateDictCompatible(state, this.config).state;
    const missing = [...this.params.keys()].filter((n) => !compat.has(n));
    const unexpected = [...compat.keys()].filter((n) => !this.params.has(n));
    if (strict && (missing.length || unexpected.length)) {
      const parts = [];
      if (missing.length) parts.push(`missing: ${describe(missing)}`);
      if (unexpected.length) parts.push(`unexpected: ${describe(unexpected)}`);
      throw new Error(`loadStateDict: state dict does not match the model (${parts.join("; ")})`);
    }
    const values: [tf.Variable, HostTensor, string][] = [];
    for (const [name, v] of this.params) {
      const host = compat.get(name);
      if (!host) continue;
      const shapeOk = host.shape.length === v.shape.length &&
        host.shape.every((s, i) => s === v.shape[i]);
      if (!shapeOk) {
        throw new Error(
          `loadStateDict: tensor ${name} has shape [${host.shape}], the model expects [${v.shape}]`,
        );
      }
      if (host.data.length !== numElements(host.shape)) {
        throw new Error(
          `loadStateDict: tensor ${name} has ${host.data.length} values for shape [${host.shape}]`,
        );
      }
      if (host.dtype === "bool") {
        throw new Error(`loadStateDict: tensor ${name} has dtype bool, expected a number type`);
      }
      values.push([v, host, name]);
    }
    for (const [v, host] of values) {
      const t = tf.tensor(toFloat32(host), v.shape, "float32");
      v.assign(t);
      t.dispose();
    }
  }

  /** The parameters as float32 host tensors under OLMo's names (read asynchronously). */
  async stateDict(): Promise<NamedHostTensors> {
    const out: NamedHostTensors = new Map();
    for (const [name, v] of this.params) {
      const data = (await v.data()) as Float32Array;
      out.set(name, { dtype: "float32", shape: [...v.shape], data: Float32Array.from(data) });
    }
    return out;
  }

  /** Frees every parameter. The model is unusable afterwards. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
