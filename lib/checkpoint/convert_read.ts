/**
 * The reading half of checkpoint conversion: recognising a checkpoint folder's layout and loading
 * everything in it that a conversion can carry over, with parameter names made to match the
 * folder's own `config.yaml` (OLMo's `Olmo._make_state_dict_compatible`) and checked
 * against that model's parameters.
 *
 * Layouts: `olmo-ts` (`model.safetensors` [+ `optim.*`, `train.json`]), `olmo-ts-sharded`
 * (`metadata.json` + `rank{r}.*`), `olmo` (OLMo's `model.pt` [+ `optim.pt`, `train.pt`]) and `hf`
 * (OLMo's `hf_olmo` layout: an unsharded folder with `config.json`) need `config.yaml`;
 * `hf-olmo2` and `hf-olmo` (Hugging Face transformers `Olmo2ForCausalLM` / `OlmoForCausalLM`
 * folders, or Hub ids in the local Hugging Face cache) are described by their `config.json`, from
 * which a `config.yaml` is made.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfigSection } from "../config/load.ts";
import type { ModelConfig } from "../config/model_config.ts";
import { makeStateDictCompatible } from "../model/state_dict.ts";
import { parameterSpecs } from "../model/params.ts";
import type { OptimizerStateDict } from "../optim/optimizer_state.ts";
import { splitStateName } from "../optim/optimizer_state.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";
import { pathExists } from "../util/fs.ts";
import { trainConfigToYaml } from "../config/load.ts";
import { defaultTrainConfig } from "../config/train_config.ts";
import { HF_CONFIG_FILE } from "./hf_layout.ts";
import { readHfTransformersFolder, tokenizerVocabSize } from "./hf_transformers/folder.ts";
import { cachedHubSnapshot, hubIdOf } from "./hf_transformers/hub_cache.ts";
import { hfTransformersFolder } from "./hf_transformers/locate.ts";
import { loadModelCheckpoint, type LoadModelCheckpointOptions } from "./load_model.ts";
import { isUrl } from "../util/url.ts";
import { type CheckpointLayout, detectCheckpointLayout } from "./trainer/detect.ts";
import type { TrainerState } from "./trainer/state.ts";
import { readShardedCheckpoint } from "./trainer/unshard.ts";
import { CONFIG_FILE, OPTIM_META_FILE, readUnshardedFiles } from "./trainer/unsharded.ts";

/** OLMo's pickled files besides `model.pt`, which olmo-ts does not read. */
const OLMO_PICKLES = ["optim.pt", "train.pt", "other.pt"];

/** A checkpoint loaded for conversion. */
export interface CheckpointForConversion {
  /** The layout it was read as. */
  layout: CheckpointLayout;
  /** The input path or URL, as given. */
  source: string;
  /** The local folder read (symlinks resolved), or null for a URL input. */
  dir: string | null;
  /**
   * Local path of `config.yaml` (in the download cache for URLs); for a transformers folder its
   * `config.json`, which `configYaml` was made from.
   */
  configPath: string;
  /** `config.yaml` text, copied verbatim into the output. */
  configYaml: string;
  /** Its `model` section. */
  modelConfig: ModelConfig;
  /** Parameters named as `modelConfig` expects (block groups, FSDP prefixes fixed). */
  model: NamedHostTensors;
  /** Optimizer state with the same renames, or null when the input has none olmo-ts reads. */
  optim: OptimizerStateDict | null;
  /** Trainer state, or null. */
  trainer: TrainerState | null;
  /** Parameters whose name `makeStateDictCompatible` changed. */
  renamedParams: number;
  /** Files of the input that are not read, with the reason (e.g. OLMo's `optim.pt`). */
  unread: string[];
}

/** Applies a parameter rename map (`makeStateDictCompatible`'s) to optimizer state. */
function renameOptimizerState(
  optim: OptimizerStateDict,
  ogKeysToNew: Map<string, Set<string>>,
): OptimizerStateDict {
  const newNames = (param: string) => [...(ogKeysToNew.get(param) ?? [param])];
  const state: NamedHostTensors = new Map();
  for (const [name, t] of optim.state) {
    const [param, key] = splitStateName(name);
    for (const p of newNames(param)) state.set(`${p}.${key}`, t);
  }
  const paramGroups = optim.paramGroups.map((g) => ({
    ...g,
    param_names: g.param_names.flatMap(newNames).sort(),
  }));
  return { state, paramGroups };
}

/**
 * Checks parameter names and shapes against the model `config` describes.
 * @throws Error naming `source` and the missing, unexpected or misshapen tensors.
 */
function checkAgainstConfig(model: NamedHostTensors, config: ModelConfig, source: string): void {
  const specs = parameterSpecs(config);
  const problems: string[] = [];
  const missing = specs.filter((s) => !model.has(s.name)).map((s) => s.name);
  if (missing.length > 0) problems.push(`missing ${missing.join(", ")}`);
  const expected = new Map(specs.map((s) => [s.name, s.shape]));
  const unexpected = [...model.keys()].filter((n) => !expected.has(n));
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.join(", ")}`);
  for (const [name, t] of model) {
    const shape = expected.get(name);
    if (shape && JSON.stringify(shape) !== JSON.stringify(t.shape)) {
      problems.push(`${name} has shape [${t.shape}], the config gives [${shape}]`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${source}: the weights do not match the model section of config.yaml: ` +
        problems.join("; "),
    );
  }
}

/**
 * Loads a checkpoint for conversion: a local folder of any `CheckpointLayout` (a sharded one is
 * joined in memory), or the URL of an unsharded one (only its `config.yaml` and weights are
 * downloaded). Parameter names are made compatible with `config.yaml` and checked against it.
 * @throws Error naming the file or tensor when something is missing, corrupt or inconsistent.
 */
export async function readCheckpointForConversion(
  pathOrUrl: string,
  opts: LoadModelCheckpointOptions = {},
): Promise<CheckpointForConversion> {
  let layout: CheckpointLayout;
  let dir: string | null = null;
  let model: NamedHostTensors;
  let optim: OptimizerStateDict | null = null;
  let trainer: TrainerState | null = null;
  let configPath: string;
  const unread: string[] = [];
  const hfDir = await hfTransformersFolder(pathOrUrl);
  if (hfDir !== null) return readHfTransformersForConversion(pathOrUrl, await Deno.realPath(hfDir));
  if (isUrl(pathOrUrl) && !pathOrUrl.toLowerCase().startsWith("file://")) {
    const remote = await loadModelCheckpoint(pathOrUrl, opts);
    layout = remote.weightsPath.endsWith(".pt") ? "olmo" : "olmo-ts";
    model = remote.state;
    configPath = join(remote.dir, CONFIG_FILE);
  } else {
    const local = isUrl(pathOrUrl) ? fileURLToPath(pathOrUrl) : pathOrUrl;
    try {
      dir = await Deno.realPath(local);
    } catch (e) {
      throw new Error(`checkpoint ${pathOrUrl} cannot be opened: ${(e as Error).message}`);
    }
    layout = await detectCheckpointLayout(dir);
    configPath = join(dir, CONFIG_FILE);
    if (!(await pathExists(configPath))) {
      throw new Error(`${dir} has no ${CONFIG_FILE}, which describes the model; cannot convert`);
    }
    if (layout === "olmo-ts-sharded") {
      ({ model, optim, trainer } = await readShardedCheckpoint(dir));
    } else {
      const withOptim = layout === "olmo-ts" && (await pathExists(join(dir, OPTIM_META_FILE)));
      ({ model, optim, trainer } = await readUnshardedFiles(dir, withOptim));
      for (const name of OLMO_PICKLES) {
        if (await pathExists(join(dir, name))) {
          unread.push(`${name} (an OLMo PyTorch pickle that olmo-ts does not read)`);
        }
      }
    }
  }
  const configYaml = await Deno.readTextFile(configPath);
  const modelConfig = await loadConfigSection(configPath, "model", { validatePaths: false });
  const compat = makeStateDictCompatible(model, modelConfig);
  let renamedParams = 0;
  for (const [og, news] of compat.ogKeysToNew) {
    if (!(news.size === 1 && news.has(og))) renamedParams++;
  }
  if (optim !== null && renamedParams > 0) optim = renameOptimizerState(optim, compat.ogKeysToNew);
  checkAgainstConfig(compat.state, modelConfig, dir ?? pathOrUrl);
  return {
    layout,
    source: pathOrUrl,
    dir,
    configPath,
    configYaml,
    modelConfig,
    model: compat.state,
    optim,
    trainer,
    renamedParams,
    unread,
  };
}

/**
 * A transformers OLMo folder read for conversion: its weights under OLMo names and a
 * `config.yaml` made from its `config.json` (OLMo's defaults elsewhere; `tokenizer.identifier`
 * is the folder's `tokenizer.json`, or the Hub id for a cached Hub model).
 */
async function readHfTransformersForConversion(
  source: string,
  dir: string,
): Promise<CheckpointForConversion> {
  const hf = await readHfTransformersFolder(dir);
  const cfg = defaultTrainConfig();
  cfg.model = hf.config;
  const hubId = cachedHubSnapshot(source) !== null ? hubIdOf(source) : null;
  if (hubId !== null) cfg.tokenizer.identifier = hubId;
  else if ((await tokenizerVocabSize(dir)) !== null) {
    cfg.tokenizer.identifier = join(dir, "tokenizer.json");
  }
  return {
    layout: hf.layout,
    source,
    dir,
    configPath: join(dir, HF_CONFIG_FILE),
    configYaml: trainConfigToYaml(cfg),
    modelConfig: hf.config,
    model: hf.state,
    optim: null,
    trainer: null,
    renamedParams: 0,
    unread: [],
  };
}
