/**
 * The model's parameters as OLMo registers them (`olmo/model.py` `Olmo.__init__`, `OlmoBlock`):
 * names, shapes, registration order and how each one is initialised. Computed from the config
 * alone, so parameter counts need no allocation.
 *
 * @module
 */
import type { ModelConfig } from "../config/model_config.ts";
import { modelDims } from "./dims.ts";

/** OLMo's `ModuleType` for `full_megatron` init (`null` where OLMo passes none: the llama block). */
export type InitModuleType = "in" | "out" | "emb" | "final_out";

/** How a parameter is initialised (OLMo `olmo/initialization.py` `init_weights` arguments). */
export type ParamInit =
  | { kind: "ones" }
  | { kind: "zeros" }
  | {
    kind: "weight";
    /** Effective input size `d` for mitchell / fan_in. */
    d: number;
    /** Block index for mitchell's depth scaling, or null. */
    layerId: number | null;
    /** Multiplies the std (wte with scale_logits). */
    stdFactor: number;
    /** Module type for full_megatron. */
    moduleType: InitModuleType | null;
    /** OLMo's `_is_residual` (only the block `ff_out`): normal init divides by sqrt(2·n_layers). */
    residual: boolean;
  };

/** One parameter: OLMo name, shape (Linear weights are [out, in]) and initialisation. */
export interface ParamSpec {
  /** Name as in OLMo's state dict, e.g. `transformer.blocks.0.att_proj.weight`. */
  name: string;
  /** Shape, outermost first. */
  shape: number[];
  /** Initialisation rule. */
  init: ParamInit;
}

/**
 * Prefix of block `layer`'s parameters: `transformer.blocks.N.` for group size 1, else
 * `transformer.block_groups.G.J.` with `G = N / size`, `J = N % size`.
 */
export function blockPrefix(layer: number, blockGroupSize: number): string {
  if (blockGroupSize <= 1) return `transformer.blocks.${layer}.`;
  const g = Math.floor(layer / blockGroupSize);
  return `transformer.block_groups.${g}.${layer % blockGroupSize}.`;
}

function weight(
  d: number,
  layerId: number | null,
  moduleType: InitModuleType | null,
  opts: { stdFactor?: number; residual?: boolean } = {},
): ParamInit {
  return {
    kind: "weight",
    d,
    layerId,
    stdFactor: opts.stdFactor ?? 1,
    moduleType,
    residual: opts.residual ?? false,
  };
}

/**
 * Every parameter of the model in OLMo's `named_parameters()` order: `wte, ln_f, blocks…, wpe,
 * ff_out, emb_norm`; inside a block `[k_norm, q_norm,] attn_out, ff_out`, then `attn_norm, ff_norm,
 * att_proj, ff_proj` (sequential), `norm, fused_attn_ff_proj` (parallel) or `attn_norm, ff_norm,
 * q_proj, k_proj, v_proj, ff_proj` (llama). Weights come before biases.
 */
export function parameterSpecs(config: ModelConfig): ParamSpec[] {
  const dims = modelDims(config);
  const { d, kvDim, hidden, actOut, embeddingSize } = dims;
  const bias = config.include_bias;
  const specs: ParamSpec[] = [];
  const linear = (name: string, out: number, inp: number, init: ParamInit) => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], init });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out], init: { kind: "zeros" } });
  };
  const norm = (name: string, size: number, affine: boolean) => {
    if (!affine) return;
    specs.push({ name: `${name}.weight`, shape: [size], init: { kind: "ones" } });
    if (dims.lnBias) specs.push({ name: `${name}.bias`, shape: [size], init: { kind: "zeros" } });
  };

  const wteStdFactor = config.scale_logits ? 0.5 * Math.sqrt(d) : 1;
  specs.push({
    name: "transformer.wte.weight",
    shape: [embeddingSize, d],
    init: weight(d, null, "emb", { stdFactor: wteStdFactor }),
  });
  norm("transformer.ln_f", d, dims.lnAffine);

  for (let i = 0; i < config.n_layers; i++) {
    const p = blockPrefix(i, config.block_group_size);
    if (config.attention_layer_norm) {
      norm(`${p}k_norm`, kvDim, config.attention_layer_norm_with_affine);
      norm(`${p}q_norm`, d, config.attention_layer_norm_with_affine);
    }
    linear(`${p}attn_out`, d, d, weight(d, i, "out"));
    linear(`${p}ff_out`, d, actOut, weight(actOut, i, "out", { residual: true }));
    if (config.block_type === "parallel") {
      norm(`${p}norm`, d, dims.lnAffine);
      linear(`${p}fused_attn_ff_proj`, d + 2 * kvDim + hidden, d, weight(d, null, "in"));
    } else {
      norm(`${p}attn_norm`, d, dims.lnAffine);
      norm(`${p}ff_norm`, d, dims.lnAffine);
      if (config.block_type === "sequential") {
        linear(`${p}att_proj`, d + 2 * kvDim, d, weight(d, null, "in"));
        linear(`${p}ff_proj`, hidden, d, weight(d, null, "in"));
      } else {
        linear(`${p}q_proj`, d, d, weight(d, null, null));
        linear(`${p}k_proj`, kvDim, d, weight(d, null, null));
        linear(`${p}v_proj`, kvDim, d, weight(d, null, null));
        linear(`${p}ff_proj`, hidden, d, weight(d, null, null));
      }
    }
  }

  if (dims.absolutePositions) {
    specs.push({
      name: "transformer.wpe.weight",
      shape: [config.max_sequence_length, d],
      init: weight(d, null, "emb"),
    });
  }
  if (!config.weight_tying) {
    linear("transformer.ff_out", embeddingSize, d, weight(d, null, "final_out"));
  }
  if (config.embedding_layer_norm) norm("transformer.emb_norm", d, dims.lnAffine);
  return specs;
}

/** True for the embedding tables OLMo's `num_params(include_embedding=False)` leaves out. */
export function isEmbeddingParam(name: string): boolean {
  return name.includes(".wte.") || name.includes(".wpe.");
}

/**
 * OLMo `num_params`: the number of parameter elements. With `includeEmbedding: false` the
 * `wte`/`wpe` tables are excluded (an untied `ff_out` still counts). Needs no allocation.
 */
export function countParams(
  config: ModelConfig,
  opts: { includeEmbedding?: boolean } = {},
): number {
  const includeEmbedding = opts.includeEmbedding ?? true;
  let n = 0;
  for (const s of parameterSpecs(config)) {
    if (!includeEmbedding && isEmbeddingParam(s.name)) continue;
    n += s.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}
