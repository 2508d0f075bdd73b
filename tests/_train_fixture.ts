/**
 * A self-contained tiny training setup for trainer tests: a word-level tokenizer.json, token
 * files with a learnable pattern, and a `TrainConfig` over them (seconds per run on cpu/wasm).
 *
 * @module
 */
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { type TrainConfig, trainConfigFromObject } from "../lib/config/mod.ts";
import { Rng } from "../lib/model/random.ts";

/** Vocabulary size of the test tokenizer (EOS = 63, pad = 62). */
export const TINY_VOCAB = 64;

/** A WordLevel tokenizer.json with tokens `w0` … `w{vocab-1}`. */
export function wordLevelTokenizerJson(vocabSize = TINY_VOCAB): string {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < vocabSize; i++) vocab[`w${i}`] = i;
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: "WhitespaceSplit" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "w0" },
  });
}

/**
 * `n` uint16 tokens in [0, vocab − 2): runs of consecutive ids with random starts, so the next
 * token is usually predictable and the loss falls within a few steps.
 */
export function patternTokens(n: number, seed: number, vocab = TINY_VOCAB): Uint16Array {
  const rng = new Rng(seed);
  const out = new Uint16Array(n);
  let cur = 0;
  for (let i = 0; i < n; i++) {
    cur = rng.next() < 0.15 ? Math.floor(rng.next() * (vocab - 2)) : (cur + 1) % (vocab - 2);
    out[i] = cur;
  }
  return out;
}

/** Writes raw little-endian uint16 tokens (OLMo's `.npy` memmap format). */
export async function writeTokenFile(path: string, tokens: Uint16Array): Promise<void> {
  await Deno.writeFile(path, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
}

/** Files of a tiny run environment. */
export interface TinyEnv {
  /** The temporary folder holding everything. */
  dir: string;
  /** tokenizer.json path. */
  tokenizer: string;
  /** Training token files. */
  train: string[];
  /** Validation token file. */
  validation: string;
}

/** Creates the tokenizer and token files in a fresh temporary folder. */
export async function makeTinyEnv(): Promise<TinyEnv> {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-train-" });
  const tokenizer = join(dir, "tokenizer.json");
  await Deno.writeTextFile(tokenizer, wordLevelTokenizerJson());
  const train = [join(dir, "train0.npy"), join(dir, "train1.npy")];
  await writeTokenFile(train[0], patternTokens(16 * 40, 1));
  await writeTokenFile(train[1], patternTokens(16 * 24, 2));
  const validation = join(dir, "validation.npy");
  await writeTokenFile(validation, patternTokens(16 * 12, 3));
  return { dir, tokenizer, train, validation };
}

/** The tiny config as a plain object (nested OLMo YAML layout); `extra` is merged on top. */
export function tinyConfigObject(env: TinyEnv, saveFolder: string): Record<string, unknown> {
  return {
    run_name: "tiny",
    seed: 5,
    model: {
      d_model: 16,
      n_heads: 2,
      n_layers: 2,
      mlp_ratio: 2,
      max_sequence_length: 16,
      vocab_size: TINY_VOCAB,
      embedding_size: TINY_VOCAB,
      eos_token_id: TINY_VOCAB - 1,
      pad_token_id: TINY_VOCAB - 2,
      rope: true,
      residual_dropout: 0.1,
      attention_dropout: 0,
      embedding_dropout: 0,
      init_device: "cpu",
    },
    optimizer: { name: "adamw", learning_rate: 0.01, weight_decay: 0.1 },
    scheduler: { name: "cosine_with_warmup", t_warmup: 2 },
    tokenizer: { identifier: env.tokenizer },
    data: { paths: env.train },
    save_folder: saveFolder,
    max_duration: 6,
    global_train_batch_size: 4,
    device_train_microbatch_size: 2,
    device_eval_batch_size: 4,
    max_grad_norm: 1.0,
    save_interval: 3,
    save_interval_unsharded: 6,
    eval_interval: 1000,
    console_log_interval: 1000,
    // A fixed peak skips the start-up matmul measurement that MFU otherwise needs.
    speed_monitor: { window_size: 100, gpu_flops_available: 1e9 },
    backend: "cpu",
  };
}

/** Deep-merges `b` into a copy of `a` (objects only; arrays and scalars replace). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    const bothObjects = v !== null && typeof v === "object" && !Array.isArray(v) &&
      prev !== null && typeof prev === "object" && !Array.isArray(prev);
    out[k] = bothObjects ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** The tiny config, validated, with `extra` merged in. */
export function tinyTrainConfig(
  env: TinyEnv,
  saveFolder: string,
  extra: Record<string, unknown> = {},
): Promise<TrainConfig> {
  return trainConfigFromObject(merge(tinyConfigObject(env, saveFolder), extra));
}

/** Writes the tiny config (with `extra`) as YAML to `path`. */
export async function writeTinyConfigYaml(
  env: TinyEnv,
  path: string,
  saveFolder: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await Deno.writeTextFile(path, stringifyYaml(merge(tinyConfigObject(env, saveFolder), extra)));
}
