/**
 * The folders `deno task serve` was given: checkpoints (for the playground) and run folders (for
 * the dashboard), each with a short id used in URLs. What each holds is read afresh on every
 * request, so a run that is still training shows its newest checkpoints and metrics.
 *
 * @module
 */
import { basename, join } from "node:path";
import { parseCheckpointDirName } from "../checkpoint/trainer/run_folder.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { CheckpointListing, RunListing } from "./listings.ts";

export type { CheckpointListing, RunListing };

/** One served folder. */
export interface ServedFolder {
  /** Id in URLs: `c0`, `c1`, … for checkpoints, `r0`, … for runs. */
  id: string;
  /** The path as given on the command line (shown in the pages). */
  label: string;
  /** The path to resolve (again on every request: `latest-unsharded` links move). */
  path: string;
}

/** Weight files a checkpoint may hold, in the playground's order of preference. */
export const WEIGHT_FILES: readonly string[] = ["model.safetensors", "model.pt"];

/** Numbers the folders given: `prefix` + index. */
export function servedFolders(paths: readonly string[], prefix: string): ServedFolder[] {
  return paths.map((path, i) => ({ id: `${prefix}${i}`, label: path, path }));
}

/**
 * Checks that every given folder exists and is a directory, and that checkpoints hold a
 * `config.yaml` and weights.
 * @throws Error naming the folder and what is missing.
 */
export async function checkServedFolders(
  checkpoints: readonly ServedFolder[],
  runs: readonly ServedFolder[],
): Promise<void> {
  for (const f of [...checkpoints, ...runs]) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(f.path);
    } catch (e) {
      throw new Error(`${f.label}: cannot serve it: ${(e as Error).message}`);
    }
    if (!info.isDirectory) throw new Error(`${f.label}: not a folder`);
  }
  for (const c of checkpoints) {
    if (!(await isFile(join(c.path, "config.yaml")))) {
      throw new Error(`${c.label}: not a checkpoint folder (no config.yaml)`);
    }
    if ((await presentWeights(c.path)).length === 0) {
      throw new Error(
        `${c.label}: no model weights (${WEIGHT_FILES.join(" or ")}); unshard a sharded ` +
          `checkpoint first`,
      );
    }
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function presentWeights(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of WEIGHT_FILES) if (await isFile(join(dir, name))) out.push(name);
  return out;
}

/**
 * The tokenizer.json text of a checkpoint: its own `tokenizer.json`, else the tokenizer its
 * `config.yaml` names (as `deno task generate` finds it), with the vocabulary size checked.
 * @throws Error saying why there is none.
 */
export async function checkpointTokenizerJson(folder: ServedFolder): Promise<string> {
  // Never from the network: a served page should not make the server download anything.
  return (await Tokenizer.fromCheckpoint(folder.path, { allowDownload: false })).json;
}

/** The playground's view of a checkpoint. */
export async function listCheckpoint(folder: ServedFolder): Promise<CheckpointListing> {
  let tokenizerError: string | null = null;
  try {
    await checkpointTokenizerJson(folder);
  } catch (e) {
    tokenizerError = (e as Error).message;
  }
  return {
    id: folder.id,
    label: folder.label,
    weights: await presentWeights(folder.path),
    tokenizer: tokenizerError === null,
    tokenizerError,
  };
}

/** The dashboard's view of a run folder. */
export async function listRun(folder: ServedFolder): Promise<RunListing> {
  const checkpoints: RunListing["checkpoints"] = [];
  const latest: Record<string, string> = {};
  for await (const entry of Deno.readDir(folder.path)) {
    const parsed = parseCheckpointDirName(entry.name);
    if (parsed && entry.isDirectory) checkpoints.push({ name: entry.name, ...parsed });
    if ((entry.name === "latest" || entry.name === "latest-unsharded") && entry.isSymlink) {
      latest[entry.name] = basename(await Deno.readLink(join(folder.path, entry.name)));
    }
  }
  checkpoints.sort((a, b) => a.step - b.step || Number(b.sharded) - Number(a.sharded));
  return {
    id: folder.id,
    label: folder.label,
    name: basename(folder.path.replace(/\/+$/, "")) || folder.label,
    config: await isFile(join(folder.path, "config.yaml")),
    metrics: await isFile(join(folder.path, "metrics.jsonl")),
    checkpoints,
    latest,
  };
}
