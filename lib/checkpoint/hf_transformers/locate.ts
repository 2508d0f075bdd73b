/**
 * Deciding whether a checkpoint argument names a model in a Hugging Face transformers layout:
 * a local folder whose `config.json` is a transformers OLMo config, or a Hub id (or its
 * huggingface.co URL) whose snapshot is in the local Hugging Face cache.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { pathExists } from "../../util/fs.ts";
import { hfTransformersLayoutOf } from "./folder.ts";
import { cachedHubSnapshot } from "./hub_cache.ts";

/**
 * The local folder holding the transformers OLMo model `pathOrId` names, or null when it names
 * something else (an OLMo or olmo-ts checkpoint, another URL).
 * @throws Error naming `config.json` when the folder has one of an unknown `model_type`.
 */
export async function hfTransformersFolder(pathOrId: string): Promise<string | null> {
  const local = pathOrId.toLowerCase().startsWith("file://") ? fileURLToPath(pathOrId) : pathOrId;
  if (await pathExists(local)) {
    const info = await Deno.stat(local);
    return info.isDirectory && (await hfTransformersLayoutOf(local)) !== null ? local : null;
  }
  const snapshot = cachedHubSnapshot(pathOrId);
  if (snapshot === null) return null;
  return (await hfTransformersLayoutOf(snapshot)) !== null ? snapshot : null;
}
