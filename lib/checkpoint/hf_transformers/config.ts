/**
 * `config.json` of the Hugging Face transformers layouts of OLMo models, and how it maps to an
 * OLMo `ModelConfig`:
 *
 * | layout | `model_type` | architecture | block |
 * | --- | --- | --- | --- |
 * | `hf-olmo2` | `olmo2` | `Olmo2ForCausalLM` | OLMo 2: `norm_after`, RMSNorm with weights, QK-norm over the full q and k |
 * | `hf-olmo` | `olmo` | `OlmoForCausalLM` | OLMo 1 / 1.7: pre-norm, LayerNorm without affine, optional `clip_qkv` |
 *
 * Both have rotary embeddings, a SwiGLU MLP and no biases. transformers' `vocab_size` is the
 * number of embedding rows (OLMo's `embedding_size`). A `config.json` with `model_type: "olmo"`
 * but OLMo's own field names (`d_model`, ...) is OLMo's older `hf_olmo` layout, which is not this.
 *
 * @module
 */
import { defaultModelConfig, type ModelConfig } from "../../config/model_config.ts";
import { effectiveKvHeads } from "../../model/dims.ts";

/** The transformers layouts olmo-ts reads and writes. */
export type HfTransformersLayout = "hf-olmo2" | "hf-olmo";

/** `model_type` and architecture of each layout. */
export const HF_TRANSFORMERS_TYPES: Readonly<
  Record<HfTransformersLayout, { modelType: string; architecture: string }>
> = {
  "hf-olmo2": { modelType: "olmo2", architecture: "Olmo2ForCausalLM" },
  "hf-olmo": { modelType: "olmo", architecture: "OlmoForCausalLM" },
};

/** The fields of transformers' `OlmoConfig` / `Olmo2Config` that olmo-ts reads and writes. */
export interface HfTransformersConfig {
  architectures: string[];
  model_type: string;
  attention_bias: boolean;
  attention_dropout: number;
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  hidden_act: string;
  hidden_size: number;
  initializer_range: number;
  intermediate_size: number;
  max_position_embeddings: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  num_key_value_heads: number;
  rope_scaling: null;
  rope_theta: number;
  tie_word_embeddings: boolean;
  torch_dtype: string;
  use_cache: boolean;
  vocab_size: number;
  /** `hf-olmo` only. */
  clip_qkv?: number | null;
  /** `hf-olmo2` only. */
  rms_norm_eps?: number;
}

/**
 * The transformers layout of a parsed `config.json`, or null when it is OLMo's own `hf_olmo`
 * config (`model_type: "olmo"` with OLMo field names such as `d_model`).
 * @throws Error naming `source` and the `model_type` when it is neither.
 */
export function detectHfTransformersLayout(
  json: unknown,
  source: string,
): HfTransformersLayout | null {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  const o = json as Record<string, unknown>;
  if (o.model_type === "olmo2") return "hf-olmo2";
  if (o.model_type === "olmo") return "d_model" in o ? null : "hf-olmo";
  throw new Error(
    `${source}: model_type ${JSON.stringify(o.model_type ?? null)} is not an OLMo model; ` +
      `expected "olmo2" (Olmo2ForCausalLM) or "olmo" (OlmoForCausalLM, or OLMo's hf_olmo)`,
  );
}

function field<T>(
  o: Record<string, unknown>,
  key: string,
  kind: "int" | "number" | "bool",
  source: string,
  fallback?: T,
): T {
  const v = o[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${source}: ${key} is missing`);
  }
  const ok = kind === "bool"
    ? typeof v === "boolean"
    : typeof v === "number" && Number.isFinite(v) && (kind === "number" || Number.isInteger(v));
  if (!ok) {
    throw new Error(
      `${source}: ${key} must be ${kind === "bool" ? "a boolean" : `an ${kind}`}, ` +
        `got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

/**
 * The OLMo `ModelConfig` of a transformers `config.json` (`json`, parsed, read from `source`)
 * in `layout`. Dropout is off (as `from_pretrained` models are in eval mode).
 * @throws Error naming `source` and the key for a missing or wrong-typed field, or a setting
 *   OLMo cannot express (`rope_scaling`, `attention_bias`, an activation other than silu).
 */
export function modelConfigFromHf(
  json: Record<string, unknown>,
  layout: HfTransformersLayout,
  source: string,
): ModelConfig {
  const int = (k: string, fallback?: number) => field<number>(json, k, "int", source, fallback);
  const num = (k: string, fallback?: number) => field<number>(json, k, "number", source, fallback);
  const bool = (k: string, fallback?: boolean) => field<boolean>(json, k, "bool", source, fallback);
  if (json.rope_scaling !== undefined && json.rope_scaling !== null) {
    throw new Error(
      `${source}: rope_scaling ${JSON.stringify(json.rope_scaling)} is not ` +
        "supported (OLMo models use plain RoPE)",
    );
  }
  if (bool("attention_bias", false)) {
    throw new Error(
      `${source}: attention_bias true is not supported: OLMo's include_bias puts ` +
        "biases on every Linear, transformers only on the attention projections",
    );
  }
  const act = json.hidden_act ?? "silu";
  if (act !== "silu") {
    throw new Error(
      `${source}: hidden_act ${JSON.stringify(act)} is not supported; OLMo's ` +
        'SwiGLU is "silu"',
    );
  }
  const d = int("hidden_size");
  const nHeads = int("num_attention_heads");
  const embeddingSize = int("vocab_size");
  const eos = json.eos_token_id === null ? embeddingSize - 1 : int("eos_token_id", 0);
  const olmo2 = layout === "hf-olmo2";
  const clip = olmo2 ? null : json.clip_qkv ?? null;
  if (clip !== null && (typeof clip !== "number" || !(clip > 0))) {
    throw new Error(
      `${source}: clip_qkv must be null or a number > 0, got ${JSON.stringify(clip)}`,
    );
  }
  return {
    ...defaultModelConfig(),
    d_model: d,
    n_heads: nHeads,
    n_kv_heads: int("num_key_value_heads", nHeads),
    multi_query_attention: null,
    clip_qkv: clip as number | null,
    n_layers: int("num_hidden_layers"),
    mlp_hidden_size: 2 * int("intermediate_size"),
    activation_type: "swiglu",
    block_type: "sequential",
    rope: true,
    rope_theta: num("rope_theta", 10_000),
    attention_dropout: num("attention_dropout", 0),
    residual_dropout: 0,
    embedding_dropout: 0,
    attention_layer_norm: olmo2,
    norm_after: olmo2,
    layer_norm_type: olmo2 ? "rms" : "default",
    layer_norm_with_affine: olmo2,
    attention_layer_norm_with_affine: olmo2,
    layer_norm_eps: olmo2 ? num("rms_norm_eps", 1e-6) : 1e-5,
    max_sequence_length: int("max_position_embeddings"),
    include_bias: false,
    bias_for_layer_norm: false,
    vocab_size: embeddingSize,
    embedding_size: embeddingSize,
    weight_tying: bool("tie_word_embeddings", false),
    eos_token_id: eos,
    pad_token_id: json.pad_token_id === null ? eos : int("pad_token_id", eos),
    init_std: num("initializer_range", 0.02),
  };
}

/** What a layout fixes, as `[option, required value, its description]`. */
function layoutRequirements(
  layout: HfTransformersLayout,
): [keyof ModelConfig, unknown, string][] {
  const olmo2 = layout === "hf-olmo2";
  const common: [keyof ModelConfig, unknown, string][] = [
    ["block_type", "sequential", "the sequential block"],
    ["alibi", false, "no ALiBi"],
    ["rope", true, "rotary embeddings"],
    ["activation_type", "swiglu", "a SwiGLU MLP"],
    ["include_bias", false, "no biases"],
    ["embedding_layer_norm", false, "no embedding LayerNorm"],
    ["scale_logits", false, "unscaled logits"],
    ["norm_after", olmo2, olmo2 ? "norms after attention and MLP" : "pre-norm blocks"],
    ["attention_layer_norm", olmo2, olmo2 ? "QK-norm" : "no QK-norm"],
  ];
  if (olmo2) {
    return [
      ...common,
      ["layer_norm_type", "rms", "RMSNorm"],
      ["layer_norm_with_affine", true, "norm weights"],
      ["attention_layer_norm_with_affine", true, "QK-norm weights"],
      ["clip_qkv", null, "no clip_qkv"],
    ];
  }
  return [
    ...common,
    ["layer_norm_with_affine", false, "LayerNorm without weights"],
    ["layer_norm_eps", 1e-5, "LayerNorm eps 1e-5"],
  ];
}

/**
 * The transformers `config.json` object for `config` in `layout`, with the fields transformers
 * expects (`from_pretrained` fills the rest with its defaults).
 * @throws Error naming every option `config` sets that the layout cannot represent.
 */
export function hfConfigFromModel(
  config: ModelConfig,
  layout: HfTransformersLayout,
): HfTransformersConfig {
  const problems: string[] = [];
  for (const [key, want, what] of layoutRequirements(layout)) {
    if (config[key] !== want) {
      problems.push(`${key}: ${JSON.stringify(config[key])} (the layout has ${what})`);
    }
  }
  if (layout === "hf-olmo" && config.layer_norm_type === "rms") {
    problems.push('layer_norm_type: "rms" (the layout has LayerNorm)');
  }
  if (config.bias_for_layer_norm === true && config.layer_norm_with_affine) {
    problems.push("bias_for_layer_norm: true (the layout has no norm biases)");
  }
  if (problems.length > 0) {
    throw new Error(
      `the ${
        HF_TRANSFORMERS_TYPES[layout].architecture
      } layout (--to ${layout}) cannot represent ` +
        `this model: ${problems.join("; ")}`,
    );
  }
  const hidden = config.mlp_hidden_size ?? config.mlp_ratio * config.d_model;
  const { modelType, architecture } = HF_TRANSFORMERS_TYPES[layout];
  const out: HfTransformersConfig = {
    architectures: [architecture],
    model_type: modelType,
    attention_bias: false,
    attention_dropout: config.attention_dropout,
    bos_token_id: null,
    eos_token_id: config.eos_token_id,
    pad_token_id: config.pad_token_id,
    hidden_act: "silu",
    hidden_size: config.d_model,
    initializer_range: config.init_std,
    intermediate_size: hidden / 2,
    max_position_embeddings: config.max_sequence_length,
    num_attention_heads: config.n_heads,
    num_hidden_layers: config.n_layers,
    num_key_value_heads: effectiveKvHeads(config),
    rope_scaling: null,
    rope_theta: config.rope_theta,
    tie_word_embeddings: config.weight_tying,
    torch_dtype: "float32",
    use_cache: true,
    vocab_size: config.embedding_size ?? config.vocab_size,
  };
  if (layout === "hf-olmo2") out.rms_norm_eps = config.layer_norm_eps;
  else out.clip_qkv = config.clip_qkv;
  return out;
}
