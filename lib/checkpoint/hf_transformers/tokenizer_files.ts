/**
 * The tokenizer files of the Hugging Face transformers OLMo layouts: `tokenizer.json` (the
 * `tokenizers` library's file), `tokenizer_config.json` and `special_tokens_map.json`, as
 * transformers' `GPT2TokenizerFast.save_pretrained` writes them in OLMo's converter (EOS and pad
 * tokens decoded from the model's ids; OLMo adds no BOS).
 *
 * @module
 */
import { join } from "node:path";
import type { ModelConfig } from "../../config/model_config.ts";
import { pathExists } from "../../util/fs.ts";
import { detectHfTransformersLayout, modelConfigFromHf } from "./config.ts";
import { HF_CONFIG_JSON } from "./folder.ts";
import { hfTransformersFolder } from "./locate.ts";

/** A transformers folder's tokenizer: its file and the ids `config.json` gives. */
export interface HfTokenizerFile {
  /** Path of `tokenizer.json`. */
  path: string;
  /** `eos_token_id` of `config.json`. */
  eosTokenId: number;
  /** `pad_token_id` of `config.json` (EOS when null). */
  padTokenId: number;
}

/**
 * The tokenizer of the transformers OLMo folder (or cached Hub id) `pathOrId`, or null when it
 * is not one.
 * @throws Error naming the folder when it has no `tokenizer.json`.
 */
export async function hfTransformersTokenizerFile(
  pathOrId: string,
): Promise<HfTokenizerFile | null> {
  const dir = await hfTransformersFolder(pathOrId);
  if (dir === null) return null;
  const path = join(dir, "tokenizer.json");
  if (!(await pathExists(path))) {
    throw new Error(`tokenizer: ${dir} (a transformers OLMo folder) has no tokenizer.json`);
  }
  const configPath = join(dir, HF_CONFIG_JSON);
  const json = JSON.parse(await Deno.readTextFile(configPath)) as Record<string, unknown>;
  const config = modelConfigFromHf(json, detectHfTransformersLayout(json, configPath)!, configPath);
  return { path, eosTokenId: config.eos_token_id, padTokenId: config.pad_token_id };
}

/**
 * The tokenizer files for a transformers folder, by name, from the tokenizer.json text
 * `tokenizerJson` (read from `source`).
 * @throws Error naming `source` when it is not a tokenizer.json, or it has more tokens than the
 *   model has embedding rows, or the EOS / pad ids are outside it.
 */
export async function hfTransformersTokenizerFiles(
  tokenizerJson: string,
  source: string,
  config: ModelConfig,
): Promise<Map<string, string>> {
  // Imported lazily so that checkpoint I/O does not load the tokenizer library.
  const { Tokenizer } = await import("../../tokenizer/tokenizer.ts");
  const tokenizer = new Tokenizer(tokenizerJson, { eosTokenId: config.eos_token_id }, source);
  const rows = config.embedding_size ?? config.vocab_size;
  if (tokenizer.vocabSize > rows) {
    throw new Error(
      `${source} has ${tokenizer.vocabSize} tokens, more than the model's ${rows} ` +
        "embedding rows; give the run's tokenizer with --tokenizer",
    );
  }
  const text = (id: number, what: string) => {
    if (id < 0 || id >= tokenizer.vocabSize) {
      throw new Error(`${source}: ${what} ${id} is outside its ${tokenizer.vocabSize} tokens`);
    }
    return tokenizer.decode([id], { skipSpecialTokens: false });
  };
  const eos = text(config.eos_token_id, "eos_token_id");
  const pad = text(config.pad_token_id, "pad_token_id");
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return new Map([
    ["tokenizer.json", tokenizerJson],
    [
      "tokenizer_config.json",
      json({
        add_bos_token: false,
        add_prefix_space: false,
        bos_token: eos,
        clean_up_tokenization_spaces: false,
        eos_token: eos,
        model_max_length: config.max_sequence_length,
        pad_token: pad,
        tokenizer_class: "GPT2Tokenizer",
        unk_token: eos,
      }),
    ],
    [
      "special_tokens_map.json",
      json({ bos_token: eos, eos_token: eos, pad_token: pad, unk_token: eos }),
    ],
  ]);
}
