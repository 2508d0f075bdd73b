/**
 * Reading and writing model folders in the Hugging Face transformers OLMo layouts
 * (`Olmo2ForCausalLM`, `OlmoForCausalLM`; see `config.ts` and `names.ts`):
 *
 * - `config.json`;
 * - the weights: `model.safetensors`, or shards `model-0000K-of-0000N.safetensors` listed by
 *   `model.safetensors.index.json` (`weight_map`: tensor name → shard file). Any float dtype is
 *   read (bf16 and fp16 become float32); olmo-ts writes one float32 `model.safetensors`;
 * - optionally the tokenizer: `tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`.
 *
 * Folders are untrusted input: errors name the file and the tensor or key.
 *
 * @module
 */
import { join } from "node:path";
import type { ModelConfig } from "../../config/model_config.ts";
import { makeStateDictCompatible } from "../../model/state_dict.ts";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import { pathExists, writeFileAtomic } from "../../util/fs.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import {
  detectHfTransformersLayout,
  hfConfigFromModel,
  type HfTransformersLayout,
  modelConfigFromHf,
} from "./config.ts";
import { hfToOlmoState, olmoToHfState } from "./names.ts";

/** `config.json`. */
export const HF_CONFIG_JSON = "config.json";
/** The single-file weights. */
export const HF_WEIGHTS_FILE = "model.safetensors";
/** The index of sharded weights. */
export const HF_WEIGHTS_INDEX = "model.safetensors.index.json";
/** Tokenizer files written next to the model. */
export const HF_TOKENIZER_FILES: readonly string[] = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
];

/** A transformers OLMo folder read into OLMo terms. */
export interface HfTransformersCheckpoint {
  /** Which layout `config.json` declares. */
  layout: HfTransformersLayout;
  /** The OLMo model config it describes. */
  config: ModelConfig;
  /** Parameters under OLMo's names, float32. */
  state: NamedHostTensors;
  /** The weight files read. */
  weightFiles: string[];
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The transformers layout of folder `dir` from its `config.json`, or null when it has none or
 * it is OLMo's own `hf_olmo` config.
 * @throws Error naming `config.json` when it is not JSON or of an unknown `model_type`.
 */
export async function hfTransformersLayoutOf(dir: string): Promise<HfTransformersLayout | null> {
  const path = join(dir, HF_CONFIG_JSON);
  if (!(await pathExists(path))) return null;
  return detectHfTransformersLayout(await readJson(path), path);
}

/** Shard file of each tensor, from `model.safetensors.index.json`. */
async function readIndex(dir: string): Promise<Map<string, string>> {
  const path = join(dir, HF_WEIGHTS_INDEX);
  const json = await readJson(path) as { weight_map?: unknown } | null;
  const map = json?.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) {
    throw new Error(`${path}: expected an object with a weight_map (tensor name -> file)`);
  }
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== "string" || file.includes("/") || file.includes("\\") || file === "..") {
      throw new Error(
        `${path}: weight_map.${name} must be a file name, got ${JSON.stringify(file)}`,
      );
    }
    out.set(name, file);
  }
  return out;
}

/**
 * The number of token ids of the folder's `tokenizer.json` (largest id of its vocabulary and
 * added tokens, plus one), or null without one. transformers' `vocab_size` counts the padded
 * embedding rows; this is OLMo's `vocab_size`.
 * @throws Error naming the file when it is not a tokenizer.json.
 */
export async function tokenizerVocabSize(dir: string): Promise<number | null> {
  const path = join(dir, "tokenizer.json");
  if (!(await pathExists(path))) return null;
  const json = await readJson(path) as {
    model?: { vocab?: unknown };
    added_tokens?: { id?: unknown }[];
  } | null;
  const vocab = json?.model?.vocab;
  if (vocab === null || typeof vocab !== "object") {
    throw new Error(`${path}: not a tokenizer.json (no model.vocab)`);
  }
  const ids = Array.isArray(vocab)
    ? [vocab.length - 1]
    : Object.values(vocab as Record<string, unknown>).filter((v) => typeof v === "number");
  for (const t of json?.added_tokens ?? []) if (typeof t.id === "number") ids.push(t.id);
  return (ids as number[]).reduce((a, b) => Math.max(a, b), -1) + 1;
}

/**
 * Reads the transformers OLMo folder `dir`: `config.json`, then the weights (single file or
 * shards), mapped to OLMo names. With a `tokenizer.json` in the folder, `vocab_size` is the
 * tokenizer's (transformers' own `vocab_size` becomes `embedding_size`).
 * @throws Error naming the file and tensor for an unknown `model_type`, a shard the index names
 *   that is missing, a tensor the index places in a file that lacks it, or a tensor of the wrong
 *   shape.
 */
export async function readHfTransformersFolder(dir: string): Promise<HfTransformersCheckpoint> {
  const configPath = join(dir, HF_CONFIG_JSON);
  const json = await readJson(configPath);
  const layout = detectHfTransformersLayout(json, configPath);
  if (layout === null) {
    throw new Error(`${configPath} is OLMo's hf_olmo config, not a transformers one`);
  }
  const config = modelConfigFromHf(json as Record<string, unknown>, layout, configPath);
  const tokens = await tokenizerVocabSize(dir);
  if (tokens !== null && tokens <= config.embedding_size!) config.vocab_size = tokens;
  const hf: NamedHostTensors = new Map();
  const fileOf = new Map<string, string>();
  const weightFiles: string[] = [];
  if (await pathExists(join(dir, HF_WEIGHTS_INDEX))) {
    const index = await readIndex(dir);
    const indexPath = join(dir, HF_WEIGHTS_INDEX);
    for (const file of new Set(index.values())) {
      const path = join(dir, file);
      if (!(await pathExists(path))) {
        throw new Error(`${indexPath} names shard ${file}, but ${path} does not exist`);
      }
      const { tensors } = await readSafetensors(path);
      weightFiles.push(path);
      for (const [name, t] of tensors) {
        hf.set(name, t);
        fileOf.set(name, path);
      }
    }
    for (const [name, file] of index) {
      if (!hf.has(name)) {
        throw new Error(`${join(dir, file)}: tensor ${name} is missing (named by ${indexPath})`);
      }
    }
  } else {
    const path = join(dir, HF_WEIGHTS_FILE);
    if (!(await pathExists(path))) {
      const bin = await pathExists(join(dir, "pytorch_model.bin"));
      throw new Error(
        `${dir}: no ${HF_WEIGHTS_FILE} or ${HF_WEIGHTS_INDEX}` +
          (bin ? " (pytorch_model.bin weights are not read; save with safe_serialization)" : ""),
      );
    }
    const { tensors } = await readSafetensors(path);
    weightFiles.push(path);
    for (const [name, t] of tensors) {
      hf.set(name, t);
      fileOf.set(name, path);
    }
  }
  const fallback = weightFiles.length === 1 ? weightFiles[0] : join(dir, HF_WEIGHTS_INDEX);
  const state = hfToOlmoState(hf, config, layout, (n) => fileOf.get(n) ?? fallback);
  return { layout, config, state, weightFiles };
}

/**
 * Writes `state` (OLMo names for `config`; block groups are flattened) into folder `dir` in
 * `layout`: `config.json` and a float32 `model.safetensors` (`__metadata__: {format: pt}`, as
 * transformers writes), plus the given tokenizer files. Returns the file names written.
 * @throws Error naming the options the layout cannot represent.
 */
export async function writeHfTransformersFolder(
  dir: string,
  config: ModelConfig,
  state: NamedHostTensors,
  layout: HfTransformersLayout,
  tokenizerFiles: Map<string, string> = new Map(),
): Promise<string[]> {
  const hfConfig = hfConfigFromModel(config, layout);
  const flat = makeStateDictCompatible(state, { ...config, block_group_size: 1 }).state;
  const tensors = olmoToHfState(flat, config, layout);
  await writeFileAtomic(join(dir, HF_CONFIG_JSON), `${JSON.stringify(hfConfig, null, 2)}\n`);
  await writeSafetensors(join(dir, HF_WEIGHTS_FILE), tensors, { format: "pt" });
  const files = [HF_CONFIG_JSON, HF_WEIGHTS_FILE];
  for (const [name, text] of tokenizerFiles) {
    await writeFileAtomic(join(dir, name), text);
    files.push(name);
  }
  return files;
}
