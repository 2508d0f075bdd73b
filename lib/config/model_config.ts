/**
 * `ModelConfig`: the architecture of an OLMo model. Field names, types and defaults are
 * OLMo's (`olmo/config.py` `ModelConfig`), so OLMo's own `config.yaml` files load unchanged.
 * Each field is declared once in `MODEL_CONFIG_SCHEMA`; the type and the defaults come from it.
 *
 * @module
 */
import {
  BOOL,
  type ConfigOf,
  defineSection,
  field,
  FLOAT,
  INT,
  NULL_BOOL,
  NULL_FLOAT,
  NULL_INT,
  NULL_STR,
  oneOf,
} from "./schema.ts";

/** Every `LayerNormType`. */
export const LAYER_NORM_TYPES = ["default", "low_precision", "rms", "amd_compatible"] as const;
/** LayerNorm implementation (`model.layer_norm_type`). */
export type LayerNormType = typeof LAYER_NORM_TYPES[number];

/** Every `ActivationType`. */
export const ACTIVATION_TYPES = ["gelu", "relu", "swiglu"] as const;
/** MLP activation (`model.activation_type`). */
export type ActivationType = typeof ACTIVATION_TYPES[number];

/** Every `BlockType`. */
export const BLOCK_TYPES = ["sequential", "parallel", "llama"] as const;
/** Transformer block implementation (`model.block_type`). */
export type BlockType = typeof BLOCK_TYPES[number];

/** Every `InitFnType`. */
export const INIT_FN_TYPES = [
  "mitchell",
  "normal",
  "kaiming_normal",
  "fan_in",
  "full_megatron",
] as const;
/** Weight initialisation scheme (`model.init_fn`). */
export type InitFnType = typeof INIT_FN_TYPES[number];

/** Schema of `model` (OLMo `ModelConfig`), with OLMo's defaults (GPT-2-base-like). */
export const MODEL_CONFIG_SCHEMA = defineSection("ModelConfig", {
  d_model: field(INT, 768, "Hidden size. Must be divisible by `n_heads`."),
  n_heads: field(INT, 12, "Attention heads."),
  n_layers: field(INT, 12, "Transformer blocks."),
  mlp_ratio: field(
    INT,
    4,
    "MLP hidden size is `mlp_ratio * d_model` unless `mlp_hidden_size` is set.",
  ),
  mlp_hidden_size: field(
    NULL_INT,
    null,
    "Exact MLP hidden size (before the swiglu halving); overrides `mlp_ratio`.",
  ),
  activation_type: field(
    oneOf("ActivationType", ACTIVATION_TYPES),
    "swiglu",
    "MLP activation. For swiglu the first half of `ff_proj`'s output is the value, the second " +
      "the gate.",
  ),
  block_type: field(oneOf("BlockType", BLOCK_TYPES), "sequential", "Block implementation."),
  block_group_size: field(
    INT,
    1,
    "Blocks per group; only renames parameters (`block_groups.G.J.`). Must divide `n_layers`.",
  ),
  alibi: field(BOOL, false, "ALiBi attention bias. Mutually exclusive with `rope`."),
  alibi_bias_max: field(
    FLOAT,
    8.0,
    "Maximum ALiBi slope exponent: slope of head h is `2^-((h+1) * alibi_bias_max / n_heads)`.",
  ),
  rope: field(BOOL, false, "Rotary position embeddings (GPT-NeoX half-split style)."),
  rope_full_precision: field(
    BOOL,
    true,
    "Apply RoPE in float32. Everything here computes in float32, so this changes nothing.",
  ),
  flash_attention: field(
    BOOL,
    false,
    "Only toggles a CUDA kernel choice in OLMo; accepted and ignored here (one warning).",
  ),
  attention_dropout: field(FLOAT, 0.1, "Dropout on attention probabilities, training only."),
  multi_query_attention: field(BOOL, false, "One key/value head shared by all query heads."),
  attention_layer_norm: field(
    BOOL,
    false,
    "LayerNorm on queries and keys (QK-norm), over the whole d_model (or kv) vector.",
  ),
  residual_dropout: field(
    FLOAT,
    0.1,
    "Dropout on the attention and MLP outputs before each residual add, training only.",
  ),
  embedding_dropout: field(FLOAT, 0.1, "Dropout after the embeddings, training only."),
  layer_norm_type: field(
    oneOf("LayerNormType", LAYER_NORM_TYPES),
    "default",
    "LayerNorm implementation. `low_precision` computes in float32 here (no autocast).",
  ),
  layer_norm_with_affine: field(
    BOOL,
    true,
    "Affine weight (and bias) on all LayerNorms except QK-norm.",
  ),
  attention_layer_norm_with_affine: field(BOOL, true, "Affine weight (and bias) on the QK-norms."),
  max_sequence_length: field(
    INT,
    1024,
    "Positions: `wpe` rows, data chunk size, RoPE/ALiBi cache size.",
  ),
  include_bias: field(
    BOOL,
    true,
    "Biases on every Linear; also LayerNorm biases when `bias_for_layer_norm` is null.",
  ),
  bias_for_layer_norm: field(NULL_BOOL, null, "LayerNorm bias; null inherits `include_bias`."),
  scale_logits: field(
    BOOL,
    false,
    "Multiply logits by `1/sqrt(d_model)`; also scales the `wte` init std by " +
      "`0.5*sqrt(d_model)`.",
  ),
  vocab_size: field(INT, 50257, "Tokenizer vocabulary size; must equal the tokenizer's."),
  embedding_size: field(
    NULL_INT,
    50304,
    "Rows of `wte` (padded vocabulary); null means `vocab_size`. Logits have this many columns.",
  ),
  weight_tying: field(BOOL, true, "Output projection shares `wte.weight`."),
  eos_token_id: field(INT, 50256, "End-of-sequence id; also the beam search end index."),
  pad_token_id: field(INT, 50256, "Padding id used by the collator."),
  init_device: field(
    NULL_STR,
    null,
    "`cpu`, `cuda:N` or `meta` in OLMo; accepted and ignored here (tfjs places tensors by " +
      "backend).",
  ),
  init_fn: field(oneOf("InitFnType", INIT_FN_TYPES), "normal", "Weight initialisation scheme."),
  init_std: field(FLOAT, 0.02, "Standard deviation for `normal` / `full_megatron`."),
  init_cutoff_factor: field(
    NULL_FLOAT,
    null,
    "Truncate the normal init at ±factor·std; `full_megatron` defaults to 3.",
  ),
  precision: field(
    NULL_STR,
    null,
    "Copied from `TrainConfig.precision` at start-up; the model computes in float32 regardless.",
  ),
});

/**
 * The model architecture (OLMo `ModelConfig`), derived from `MODEL_CONFIG_SCHEMA`, where every
 * field is documented. All fields are snake_case as in OLMo's YAML.
 */
export type ModelConfig = ConfigOf<typeof MODEL_CONFIG_SCHEMA.fields>;

/** OLMo's defaults (GPT-2-base-like). */
export function defaultModelConfig(): ModelConfig {
  return MODEL_CONFIG_SCHEMA.defaults();
}
