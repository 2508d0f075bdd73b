/**
 * `ModelConfig`: the architecture of an OLMo model. Field names, types and defaults are
 * OLMo's (`olmo/config.py`, spec §1.3), so OLMo's own `config.yaml` files load unchanged.
 *
 * @module
 */

/** LayerNorm implementation (`model.layer_norm_type`). */
export type LayerNormType = "default" | "low_precision" | "rms" | "amd_compatible";
/** MLP activation (`model.activation_type`). */
export type ActivationType = "gelu" | "relu" | "swiglu";
/** Transformer block implementation (`model.block_type`). */
export type BlockType = "sequential" | "parallel" | "llama";
/** Weight initialisation scheme (`model.init_fn`). */
export type InitFnType = "mitchell" | "normal" | "kaiming_normal" | "fan_in" | "full_megatron";

/** Every enum value, for validation and error messages. */
export const LAYER_NORM_TYPES: readonly LayerNormType[] = [
  "default",
  "low_precision",
  "rms",
  "amd_compatible",
];
/** Every `ActivationType`. */
export const ACTIVATION_TYPES: readonly ActivationType[] = ["gelu", "relu", "swiglu"];
/** Every `BlockType`. */
export const BLOCK_TYPES: readonly BlockType[] = ["sequential", "parallel", "llama"];
/** Every `InitFnType`. */
export const INIT_FN_TYPES: readonly InitFnType[] = [
  "mitchell",
  "normal",
  "kaiming_normal",
  "fan_in",
  "full_megatron",
];

/** The model architecture (OLMo `ModelConfig`). All fields are snake_case as in OLMo's YAML. */
export interface ModelConfig {
  /** Hidden size. Must be divisible by `n_heads`. */
  d_model: number;
  /** Attention heads. */
  n_heads: number;
  /** Transformer blocks. */
  n_layers: number;
  /** MLP hidden size is `mlp_ratio * d_model` unless `mlp_hidden_size` is set. */
  mlp_ratio: number;
  /** Exact MLP hidden size (before the swiglu halving); overrides `mlp_ratio`. */
  mlp_hidden_size: number | null;
  /** MLP activation. For swiglu the first half of `ff_proj`'s output is the value, the second the gate. */
  activation_type: ActivationType;
  /** Block implementation. */
  block_type: BlockType;
  /** Blocks per group; only renames parameters (`block_groups.G.J.`). Must divide `n_layers`. */
  block_group_size: number;
  /** ALiBi attention bias. Mutually exclusive with `rope`. */
  alibi: boolean;
  /** Maximum ALiBi slope exponent: slope of head h is `2^-((h+1) * alibi_bias_max / n_heads)`. */
  alibi_bias_max: number;
  /** Rotary position embeddings (GPT-NeoX half-split style). */
  rope: boolean;
  /** Apply RoPE in float32. Everything here computes in float32, so this changes nothing. */
  rope_full_precision: boolean;
  /** Only toggles a CUDA kernel choice in OLMo; accepted and ignored here (one warning). */
  flash_attention: boolean;
  /** Dropout on attention probabilities, training only. */
  attention_dropout: number;
  /** One key/value head shared by all query heads. */
  multi_query_attention: boolean;
  /** LayerNorm on queries and keys (QK-norm), over the whole d_model (or kv) vector. */
  attention_layer_norm: boolean;
  /** Dropout on the attention and MLP outputs before each residual add, training only. */
  residual_dropout: number;
  /** Dropout after the embeddings, training only. */
  embedding_dropout: number;
  /** LayerNorm implementation. `low_precision` computes in float32 here (no autocast). */
  layer_norm_type: LayerNormType;
  /** Affine weight (and bias) on all LayerNorms except QK-norm. */
  layer_norm_with_affine: boolean;
  /** Affine weight (and bias) on the QK-norms. */
  attention_layer_norm_with_affine: boolean;
  /** Positions: `wpe` rows, data chunk size, RoPE/ALiBi cache size. */
  max_sequence_length: number;
  /** Biases on every Linear; also LayerNorm biases when `bias_for_layer_norm` is null. */
  include_bias: boolean;
  /** LayerNorm bias; null inherits `include_bias`. */
  bias_for_layer_norm: boolean | null;
  /** Multiply logits by `1/sqrt(d_model)`; also scales the `wte` init std by `0.5*sqrt(d_model)`. */
  scale_logits: boolean;
  /** Tokenizer vocabulary size; must equal the tokenizer's. */
  vocab_size: number;
  /** Rows of `wte` (padded vocabulary); null means `vocab_size`. Logits have this many columns. */
  embedding_size: number | null;
  /** Output projection shares `wte.weight`. */
  weight_tying: boolean;
  /** End-of-sequence id; also the beam search end index. */
  eos_token_id: number;
  /** Padding id used by the collator. */
  pad_token_id: number;
  /** `cpu`, `cuda:N` or `meta` in OLMo; accepted and ignored here (tfjs places tensors by backend). */
  init_device: string | null;
  /** Weight initialisation scheme. */
  init_fn: InitFnType;
  /** Standard deviation for `normal` / `full_megatron`. */
  init_std: number;
  /** Truncate the normal init at ±factor·std; `full_megatron` defaults to 3. */
  init_cutoff_factor: number | null;
  /** Copied from `TrainConfig.precision` at start-up; the model computes in float32 regardless. */
  precision: string | null;
}

/** OLMo's defaults (GPT-2-base-like). */
export function defaultModelConfig(): ModelConfig {
  return {
    d_model: 768,
    n_heads: 12,
    n_layers: 12,
    mlp_ratio: 4,
    mlp_hidden_size: null,
    activation_type: "swiglu",
    block_type: "sequential",
    block_group_size: 1,
    alibi: false,
    alibi_bias_max: 8.0,
    rope: false,
    rope_full_precision: true,
    flash_attention: false,
    attention_dropout: 0.1,
    multi_query_attention: false,
    attention_layer_norm: false,
    residual_dropout: 0.1,
    embedding_dropout: 0.1,
    layer_norm_type: "default",
    layer_norm_with_affine: true,
    attention_layer_norm_with_affine: true,
    max_sequence_length: 1024,
    include_bias: true,
    bias_for_layer_norm: null,
    scale_logits: false,
    vocab_size: 50257,
    embedding_size: 50304,
    weight_tying: true,
    eos_token_id: 50256,
    pad_token_id: 50256,
    init_device: null,
    init_fn: "normal",
    init_std: 0.02,
    init_cutoff_factor: null,
    precision: null,
  };
}
