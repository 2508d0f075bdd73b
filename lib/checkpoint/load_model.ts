/**
 * Loads the model part of an unsharded checkpoint folder (OLMo `Olmo.from_checkpoint`): its
 * `config.yaml` `model` section and its weights, from a local folder or a URL (`http(s)://`,
 * `gs://`, `s3://`).
 *
 * Weights: `model.safetensors` (olmo-ts checkpoints) when the folder has it, otherwise
 * `model.pt` (OLMo's `torch.save(state_dict)`, read without Python). Both hold the same names
 * (OLMo's `olmo/model.py` names). Checking names and shapes against a model is the model's job.
 *
 * A folder in a Hugging Face transformers layout (`config.json` of `model_type` `olmo2` or
 * `olmo`, see `hf_transformers/`), or a Hub id (or its huggingface.co URL) whose snapshot is in
 * the local Hugging Face cache, is read through `readHfTransformersFolder` instead and mapped to
 * OLMo names and config.
 *
 * @module
 */
import { dirname } from "node:path";
import { loadConfigSection } from "../config/mod.ts";
import type { ModelConfig } from "../config/model_config.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";
import { pathExists } from "../util/fs.ts";
import { isUrl } from "../util/url.ts";
import { cachePathFor, defaultCacheDir, resolveResource, ResourceNotFoundError } from "./remote.ts";
import { readSafetensors } from "./formats/safetensors.ts";
import { readTorchStateDict } from "./formats/torch_pt.ts";
import { readHfTransformersFolder } from "./hf_transformers/folder.ts";
import { hfTransformersFolder } from "./hf_transformers/locate.ts";
import { hubIdOf, huggingFaceHubCache } from "./hf_transformers/hub_cache.ts";

/** Weight files of an unsharded checkpoint, in order of preference. */
export const MODEL_WEIGHT_FILES: readonly string[] = ["model.safetensors", "model.pt"];

/** Options of `loadModelCheckpoint`. */
export interface LoadModelCheckpointOptions {
  /** Download cache for URLs (default `$OLMO_TS_CACHE` or `~/.cache/olmo-ts/checkpoints`). */
  cacheDir?: string;
  /** Show download progress on stderr. */
  progress?: boolean;
}

/** A loaded model checkpoint. */
export interface ModelCheckpoint {
  /** The `model` section of the folder's `config.yaml` (or what its `config.json` describes). */
  config: ModelConfig;
  /** Parameters by OLMo name, in file order. */
  state: NamedHostTensors;
  /** Local folder holding the files read (the cache folder for URLs). */
  dir: string;
  /** Local path of the weights file that was read. */
  weightsPath: string;
}

async function resolveWeights(
  pathOrUrl: string,
  opts: LoadModelCheckpointOptions,
): Promise<string> {
  if (isUrl(pathOrUrl) && !pathOrUrl.toLowerCase().startsWith("file://")) {
    // A cached copy of either file settles it without asking the server again.
    const cacheDir = opts.cacheDir ?? defaultCacheDir();
    for (const name of MODEL_WEIGHT_FILES) {
      const cached = await cachePathFor(pathOrUrl, name, cacheDir);
      if (await pathExists(cached)) return cached;
    }
  }
  for (const name of MODEL_WEIGHT_FILES) {
    try {
      return await resolveResource(pathOrUrl, name, opts);
    } catch (e) {
      if (!(e instanceof ResourceNotFoundError)) throw e;
    }
  }
  throw new Error(
    `${pathOrUrl}: no model weights: neither ${MODEL_WEIGHT_FILES.join(" nor ")} exists ` +
      `(only unsharded checkpoints can be loaded; unshard a sharded one first)`,
  );
}

/**
 * Loads `config.yaml` (`model` section, paths not validated) and the weights of the unsharded
 * checkpoint folder `pathOrUrl`: an olmo-ts checkpoint (`model.safetensors`) or an OLMo one
 * (`model.pt`); URLs are downloaded into the cache first (and reused from it later).
 * @throws Error naming the file when `config.yaml` or the weights are missing, truncated or
 *   corrupt.
 */
export async function loadModelCheckpoint(
  pathOrUrl: string,
  opts: LoadModelCheckpointOptions = {},
): Promise<ModelCheckpoint> {
  const hfDir = await hfTransformersFolder(pathOrUrl);
  if (hfDir !== null) {
    const hf = await readHfTransformersFolder(hfDir);
    return { config: hf.config, state: hf.state, dir: hfDir, weightsPath: hf.weightFiles[0] };
  }
  let configPath: string;
  try {
    configPath = await resolveResource(pathOrUrl, "config.yaml", opts);
  } catch (e) {
    if (!(e instanceof ResourceNotFoundError)) throw e;
    throw new Error(`${pathOrUrl} is not a checkpoint folder: ${e.message}${hubHint(pathOrUrl)}`);
  }
  const config = await loadConfigSection(configPath, "model", { validatePaths: false });
  const weightsPath = await resolveWeights(pathOrUrl, opts);
  const state = weightsPath.endsWith(".safetensors")
    ? (await readSafetensors(weightsPath)).tensors
    : await readTorchStateDict(weightsPath);
  return { config, state, dir: dirname(configPath), weightsPath };
}

/** For a missing path that looks like a Hub id: where the Hugging Face cache was searched. */
function hubHint(pathOrUrl: string): string {
  const id = isUrl(pathOrUrl) && !/huggingface\.co\//i.test(pathOrUrl) ? null : hubIdOf(pathOrUrl);
  if (id === null) return "";
  return `; nor is ${id} a model in the local Hugging Face cache (${huggingFaceHubCache()}); ` +
    `download it there first, e.g. with \`huggingface-cli download ${id}\``;
}
