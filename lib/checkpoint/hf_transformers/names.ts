/**
 * Parameter names of the Hugging Face transformers OLMo layouts and their mapping to OLMo's
 * (as OLMo's `scripts/convert_olmo2_to_hf.py` maps them):
 *
 * | OLMo | transformers |
 * | --- | --- |
 * | `transformer.wte.weight` | `model.embed_tokens.weight` |
 * | `transformer.blocks.N.att_proj.weight` (q, k, v stacked) | `model.layers.N.self_attn.{q,k,v}_proj.weight` |
 * | `transformer.blocks.N.attn_out.weight` | `model.layers.N.self_attn.o_proj.weight` |
 * | `transformer.blocks.N.{q,k}_norm.weight` | `model.layers.N.self_attn.{q,k}_norm.weight` (olmo2) |
 * | `transformer.blocks.N.ff_proj.weight` (first half, second half) | `model.layers.N.mlp.{up,gate}_proj.weight` |
 * | `transformer.blocks.N.ff_out.weight` | `model.layers.N.mlp.down_proj.weight` |
 * | `transformer.blocks.N.attn_norm.weight` | `model.layers.N.post_attention_layernorm.weight` (olmo2) |
 * | `transformer.blocks.N.ff_norm.weight` | `model.layers.N.post_feedforward_layernorm.weight` (olmo2) |
 * | `transformer.ln_f.weight` | `model.norm.weight` (olmo2) |
 * | `transformer.ff_out.weight` (untied) | `lm_head.weight` (absent when tied) |
 *
 * The OLMo 1 layout (`olmo`) has no norm weights at all (non-affine LayerNorm). Splitting and
 * stacking are row slices of `[out, in]` matrices, so values are copied bit for bit.
 *
 * @module
 */
import type { ModelConfig } from "../../config/model_config.ts";
import { modelDims } from "../../model/dims.ts";
import { parameterSpecs } from "../../model/params.ts";
import type { HostTensor, NamedHostTensors } from "../../util/host_tensor.ts";
import { numElements, toFloat32 } from "../../util/host_tensor.ts";
import type { HfTransformersLayout } from "./config.ts";

/** One transformers tensor made of consecutive row blocks of OLMo tensors. */
interface RowPiece {
  /** OLMo parameter name. */
  olmo: string;
  /** First row of the OLMo tensor that this piece covers. */
  row: number;
  /** Rows covered. */
  rows: number;
}

/** transformers name → the OLMo row blocks it holds, in transformers' `named_parameters` order. */
function nameMap(config: ModelConfig, layout: HfTransformersLayout): Map<string, RowPiece> {
  const dims = modelDims(config);
  const olmo2 = layout === "hf-olmo2";
  const map = new Map<string, RowPiece>();
  const whole = (hf: string, olmo: string, rows: number) => map.set(hf, { olmo, row: 0, rows });
  whole("model.embed_tokens.weight", "transformer.wte.weight", dims.embeddingSize);
  for (let i = 0; i < config.n_layers; i++) {
    const b = `transformer.blocks.${i}.`;
    const h = `model.layers.${i}.`;
    const qkv = `${b}att_proj.weight`;
    map.set(`${h}self_attn.q_proj.weight`, { olmo: qkv, row: 0, rows: dims.d });
    map.set(`${h}self_attn.k_proj.weight`, { olmo: qkv, row: dims.d, rows: dims.kvDim });
    map.set(`${h}self_attn.v_proj.weight`, {
      olmo: qkv,
      row: dims.d + dims.kvDim,
      rows: dims.kvDim,
    });
    whole(`${h}self_attn.o_proj.weight`, `${b}attn_out.weight`, dims.d);
    if (olmo2) {
      whole(`${h}self_attn.q_norm.weight`, `${b}q_norm.weight`, dims.d);
      whole(`${h}self_attn.k_norm.weight`, `${b}k_norm.weight`, dims.kvDim);
    }
    const half = dims.hidden / 2;
    map.set(`${h}mlp.gate_proj.weight`, { olmo: `${b}ff_proj.weight`, row: half, rows: half });
    map.set(`${h}mlp.up_proj.weight`, { olmo: `${b}ff_proj.weight`, row: 0, rows: half });
    whole(`${h}mlp.down_proj.weight`, `${b}ff_out.weight`, dims.d);
    if (olmo2) {
      whole(`${h}post_attention_layernorm.weight`, `${b}attn_norm.weight`, dims.d);
      whole(`${h}post_feedforward_layernorm.weight`, `${b}ff_norm.weight`, dims.d);
    }
  }
  if (olmo2) whole("model.norm.weight", "transformer.ln_f.weight", dims.d);
  if (!config.weight_tying) {
    whole("lm_head.weight", "transformer.ff_out.weight", dims.embeddingSize);
  }
  return map;
}

/** Row width (elements per row) of a tensor: 1 for vectors. */
function rowWidth(shape: readonly number[]): number {
  return shape.length <= 1 ? 1 : numElements(shape.slice(1));
}

/**
 * The OLMo state dict (names as `parameterSpecs(config)`, block groups not used) in the
 * transformers layout: float32 tensors under transformers' names.
 * @throws Error naming a missing OLMo tensor.
 */
export function olmoToHfState(
  state: NamedHostTensors,
  config: ModelConfig,
  layout: HfTransformersLayout,
): NamedHostTensors {
  const out: NamedHostTensors = new Map();
  for (const [hf, piece] of nameMap(config, layout)) {
    const src = state.get(piece.olmo);
    if (!src) throw new Error(`${layout}: the model has no tensor ${piece.olmo} (for ${hf})`);
    const width = rowWidth(src.shape);
    const data = toFloat32(src).slice(piece.row * width, (piece.row + piece.rows) * width);
    const shape = src.shape.length <= 1 ? [piece.rows] : [piece.rows, ...src.shape.slice(1)];
    out.set(hf, { dtype: "float32", shape, data });
  }
  return out;
}

/**
 * The transformers state dict `hf` (any float dtype; bf16 and fp16 become float32) as OLMo's
 * state dict for `config`. `sourceOf(name)` names the file a tensor came from, for errors.
 * Each tensor is removed from `hf` once copied, so that a large model is not held twice.
 * @throws Error naming the file and the tensor for a missing, unexpected or misshapen tensor.
 */
export function hfToOlmoState(
  hf: NamedHostTensors,
  config: ModelConfig,
  layout: HfTransformersLayout,
  sourceOf: (name: string) => string,
): NamedHostTensors {
  const specs = new Map(
    parameterSpecs({ ...config, block_group_size: 1 }).map((s) => [
      s.name,
      s.shape,
    ]),
  );
  const map = nameMap(config, layout);
  const unexpected = [...hf.keys()].filter((n) =>
    !map.has(n) && !n.endsWith("rotary_emb.inv_freq")
  );
  if (unexpected.length > 0) {
    const n = unexpected[0];
    throw new Error(
      `${sourceOf(n)}: unexpected tensor ${n} for ${layout} ` +
        `(${unexpected.length} in all); is this the right model_type?`,
    );
  }
  const buffers = new Map<string, Float32Array>();
  for (const [hfName, piece] of map) {
    const t: HostTensor | undefined = hf.get(hfName);
    const shape = specs.get(piece.olmo);
    if (!shape) throw new Error(`${layout}: no OLMo parameter ${piece.olmo}`);
    if (!t) throw new Error(`${sourceOf(hfName)}: tensor ${hfName} is missing`);
    const want = shape.length <= 1 ? [piece.rows] : [piece.rows, ...shape.slice(1)];
    if (t.shape.length !== want.length || t.shape.some((s, i) => s !== want[i])) {
      throw new Error(
        `${sourceOf(hfName)}: tensor ${hfName} has shape [${t.shape}], expected [${want}] ` +
          `(from config.json)`,
      );
    }
    if (t.dtype === "bool" || t.dtype.startsWith("int") || t.dtype.startsWith("uint")) {
      throw new Error(`${sourceOf(hfName)}: tensor ${hfName} has dtype ${t.dtype}, not a float`);
    }
    let buf = buffers.get(piece.olmo);
    if (!buf) buffers.set(piece.olmo, buf = new Float32Array(numElements(shape)));
    buf.set(toFloat32(t), piece.row * rowWidth(shape));
    hf.delete(hfName);
  }
  const out: NamedHostTensors = new Map();
  for (const [name, shape] of specs) {
    const data = buffers.get(name);
    if (data) out.set(name, { dtype: "float32", shape: [...shape], data });
  }
  return out;
}
