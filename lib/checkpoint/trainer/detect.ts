/**
 * What kind of checkpoint a local folder holds, decided in one place for restoring a run
 * (`loadCheckpoint`), unsharding (`checkShardedCheckpointFiles`) and conversion:
 *
 * | layout | recognised by |
 * | --- | --- |
 * | `hf-olmo2`, `hf-olmo` | `config.json` of transformers' `Olmo2ForCausalLM` / `OlmoForCausalLM` (see `../hf_transformers/`) |
 * | `hf` | `config.json` of OLMo's `hf_olmo` model type (an unsharded folder with HF metadata) |
 * | `olmo-ts-sharded` | `metadata.json`, in a folder not named `…-unsharded` |
 * | `olmo-ts` | `model.safetensors` |
 * | `olmo` | OLMo's (PyTorch) `model.pt` |
 *
 * Refused with a message that says what to do: a missing path or a file, an interrupted save
 * (`…-tmp`), OLMo's own sharded checkpoints (`rank0.pt`), and a folder with none of the above.
 *
 * @module
 */
import { join } from "node:path";
import { pathExists } from "../../util/fs.ts";
import { HF_CONFIG_FILE, isOlmoHfConfig } from "../hf_layout.ts";
import {
  detectHfTransformersLayout,
  type HfTransformersLayout,
} from "../hf_transformers/config.ts";
import { hasUnshardedName, TMP_SUFFIX } from "./run_folder.ts";
import { SHARD_METADATA_FILE } from "./sharded.ts";
import { MODEL_FILE, OLMO_MODEL_FILE } from "./unsharded.ts";

/** A checkpoint folder's layout. */
export type CheckpointLayout = "olmo-ts" | "olmo-ts-sharded" | "olmo" | "hf" | HfTransformersLayout;

/**
 * The layout of the local checkpoint folder `dir` (see the module doc).
 * @throws Error naming the folder when it is missing, not a folder, an interrupted save, an
 *   OLMo sharded checkpoint, has an HF config of another model type, or has no weights.
 */
export async function detectCheckpointLayout(dir: string): Promise<CheckpointLayout> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    throw new Error(`checkpoint folder ${dir} cannot be opened: ${(e as Error).message}`);
  }
  if (!info.isDirectory) throw new Error(`${dir} is not a checkpoint folder (not a directory)`);
  if (dir.endsWith(TMP_SUFFIX)) {
    throw new Error(
      `${dir} is an incomplete checkpoint (a save was interrupted); use another checkpoint`,
    );
  }
  const hfConfig = join(dir, HF_CONFIG_FILE);
  if (await pathExists(hfConfig)) {
    let json: unknown;
    try {
      json = JSON.parse(await Deno.readTextFile(hfConfig));
    } catch (e) {
      throw new Error(`${hfConfig}: not valid JSON (${(e as Error).message})`);
    }
    const transformers = detectHfTransformersLayout(json, hfConfig);
    if (transformers !== null) return transformers;
    if (isOlmoHfConfig(json, hfConfig)) return "hf";
  }
  if (!hasUnshardedName(dir) && (await pathExists(join(dir, SHARD_METADATA_FILE)))) {
    return "olmo-ts-sharded";
  }
  if (await pathExists(join(dir, MODEL_FILE))) return "olmo-ts";
  if (await pathExists(join(dir, OLMO_MODEL_FILE))) return "olmo";
  if (await pathExists(join(dir, "rank0.pt"))) {
    throw new Error(
      `${dir} is an OLMo (PyTorch) sharded checkpoint, which olmo-ts cannot read; unshard it ` +
        `with OLMo's scripts/unshard.py and use the resulting folder`,
    );
  }
  throw new Error(
    `${dir} is not a checkpoint folder: it has none of ${MODEL_FILE}, ${OLMO_MODEL_FILE}, ` +
      SHARD_METADATA_FILE,
  );
}
