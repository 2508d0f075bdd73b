/**
 * Files of an unsharded checkpoint folder (`step{N}-unsharded/`: OLMo's unsharded checkpoint,
 * with safetensors and JSON in place of its pickles):
 *
 * | file | contents |
 * | --- | --- |
 * | `model.safetensors` | parameters by OLMo name (float32) |
 * | `optim.safetensors` | optimizer state tensors `{param}.{key}` (see `OptimizerStateDict`) |
 * | `optim.json` | `{format_version, param_groups}` |
 * | `train.json` | the trainer state (`TrainerState`) |
 * | `config.yaml` | the run's `TrainConfig` |
 *
 * OLMo's own unsharded folders (`model.pt`, `optim.pt`, `train.pt`) are read for the model only.
 *
 * @module
 */
import { join } from "node:path";
import type { NamedHostTensors } from "../../util/host_tensor.ts";
import { pathExists, writeFileAtomic } from "../../util/fs.ts";
import type { OptimizerStateDict } from "../../optim/optimizer_state.ts";
import type { ParamGroup } from "../../optim/param_groups.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import { readTorchStateDict } from "../formats/torch_pt.ts";
import type { TrainerState } from "./state.ts";
import { readTrainerState } from "./state.ts";

/** Version of the olmo-ts checkpoint layout, written into `optim.json` and `metadata.json`. */
export const CHECKPOINT_FORMAT_VERSION = 1;
/** Model weights file. */
export const MODEL_FILE = "model.safetensors";
/** Optimizer state tensors file. */
export const OPTIM_FILE = "optim.safetensors";
/** Optimizer param groups file. */
export const OPTIM_META_FILE = "optim.json";
/** Trainer state file. */
export const TRAIN_FILE = "train.json";
/** Run config file. */
export const CONFIG_FILE = "config.yaml";
/** OLMo's (PyTorch) model weights file. */
export const OLMO_MODEL_FILE = "model.pt";

/** The run config to store in a checkpoint: YAML text, or a writer given the target path. */
export type ConfigSource = string | ((path: string) => Promise<void>);

/** Writes `config.yaml` into `dir` (nothing when `config` is undefined). */
export async function writeCheckpointConfig(dir: string, config?: ConfigSource): Promise<void> {
  if (config === undefined) return;
  const path = join(dir, CONFIG_FILE);
  if (typeof config === "string") await writeFileAtomic(path, config);
  else await config(path);
}

/** What an unsharded checkpoint holds. */
export interface UnshardedContents {
  /** Parameters by OLMo name. */
  model: NamedHostTensors;
  /** Optimizer state, or null for a model-only checkpoint. */
  optim: OptimizerStateDict | null;
  /** Trainer state. */
  trainer: TrainerState;
  /** Run config for `config.yaml`. */
  config?: ConfigSource;
}

/** Writes the files of an unsharded checkpoint into the (temporary) folder `dir`. */
export async function writeUnshardedFiles(dir: string, c: UnshardedContents): Promise<void> {
  await writeSafetensors(join(dir, MODEL_FILE), c.model);
  if (c.optim) {
    await writeSafetensors(join(dir, OPTIM_FILE), c.optim.state);
    const meta = { format_version: CHECKPOINT_FORMAT_VERSION, param_groups: c.optim.paramGroups };
    await writeFileAtomic(join(dir, OPTIM_META_FILE), JSON.stringify(meta, null, 1));
  }
  await writeFileAtomic(join(dir, TRAIN_FILE), JSON.stringify(c.trainer, null, 1));
  await writeCheckpointConfig(dir, c.config);
}

/** An unsharded checkpoint read from disk. */
export interface UnshardedRead {
  /** `olmo-ts` (safetensors + JSON) or `olmo-torch` (OLMo's `model.pt`). */
  format: "olmo-ts" | "olmo-torch";
  /** Parameters by OLMo name. */
  model: NamedHostTensors;
  /** Optimizer state; null when not requested. */
  optim: OptimizerStateDict | null;
  /** Trainer state; null when the folder has none (model-only, or OLMo's `train.pt`). */
  trainer: TrainerState | null;
  /** `config.yaml` text, or null when absent. */
  configYaml: string | null;
}

/** Reads `optim.safetensors` + `optim.json` of `dir`. */
async function readOptimFiles(dir: string): Promise<OptimizerStateDict> {
  const metaPath = join(dir, OPTIM_META_FILE);
  let meta: { format_version?: unknown; param_groups?: unknown };
  try {
    meta = JSON.parse(await Deno.readTextFile(metaPath));
  } catch (e) {
    throw new Error(`cannot read optimizer metadata ${metaPath}: ${(e as Error).message}`);
  }
  if (meta?.format_version !== CHECKPOINT_FORMAT_VERSION) {
    throw new Error(
      `${metaPath}: unsupported format_version ${JSON.stringify(meta?.format_version)} ` +
        `(this olmo-ts reads ${CHECKPOINT_FORMAT_VERSION})`,
    );
  }
  if (!Array.isArray(meta.param_groups)) {
    throw new Error(`${metaPath}: "param_groups" must be a list`);
  }
  const { tensors } = await readSafetensors(join(dir, OPTIM_FILE));
  return { state: tensors, paramGroups: meta.param_groups as ParamGroup[] };
}

/**
 * Reads an unsharded checkpoint folder: olmo-ts (`model.safetensors`, ...) or OLMo's
 * (`model.pt`; its pickled `optim.pt`/`train.pt` are not read).
 * @throws Error naming the folder and the missing piece when there are no weights, or when
 *   `loadOptimizerState` is set and the folder has no optimizer state this code can read.
 */
export async function readUnshardedFiles(
  dir: string,
  loadOptimizerState: boolean,
): Promise<UnshardedRead> {
  const configPath = join(dir, CONFIG_FILE);
  const configYaml = (await pathExists(configPath)) ? await Deno.readTextFile(configPath) : null;
  if (await pathExists(join(dir, MODEL_FILE))) {
    const model = (await readSafetensors(join(dir, MODEL_FILE))).tensors;
    let optim: OptimizerStateDict | null = null;
    if (loadOptimizerState) {
      if (!(await pathExists(join(dir, OPTIM_META_FILE)))) {
        throw new Error(
          `${dir} has no optimizer state (${OPTIM_META_FILE}); load it with ` +
            `--reset_optimizer_state to start a fresh optimizer`,
        );
      }
      optim = await readOptimFiles(dir);
    }
    const trainPath = join(dir, TRAIN_FILE);
    const trainer = (await pathExists(trainPath)) ? await readTrainerState(trainPath) : null;
    return { format: "olmo-ts", model, optim, trainer, configYaml };
  }
  if (await pathExists(join(dir, OLMO_MODEL_FILE))) {
    if (loadOptimizerState) {
      throw new Error(
        `${dir} is an OLMo (PyTorch) checkpoint: only its model.pt can be read, not optim.pt; ` +
          `load it with --reset_optimizer_state to fine-tune from its weights`,
      );
    }
    const model = await readTorchStateDict(join(dir, OLMO_MODEL_FILE));
    return { format: "olmo-torch", model, optim: null, trainer: null, configYaml };
  }
  throw new Error(
    `${dir} is not an unsharded checkpoint: it has neither ${MODEL_FILE} nor ${OLMO_MODEL_FILE}`,
  );
}
