/**
 * The Hugging Face-style files of OLMo's `hf_olmo`, which
 * `hf_olmo/add_hf_config_to_olmo_checkpoint.py` adds to an unsharded checkpoint folder:
 *
 * | file | contents |
 * | --- | --- |
 * | `config.json` | `OLMoConfig`: every `ModelConfig` field plus `model_type: "olmo"`, `use_cache: true`, `architectures: ["OlmoModelForCausalLM"]`; keys sorted, 2-space indent, as `PretrainedConfig.save_pretrained` writes them |
 * | `tokenizer.json` | the run's tokenizer |
 * | `tokenizer_config.json` | `{eos_token, max_length: null, tokenizer_class: "OLMoTokenizer", truncation}`: the arguments OLMo's `OLMoTokenizerFast.from_pretrained` passes |
 * | `special_tokens_map.json` | `{eos_token}` |
 *
 * The weights stay in OLMo's `model.pt` (with OLMo names) next to `config.yaml`; the writer of
 * the layout (`convertCheckpoint`) adds the same tensors as `model.safetensors`.
 * `transformers_version` is not written: no transformers library produced these files.
 *
 * @module
 */
import type { ModelConfig } from "../config/model_config.ts";

/** `model_type` of OLMo's HF config. */
export const HF_MODEL_TYPE = "olmo";
/** `architectures` of OLMo's HF config (as `OLMoConfig` spells it). */
export const HF_ARCHITECTURES: readonly string[] = ["OlmoModelForCausalLM"];
/** `tokenizer_class` OLMo's `OLMoTokenizerFast.save_pretrained` records. */
export const HF_TOKENIZER_CLASS = "OLMoTokenizer";
/** The HF config file name. */
export const HF_CONFIG_FILE = "config.json";
/** The tokenizer files of the layout, in the order they are written. */
export const HF_TOKENIZER_FILES: readonly string[] = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
];

/** JSON text with object keys sorted at every level, 2-space indent and a final newline. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sort(o[k])]));
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

/** The text of `config.json` for a model config (OLMo's `OLMoConfig(**asdict(), use_cache=True)`). */
export function hfConfigJson(config: ModelConfig): string {
  return sortedJson({
    ...config,
    model_type: HF_MODEL_TYPE,
    use_cache: true,
    architectures: [...HF_ARCHITECTURES],
  });
}

/**
 * Whether parsed `config.json` is an OLMo (`hf_olmo`) config.
 * @throws Error naming `source` when it is some other model type (not convertible here).
 */
export function isOlmoHfConfig(json: unknown, source: string): boolean {
  const type = (json as { model_type?: unknown } | null)?.model_type;
  if (type === HF_MODEL_TYPE) return true;
  throw new Error(
    `${source}: model_type ${JSON.stringify(type)} is not OLMo's ("${HF_MODEL_TYPE}"); only ` +
      `hf_olmo folders (config.yaml + model.pt + config.json) can be converted`,
  );
}

/**
 * The tokenizer files of the layout, by file name, for the tokenizer.json text `tokenizerJson`
 * (read from `source`): EOS is the model's `eos_token_id` decoded with special tokens kept, as
 * OLMo's `OLMoTokenizerFast.from_pretrained` does.
 * @throws Error naming `source` when it is not a tokenizer.json, its vocabulary size differs from
 *   `vocab_size` (OLMo's check), or `eos_token_id` is outside it.
 */
export async function hfTokenizerFiles(
  tokenizerJson: string,
  source: string,
  config: Pick<ModelConfig, "vocab_size" | "eos_token_id">,
  truncateDirection: string,
): Promise<Map<string, string>> {
  // Imported lazily so that checkpoint I/O does not load the tokenizer library.
  const { Tokenizer } = await import("../tokenizer/tokenizer.ts");
  const tokenizer = new Tokenizer(tokenizerJson, { eosTokenId: config.eos_token_id }, source);
  if (tokenizer.vocabSize !== config.vocab_size) {
    throw new Error(
      `${source} has ${tokenizer.vocabSize} tokens but model.vocab_size is ${config.vocab_size}; ` +
        `give the run's tokenizer with --tokenizer`,
    );
  }
  const eos = tokenizer.decode([config.eos_token_id], { skipSpecialTokens: false });
  return new Map([
    ["tokenizer.json", tokenizerJson],
    [
      "tokenizer_config.json",
      sortedJson({
        eos_token: eos,
        max_length: null,
        tokenizer_class: HF_TOKENIZER_CLASS,
        truncation: truncateDirection,
      }),
    ],
    ["special_tokens_map.json", sortedJson({ eos_token: eos })],
  ]);
}
