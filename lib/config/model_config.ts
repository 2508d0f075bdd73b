/**
 * `ModelConfig`: the architecture of an OLMo model. Field names, types and defaults are
 * OLMo's (`olmo/config.py` `ModelConfig`), so OLMo's own `config.yaml` files load unchanged.
 * Each field is declared once in `MODEL_CONFIG_FIELDS`; the type and the defaults come from it.
 *
 * @module
 */
import {
  BOOL,
  type ConfigOf,
  defineSection,
  FLOAT,
  INT,
  NULL_BOOL,
  NULL_FLOAT,
  NULL_INT,
  NULL_STR,
  type SectionSchema,
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

/** The fields of `ModelConfig`, each declared once: kind, default and documentation. */
export const MODEL_CONFIG_FIELDS = {
  d_model: { ...INT, default: 768, doc: "Hidden size. Must be divisible by `n_heads`." },
  n_heads: { ...INT, default: 12, doc: "Attention heads." },
  n_kv_heads: {
    ...NULL_INT,
    default: null,
    doc: "OLMo later: key/value heads (grouped-query attention); must divide `n_heads`. null " +
      "means `multi_query_attention` decides (1 head if true, else `n_heads`).",
  },
  clip_qkv: {
    ...NULL_FLOAT,
    default: null,
    doc: "OLMo later: clamp q, k and v to ±clip_qkv after their projection (the gradient is zero " +
      "where a value was clamped).",
  },
  n_layers: { ...INT, default: 12, doc: "Transformer blocks." },
  mlp_ratio: {
    ...INT,
    default: 4,
    doc: "MLP hidden size is `mlp_ratio * d_model` unless `mlp_hidden_size` is set.",
  },
  mlp_hidden_size: {
    ...NULL_INT,
    default: null,
    doc: "Exact MLP hidden size (before the swiglu halving); overrides `mlp_ratio`.",
  },
  activation_type: {
    kind: "enum",
    name: "ActivationType",
    values: ACTIVATION_TYPES,
    default: "swiglu",
    doc:
      "MLP activation. For swiglu the first half of `ff_proj`'s output is the value, the second " +
      "the gate.",
  },
  block_type: {
    kind: "enum",
    name: "BlockType",
    values: BLOCK_TYPES,
    default: "sequential",
    doc: "Block implementation.",
  },
  block_group_size: {
    ...INT,
    default: 1,
    doc: "Blocks per group; only renames parameters (`block_groups.G.J.`). Must divide `n_layers`.",
  },
  alibi: { ...BOOL, default: false, doc: "ALiBi attention bias. Mutually exclusive with `rope`." },
  alibi_bias_max: {
    ...FLOAT,
    default: 8.0,
    doc:
      "Maximum ALiBi slope exponent: slope of head h is `2^-((h+1) * alibi_bias_max / n_heads)`.",
  },
  rope: { ...BOOL, default: false, doc: "Rotary position embeddings (GPT-NeoX half-split style)." },
  rope_full_precision: {
    ...BOOL,
    default: true,
    doc: "Apply RoPE in float32. Everything here computes in float32, so this changes nothing.",
  },
  rope_theta: {
    ...FLOAT,
    default: 10_000,
    doc: "OLMo later: RoPE base, `inv_freq[i] = 1 / rope_theta^(2i/hd)`.",
  },
  flash_attention: {
    ...BOOL,
    default: false,
    doc: "Only toggles a CUDA kernel choice in OLMo; accepted and ignored here (one warning).",
  },
  attention_dropout: {
    ...FLOAT,
    default: 0.1,
    doc: "Dropout on attention probabilities, training only.",
  },
  multi_query_attention: {
    ...NULL_BOOL,
    default: false,
    doc: "One key/value head shared by all query heads. OLMo later writes null (defer to " +
      "`n_kv_heads`); true with an `n_kv_heads` other than 1 is an error. false (OLMo's old " +
      "default, kept so old configs load unchanged) also defers to `n_kv_heads`.",
  },
  attention_layer_norm: {
    ...BOOL,
    default: false,
    doc: "LayerNorm on queries and keys (QK-norm), over the whole d_model (or kv) vector.",
  },
  residual_dropout: {
    ...FLOAT,
    default: 0.1,
    doc: "Dropout on the attention and MLP outputs before each residual add, training only.",
  },
  embedding_dropout: {
    ...FLOAT,
    default: 0.1,
    doc: "Dropout after the embeddings, training only.",
  },
  embedding_layer_norm: {
    ...BOOL,
    default: false,
    doc: "OLMo later: a LayerNorm (`transformer.emb_norm`) on the token embeddings.",
  },
  layer_norm_type: {
    kind: "enum",
    name: "LayerNormType",
    values: LAYER_NORM_TYPES,
    default: "default",
    doc: "LayerNorm implementation. `low_precision` computes in float32 here (no autocast).",
  },
  layer_norm_with_affine: {
    ...BOOL,
    default: true,
    doc: "Affine weight (and bias) on all LayerNorms except QK-norm.",
  },
  layer_norm_eps: {
    ...FLOAT,
    default: 1e-5,
    doc: "OLMo later: epsilon of every LayerNorm / RMSNorm.",
  },
  attention_layer_norm_with_affine: {
    ...BOOL,
    default: true,
    doc: "Affine weight (and bias) on the QK-norms.",
  },
  max_sequence_length: {
    ...INT,
    default: 1024,
    doc: "Positions: `wpe` rows, data chunk size, RoPE/ALiBi cache size.",
  },
  include_bias: {
    ...BOOL,
    default: true,
    doc: "Biases on every Linear; also LayerNorm biases when `bias_for_layer_norm` is null.",
  },
  bias_for_layer_norm: {
    ...NULL_BOOL,
    default: null,
    doc: "LayerNorm bias; null inherits `include_bias`.",
  },
  scale_logits: {
    ...BOOL,
    default: false,
    doc: "Multiply logits by `1/sqrt(d_model)`; also scales the `wte` init std by " +
      "`0.5*sqrt(d_model)`.",
  },
  vocab_size: {
    ...INT,
    default: 50257,
    doc: "Tokenizer vocabulary size; must equal the tokenizer's.",
  },
  embedding_size: {
    ...NULL_INT,
    default: 50304,
    doc:
      "Rows of `wte` (padded vocabulary); null means `vocab_size`. Logits have this many columns.",
  },
  weight_tying: { ...BOOL, default: true, doc: "Output projection shares `wte.weight`." },
  eos_token_id: {
    ...INT,
    default: 50256,
    doc: "End-of-sequence id; also the beam search end index.",
  },
  pad_token_id: { ...INT, default: 50256, doc: "Padding id used by the collator." },
  init_device: {
    ...NULL_STR,
    default: null,
    doc: "`cpu`, `cuda:N` or `meta` in OLMo; accepted and ignored here (tfjs places tensors by " +
      "backend).",
  },
  init_fn: {
    kind: "enum",
    name: "InitFnType",
    values: INIT_FN_TYPES,
    default: "normal",
    doc: "Weight initialisation scheme.",
  },
  init_std: { ...FLOAT, default: 0.02, doc: "Standard deviation for `normal` / `full_megatron`." },
  init_cutoff_factor: {
    ...NULL_FLOAT,
    default: null,
    doc: "Truncate the normal init at ±factor·std; `full_megatron` defaults to 3.",
  },
  precision: {
    ...NULL_STR,
    default: null,
    doc:
      "Copied from `TrainConfig.precision` at start-up; the model computes in float32 regardless.",
  },
  scale_emb_init: {
    ...BOOL,
    default: false,
    doc: "OLMo later: under `full_megatron`, scale the `wte` init std by `sqrt(d_model)`.",
  },
  emb_init_std: {
    ...NULL_FLOAT,
    default: null,
    doc: "OLMo later: std of the `wte` init (overrides the init_fn's choice).",
  },
  norm_after: {
    ...BOOL,
    default: false,
    doc: "OLMo later (the OLMo 2 block): apply `attn_norm` / `ff_norm` to the attention and MLP " +
      "outputs before the residual add instead of to their inputs.",
  },
} as const;

/** Schema of `model` (OLMo `ModelConfig`), with OLMo's defaults (GPT-2-base-like). */
export const MODEL_CONFIG_SCHEMA: SectionSchema<typeof MODEL_CONFIG_FIELDS> = defineSection(
  "ModelConfig",
  MODEL_CONFIG_FIELDS,
);

/**
 * The model architecture (OLMo `ModelConfig`), derived from `MODEL_CONFIG_FIELDS`, where every
 * field is documented. All fields are snake_case as in OLMo's YAML.
 */
export type ModelConfig = ConfigOf<typeof MODEL_CONFIG_FIELDS>;

/** OLMo's defaults (GPT-2-base-like). */
export function defaultModelConfig(): ModelConfig {
  return MODEL_CONFIG_SCHEMA.defaults();
}
