/**
 * safetensors files on disk: read, and written atomically. The format itself (parse, serialise;
 * also used in the browser) is in `safetensors_format.ts`.
 *
 * @module
 */
import type { HostTensor, NamedHostTensors } from "../../util/host_tensor.ts";
import { writeFileAtomic } from "../../util/fs.ts";
import {
  parseSafetensors,
  type SafetensorsContents,
  serializeSafetensors,
} from "./safetensors_format.ts";

export { parseSafetensors, type SafetensorsContents, serializeSafetensors };

/** Reads a safetensors file from disk. */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`cannot read safetensors file ${path}: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}

/** Writes a safetensors file atomically (temporary name, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: NamedHostTensors | Iterable<[string, HostTensor]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
