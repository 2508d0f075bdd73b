/**
 * OLMo's `Tokenizer` (`olmo/tokenizer.py`): `JsonTokenizer` (encoding, decoding, EOS and
 * truncation rules) plus loading from a tokenizer.json file, a folder, a checkpoint or a Hub id.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { resolveTokenizerFile, type ResolveTokenizerOptions } from "./hub.ts";
import {
  checkVocabSize,
  JsonTokenizer,
  type TokenizerOptions,
  type TruncationDirection,
} from "./json_tokenizer.ts";

export { checkVocabSize, type TokenizerOptions, type TruncationDirection };

/** The config sections `fromTrainConfig` reads. */
export interface TokenizerTrainConfig {
  /** `tokenizer` section. */
  tokenizer: { identifier: string; truncate_direction?: string | null };
  /** `model` section. */
  model: { vocab_size: number; eos_token_id?: number | null; pad_token_id?: number | null };
}

/** A Hugging Face tokenizer with OLMo's EOS and truncation rules, loadable from files. */
export class Tokenizer extends JsonTokenizer {
  /** Loads a tokenizer.json file (OLMo `from_file`). */
  static fromFile(path: string, options: TokenizerOptions = {}): Tokenizer {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      throw new Error(`tokenizer: cannot read ${path}: ${(e as Error).message}`);
    }
    return new Tokenizer(text, options, path);
  }

  /**
   * Loads a file, a directory holding tokenizer.json, or a Hub id (cached, else downloaded when
   * the network allows; the error says where to put the file otherwise).
   */
  static async fromPretrained(
    identifier: string,
    options: TokenizerOptions & ResolveTokenizerOptions = {},
  ): Promise<Tokenizer> {
    return Tokenizer.fromFile(await resolveTokenizerFile(identifier, options), options);
  }

  /**
   * OLMo `from_train_config`: the tokenizer named by `tokenizer.identifier`, with EOS/pad from
   * `model` and `truncate_direction` honoured. `model.vocab_size` must equal the tokenizer's.
   */
  static async fromTrainConfig(
    cfg: TokenizerTrainConfig,
    options: ResolveTokenizerOptions = {},
  ): Promise<Tokenizer> {
    const tokenizer = await Tokenizer.fromPretrained(cfg.tokenizer.identifier, {
      ...options,
      eosTokenId: cfg.model.eos_token_id,
      padTokenId: cfg.model.pad_token_id,
      truncateDirection: (cfg.tokenizer.truncate_direction ?? "right") as TruncationDirection,
    });
    checkVocabSize(cfg.model.vocab_size, tokenizer);
    return tokenizer;
  }

  /**
   * OLMo `from_checkpoint`: reads `dir/config.yaml` (`tokenizer` and `model` sections). Uses
   * `dir/tokenizer.json` when present, else `tokenizer.identifier`; checks the vocab size.
   * A folder in a Hugging Face transformers OLMo layout (or a Hub id in the local Hugging Face
   * cache) uses its `tokenizer.json` with EOS and pad from its `config.json`.
   */
  static async fromCheckpoint(
    dir: string,
    options: ResolveTokenizerOptions = {},
  ): Promise<Tokenizer> {
    // Imported lazily so that tokenizer workers do not load the checkpoint stack.
    const { hfTransformersTokenizerFile } = await import(
      "../checkpoint/hf_transformers/tokenizer_files.ts"
    );
    const hf = await hfTransformersTokenizerFile(dir);
    if (hf !== null) {
      return Tokenizer.fromFile(hf.path, { eosTokenId: hf.eosTokenId, padTokenId: hf.padTokenId });
    }
    const configPath = join(dir, "config.yaml");
    if (!existsSync(configPath)) throw new Error(`tokenizer: ${configPath} does not exist`);
    // Imported lazily so that tokenizer workers do not load the config stack.
    const { loadConfigSection } = await import("../config/mod.ts");
    const tokCfg = await loadConfigSection(configPath, "tokenizer", {
      validatePaths: false,
    }) as TokenizerTrainConfig["tokenizer"];
    const modelCfg = await loadConfigSection(configPath, "model", {
      validatePaths: false,
    }) as TokenizerTrainConfig["model"];
    const local = join(dir, "tokenizer.json");
    const identifier = existsSync(local) ? local : tokCfg.identifier;
    return Tokenizer.fromTrainConfig(
      { tokenizer: { ...tokCfg, identifier }, model: modelCfg },
      options,
    );
  }
}
