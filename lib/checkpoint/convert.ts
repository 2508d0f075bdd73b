/**
 * Checkpoint conversion between olmo-ts, OLMo and `hf_olmo` layouts (OLMo `olmo/checkpoint.py` and
 * `hf_olmo/`). What each target folder holds:
 *
 * | `to` | files |
 * | --- | --- |
 * | `olmo-ts` | `config.yaml`, `model.safetensors`; with optimizer/trainer state in the input also `optim.safetensors`, `optim.json`, `train.json` |
 * | `olmo` | `config.yaml`, `model.pt` (`torch.save` of the flat state dict, as OLMo's `FullCheckpointer` writes it) |
 * | `hf` | `config.yaml`, `model.pt`, `model.safetensors` (same OLMo names, `__metadata__: {format: pt}`), `config.json` and, when a tokenizer is found, `tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json` (see `hf_layout.ts`) |
 * | `hf-olmo2`, `hf-olmo` | transformers `Olmo2ForCausalLM` / `OlmoForCausalLM`: `config.json`, `model.safetensors` (transformers names, float32) and, when a tokenizer is found, the same three tokenizer files (see `hf_transformers/`) |
 *
 * `config.yaml` is copied verbatim; a `tokenizer.json` in the input folder is copied to every
 * target. Optimizer and trainer state only exist in olmo-ts checkpoints and are dropped (and
 * reported) for the other targets: OLMo's `optim.pt`/`train.pt` are FSDP/torch pickles olmo-ts
 * neither reads nor writes. The output is written to `OUTPUT-tmp` and renamed when complete.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { loadConfigSection } from "../config/load.ts";
import type { TokenizerConfig } from "../config/sections.ts";
import { resolveTokenizerFile } from "../tokenizer/hub.ts";
import { pathExists, writeFileAtomic } from "../util/fs.ts";
import type { CheckpointForConversion } from "./convert_read.ts";
import type { CheckpointLayout } from "./trainer/detect.ts";
import { readCheckpointForConversion } from "./convert_read.ts";
import { HF_CONFIG_FILE, HF_TOKENIZER_FILES, hfConfigJson, hfTokenizerFiles } from "./hf_layout.ts";
import { resolveResource, ResourceNotFoundError } from "./remote.ts";
import { isUrl } from "../util/url.ts";
import { writeHfTransformersFolder } from "./hf_transformers/folder.ts";
import { hfTransformersTokenizerFiles } from "./hf_transformers/tokenizer_files.ts";
import { commitTmpDir, isNonEmptyDir, removeIfExists, TMP_SUFFIX } from "./trainer/run_folder.ts";
import { writeSafetensors } from "./formats/safetensors.ts";
import { writeTorchStateDict } from "./formats/torch_pt.ts";
import {
  CONFIG_FILE,
  MODEL_FILE,
  OLMO_MODEL_FILE,
  OPTIM_FILE,
  OPTIM_META_FILE,
  TRAIN_FILE,
  writeUnshardedFiles,
} from "./trainer/unsharded.ts";

/** The layouts `convertCheckpoint` writes. */
export const CONVERT_TARGETS = ["olmo-ts", "olmo", "hf", "hf-olmo2", "hf-olmo"] as const;
/** A layout `convertCheckpoint` writes. */
export type ConvertTarget = typeof CONVERT_TARGETS[number];

const TOKENIZER_FILE = "tokenizer.json";

/** Options of `convertCheckpoint`. */
export interface ConvertOptions {
  /** The layout to write. */
  to: ConvertTarget;
  /** Replace a non-empty output folder. Default false. */
  overwrite?: boolean;
  /**
   * For `hf`: the tokenizer (a tokenizer.json path, a folder holding one, or a Hub id). Default:
   * the input folder's `tokenizer.json`, else `tokenizer.identifier` of its `config.yaml`.
   */
  tokenizer?: string;
  /** Download cache for URL inputs (see `loadModelCheckpoint`). */
  cacheDir?: string;
  /** Show download progress on stderr. */
  progress?: boolean;
}

/** What `convertCheckpoint` did. */
export interface ConvertResult {
  /** The input's layout. */
  from: CheckpointLayout;
  /** The written layout. */
  to: ConvertTarget;
  /** The output folder (absolute). */
  output: string;
  /** File names written into it, in order. */
  files: string[];
  /** Parts of the input not carried over, with the reason. */
  dropped: string[];
  /** Parameters renamed to match the config (block groups, FSDP prefixes, legacy norms). */
  renamedParams: number;
  /** Things the user should know (e.g. no tokenizer found for `hf`). */
  warnings: string[];
}

/** A tokenizer.json text and where it came from. */
interface TokenizerSource {
  text: string;
  source: string;
}

/**
 * The tokenizer for the `hf` layout: `--tokenizer` (errors propagate), else the input's own
 * `tokenizer.json`, else the identifier of the config's `tokenizer` section (`section`, or the
 * error loading it); null (with a warning) when none is found.
 */
async function findTokenizer(
  ckpt: CheckpointForConversion,
  opts: ConvertOptions,
  section: TokenizerConfig | Error,
  warnings: string[],
): Promise<TokenizerSource | null> {
  const read = async (path: string) => ({ text: await Deno.readTextFile(path), source: path });
  if (opts.tokenizer !== undefined) return read(await resolveTokenizerFile(opts.tokenizer));
  const own = await inputTokenizer(ckpt, opts);
  if (own !== null) return read(own);
  let reason: string;
  try {
    if (section instanceof Error) throw section;
    return read(await resolveTokenizerFile(section.identifier));
  } catch (e) {
    reason = (e as Error).message;
  }
  warnings.push(
    `no tokenizer written (${HF_TOKENIZER_FILES.join(", ")}): ${reason}; ` +
      `pass --tokenizer PATH to add them`,
  );
  return null;
}

/** The input's own `tokenizer.json` (local path, or downloaded for a URL), or null. */
async function inputTokenizer(
  ckpt: CheckpointForConversion,
  opts: ConvertOptions,
): Promise<string | null> {
  if (ckpt.dir !== null) {
    const path = join(ckpt.dir, TOKENIZER_FILE);
    return (await pathExists(path)) ? path : null;
  }
  try {
    return await resolveResource(ckpt.source, TOKENIZER_FILE, opts);
  } catch (e) {
    if (e instanceof ResourceNotFoundError) return null;
    throw e;
  }
}

/** Writes the target layout's files into `tmp`; returns their names. */
async function writeTarget(
  tmp: string,
  ckpt: CheckpointForConversion,
  opts: ConvertOptions,
  result: ConvertResult,
): Promise<string[]> {
  const files: string[] = [];
  const write = async (name: string, writer: (path: string) => Promise<void>) => {
    await writer(join(tmp, name));
    files.push(name);
  };
  if (opts.to === "hf-olmo2" || opts.to === "hf-olmo") {
    const section = await loadConfigSection(ckpt.configPath, "tokenizer", { validatePaths: false })
      .catch((e: Error) => e);
    const tokenizer = await findTokenizer(ckpt, opts, section, result.warnings);
    const texts = tokenizer === null
      ? new Map<string, string>()
      : await hfTransformersTokenizerFiles(tokenizer.text, tokenizer.source, ckpt.modelConfig);
    return writeHfTransformersFolder(tmp, ckpt.modelConfig, ckpt.model, opts.to, texts);
  }
  await write(CONFIG_FILE, (p) => writeFileAtomic(p, ckpt.configYaml));
  if (opts.to === "olmo-ts") {
    if (ckpt.trainer !== null) {
      await writeUnshardedFiles(tmp, {
        model: ckpt.model,
        optim: ckpt.optim,
        trainer: ckpt.trainer,
      });
      files.push(MODEL_FILE, ...(ckpt.optim ? [OPTIM_FILE, OPTIM_META_FILE] : []), TRAIN_FILE);
    } else {
      await write(MODEL_FILE, (p) => writeSafetensors(p, ckpt.model));
    }
  } else {
    await write(OLMO_MODEL_FILE, (p) => writeTorchStateDict(p, ckpt.model));
  }
  if (opts.to === "hf") {
    await write(MODEL_FILE, (p) => writeSafetensors(p, ckpt.model, { format: "pt" }));
    await write(HF_CONFIG_FILE, (p) => writeFileAtomic(p, hfConfigJson(ckpt.modelConfig)));
    const section = await loadConfigSection(ckpt.configPath, "tokenizer", { validatePaths: false })
      .catch((e: Error) => e);
    const tokenizer = await findTokenizer(ckpt, opts, section, result.warnings);
    if (tokenizer !== null) {
      const truncation = section instanceof Error ? "right" : section.truncate_direction;
      const texts = await hfTokenizerFiles(
        tokenizer.text,
        tokenizer.source,
        ckpt.modelConfig,
        truncation,
      );
      for (const [name, text] of texts) await write(name, (p) => writeFileAtomic(p, text));
    }
  } else if (ckpt.dir !== null && (await pathExists(join(ckpt.dir, TOKENIZER_FILE)))) {
    await write(TOKENIZER_FILE, (p) => Deno.copyFile(join(ckpt.dir!, TOKENIZER_FILE), p));
  }
  return files;
}

/**
 * Converts the checkpoint `input` (a local folder of any `CheckpointLayout`, or the URL of an
 * unsharded one) into a new folder `output` of layout `opts.to`. Parameter names follow the
 * input's `config.yaml` (block-group renames applied) and are checked against it.
 * @throws Error when `output` is the input or exists and is not empty (unless `overwrite`), or
 *   naming the file or tensor when the input is missing, corrupt or inconsistent.
 */
export async function convertCheckpoint(
  input: string,
  output: string,
  opts: ConvertOptions,
): Promise<ConvertResult> {
  if (!(CONVERT_TARGETS as readonly string[]).includes(opts.to)) {
    throw new Error(`unknown target layout ${JSON.stringify(opts.to)} (${CONVERT_TARGETS})`);
  }
  const out = resolve(output);
  const outInfo = await Deno.stat(out).catch(() => null);
  if (outInfo !== null && !outInfo.isDirectory) {
    throw new Error(`${output} exists and is not a folder`);
  }
  if (!opts.overwrite && (await isNonEmptyDir(out))) {
    throw new Error(`${output} already exists and is not empty; pass --overwrite to replace it`);
  }
  if (outInfo !== null && !isUrl(input)) {
    const same = await Deno.realPath(input).catch(() => null) === await Deno.realPath(out);
    if (same) throw new Error(`the output ${output} is the input folder; write to a new folder`);
  }
  const ckpt = await readCheckpointForConversion(input, opts);
  const result: ConvertResult = {
    from: ckpt.layout,
    to: opts.to,
    output: out,
    files: [],
    dropped: [...ckpt.unread],
    renamedParams: ckpt.renamedParams,
    warnings: [],
  };
  if (opts.to !== "olmo-ts" || ckpt.trainer === null) {
    const why = `(not carried over to the ${opts.to} layout)`;
    if (ckpt.optim) result.dropped.push(`optimizer state ${why}`);
    if (ckpt.trainer) result.dropped.push(`trainer state ${why}`);
  }
  const tmp = `${out}${TMP_SUFFIX}`;
  await removeIfExists(tmp);
  await Deno.mkdir(tmp, { recursive: true });
  try {
    result.files = await writeTarget(tmp, ckpt, opts, result);
  } catch (e) {
    await removeIfExists(tmp);
    throw e;
  }
  await commitTmpDir(tmp, out);
  return result;
}
