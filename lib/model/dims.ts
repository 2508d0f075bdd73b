/**
 * Model construction checks (OLMo `Olmo.__init__` and `OlmoBlock.__init__`) and the derived
 * sizes every other model file uses.
 *
 * @module
 */
import type { ModelConfig } from "../config/model_config.ts";
import {
  ACTIVATION_TYPES,
  BLOCK_TYPES,
  INIT_FN_TYPES,
  LAYER_NORM_TYPES,
} from "../config/model_config.ts";

/** Sizes derived from a `ModelConfig` (names as in OLMo's `ModelConfig` and `OlmoBlock`). */
export interface ModelDims {
  /** d_model. */
  d: number;
  /** Query heads. */
  nHeads: number;
  /** Head size `d_model / n_heads`. */
  headDim: number;
  /** Key/value heads (`effectiveKvHeads`): 1 under MQA, `n_kv_heads` under GQA, else `n_heads`. */
  kvHeads: number;
  /** Width of k and v: `kvHeads · headDim`. */
  kvDim: number;
  /** MLP hidden size H (`mlp_hidden_size ?? mlp_ratio * d_model`), the width of `ff_proj`. */
  hidden: number;
  /** Width after the activation, `H / 2` for swiglu else H: the input of the block `ff_out`. */
  actOut: number;
  /** Rows of `wte` and columns of the logits (`embedding_size ?? vocab_size`). */
  embeddingSize: number;
  /** Whether LayerNorms (other than QK-norm) have a weight. */
  lnAffine: boolean;
  /** Whether affine LayerNorms have a bias (`bias_for_layer_norm ?? include_bias`). */
  lnBias: boolean;
  /** Whether absolute position embeddings (`wpe`) are used (neither alibi nor rope). */
  absolutePositions: boolean;
}

/** Warnings already printed (OLMo's Python warnings also show once per process). */
const warned = new Set<string>();

function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(message);
}

function fail(field: string, msg: string): never {
  throw new Error(`model config: ${field} ${msg}`);
}

function checkPositiveInt(config: ModelConfig, field: keyof ModelConfig): void {
  const v = config[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

function checkBool(config: ModelConfig, field: keyof ModelConfig): void {
  if (typeof config[field] !== "boolean") {
    fail(field, `must be true or false, got ${JSON.stringify(config[field])}`);
  }
}

function checkEnum(config: ModelConfig, field: keyof ModelConfig, allowed: readonly string[]) {
  if (!allowed.includes(config[field] as string)) {
    fail(field, `must be one of ${allowed.join(", ")}; got ${JSON.stringify(config[field])}`);
  }
}

function checkProbability(config: ModelConfig, field: keyof ModelConfig): void {
  const v = config[field];
  if (typeof v !== "number" || !(v >= 0 && v < 1)) {
    fail(field, `must be a number in [0, 1), got ${JSON.stringify(v)}`);
  }
}

/**
 * Validates `config` the way OLMo's constructor does (alibi with rope or flash attention,
 * embedding_size < vocab_size, block_group_size not dividing n_layers, d_model not divisible by
 * n_heads, an odd swiglu hidden size) plus type checks on every field the model reads.
 * Throws an `Error` naming the field; warns when embedding_size is not a multiple of 128.
 */
export function validateModelConfig(config: ModelConfig): void {
  for (
    const f of ["d_model", "n_heads", "n_layers", "max_sequence_length", "vocab_size"] as const
  ) {
    checkPositiveInt(config, f);
  }
  for (
    const f of [
      "alibi",
      "rope",
      "rope_full_precision",
      "flash_attention",
      "attention_layer_norm",
      "embedding_layer_norm",
      "scale_emb_init",
      "norm_after",
      "layer_norm_with_affine",
      "attention_layer_norm_with_affine",
      "include_bias",
      "scale_logits",
      "weight_tying",
    ] as const
  ) checkBool(config, f);
  checkEnum(config, "activation_type", ACTIVATION_TYPES);
  checkEnum(config, "block_type", BLOCK_TYPES);
  checkEnum(config, "layer_norm_type", LAYER_NORM_TYPES);
  checkEnum(config, "init_fn", INIT_FN_TYPES);
  for (const f of ["attention_dropout", "residual_dropout", "embedding_dropout"] as const) {
    checkProbability(config, f);
  }
  if (config.multi_query_attention !== null && typeof config.multi_query_attention !== "boolean") {
    fail(
      "multi_query_attention",
      `must be true, false or null, got ${config.multi_query_attention}`,
    );
  }
  if (config.n_kv_heads !== null) checkPositiveInt(config, "n_kv_heads");
  const kvHeads = effectiveKvHeads(config);
  if (config.n_heads % kvHeads !== 0) {
    fail("n_kv_heads", `(${kvHeads}) must divide n_heads (${config.n_heads})`);
  }
  for (const f of ["clip_qkv", "emb_init_std"] as const) {
    const v = config[f];
    if (v !== null && (typeof v !== "number" || !(v > 0) || !Number.isFinite(v))) {
      fail(f, `must be null or a finite number > 0, got ${JSON.stringify(v)}`);
    }
  }
  for (const f of ["layer_norm_eps", "rope_theta"] as const) {
    const v = config[f];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      fail(f, `must be a finite number > 0, got ${JSON.stringify(v)}`);
    }
  }
  if (config.bias_for_layer_norm !== null && typeof config.bias_for_layer_norm !== "boolean") {
    fail("bias_for_layer_norm", `must be true, false or null, got ${config.bias_for_layer_norm}`);
  }
  if (typeof config.alibi_bias_max !== "number" || !Number.isFinite(config.alibi_bias_max)) {
    fail("alibi_bias_max", `must be a finite number, got ${JSON.stringify(config.alibi_bias_max)}`);
  }
  if (typeof config.init_std !== "number" || !(config.init_std >= 0)) {
    fail("init_std", `must be a number >= 0, got ${JSON.stringify(config.init_std)}`);
  }
  if (
    config.init_cutoff_factor !== null &&
    (typeof config.init_cutoff_factor !== "number" || !(config.init_cutoff_factor > 0))
  ) {
    fail("init_cutoff_factor", `must be null or a number > 0, got ${config.init_cutoff_factor}`);
  }
  if (config.alibi && config.flash_attention) {
    fail("alibi", "is not supported with flash_attention (OLMo raises the same error)");
  }
  if (config.alibi && config.rope) fail("alibi", "and rope are mutually exclusive");
  if (config.flash_attention) {
    warnOnce("model config: flash_attention only selects a CUDA kernel in OLMo; ignored here");
  }
  if (config.d_model % config.n_heads !== 0) {
    fail("d_model", `(${config.d_model}) must be divisible by n_heads (${config.n_heads})`);
  }
  if (config.rope && (config.d_model / config.n_heads) % 2 !== 0) {
    fail(
      "rope",
      `needs an even head size, got d_model/n_heads = ${config.d_model / config.n_heads}`,
    );
  }
  if (config.embedding_size !== null) {
    checkPositiveInt(config, "embedding_size");
    if (config.embedding_size < config.vocab_size) {
      fail(
        "embedding_size",
        `(${config.embedding_size}) should be at least as big as vocab_size (${config.vocab_size})`,
      );
    }
    if (config.embedding_size !== config.vocab_size && config.embedding_size % 128 !== 0) {
      warnOnce(
        `model config: embedding_size ${config.embedding_size} is not a multiple of 128; ` +
          "this could hurt throughput",
      );
    }
  }
  const g = config.block_group_size;
  if (!Number.isInteger(g) || !(g > 0 && g <= config.n_layers && config.n_layers % g === 0)) {
    fail(
      "block_group_size",
      `(${g}) must be in [1, n_layers] and divide n_layers (${config.n_layers})`,
    );
  }
  if (config.mlp_hidden_size !== null) checkPositiveInt(config, "mlp_hidden_size");
  else if (typeof config.mlp_ratio !== "number" || !(config.mlp_ratio > 0)) {
    fail("mlp_ratio", `must be a number > 0, got ${JSON.stringify(config.mlp_ratio)}`);
  }
  const hidden = config.mlp_hidden_size ?? config.mlp_ratio * config.d_model;
  if (!Number.isInteger(hidden)) {
    fail("mlp_ratio", `* d_model must be an integer, got ${hidden}`);
  }
  if (config.activation_type === "swiglu" && hidden % 2 !== 0) {
    fail(
      config.mlp_hidden_size !== null ? "mlp_hidden_size" : "mlp_ratio",
      `gives an odd MLP hidden size ${hidden}; swiglu splits it in two halves`,
    );
  }
  if (config.norm_after && config.block_type !== "sequential") {
    fail("norm_after", `is only defined for the sequential block, not ${config.block_type}`);
  }
  if (config.init_fn === "full_megatron" && config.block_type === "llama") {
    fail(
      "init_fn",
      "full_megatron needs a module type for every weight; the llama block has none " +
        "(OLMo raises RuntimeError)",
    );
  }
}

/**
 * OLMo later's `effective_n_kv_heads`: `n_kv_heads`, or from `multi_query_attention` (1 head if
 * true, else `n_heads`) when it is null. `multi_query_attention: true` with another `n_kv_heads`
 * is an error, as in OLMo; `false` (OLMo's old default) defers to `n_kv_heads`, where OLMo later
 * would also reject an `n_kv_heads` other than `n_heads`.
 */
export function effectiveKvHeads(
  config: Pick<ModelConfig, "n_heads" | "n_kv_heads" | "multi_query_attention">,
): number {
  const fromMqa = config.multi_query_attention ? 1 : config.n_heads;
  if (config.n_kv_heads === null) return fromMqa;
  if (config.multi_query_attention !== true || config.n_kv_heads === 1) return config.n_kv_heads;
  return fail(
    "n_kv_heads",
    `(${config.n_kv_heads}) contradicts multi_query_attention ` +
      `(${config.multi_query_attention}); set one of them (the other to null)`,
  );
}

/** Derived sizes of a (valid) config. */
export function modelDims(config: ModelConfig): ModelDims {
  const headDim = config.d_model / config.n_heads;
  const hidden = config.mlp_hidden_size ?? config.mlp_ratio * config.d_model;
  const lnAffine = config.layer_norm_with_affine;
  return {
    d: config.d_model,
    nHeads: config.n_heads,
    headDim,
    kvHeads: effectiveKvHeads(config),
    kvDim: effectiveKvHeads(config) * headDim,
    hidden,
    actOut: config.activation_type === "swiglu" ? hidden / 2 : hidden,
    embeddingSize: config.embedding_size ?? config.vocab_size,
    lnAffine,
    lnBias: config.bias_for_layer_norm ?? config.include_bias,
    absolutePositions: !(config.alibi || config.rope),
  };
}
