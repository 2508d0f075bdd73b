/**
 * The run folder's checkpoint layout, as OLMo's trainer names it (`olmo/train.py`,
 * `olmo/util.py` `find_latest_checkpoint`): `step{N}/` (sharded), `step{N}-unsharded/`,
 * in-progress `…-tmp/` folders, and the relative symlinks `latest` / `latest-unsharded`. This
 * module is the one place that knows the `step{N}(-unsharded)?` naming rule; it also registers
 * the config resolver `${path.last_checkpoint:DIR}` (`findLatestCheckpoint`).
 *
 * A checkpoint folder only ever appears under its final name by a rename of its complete `-tmp`
 * folder, so a folder named `step{N}` or `step{N}-unsharded` is always complete; a `-tmp` folder
 * left by a killed save is ignored (also by `findLatestCheckpoint`) and removed by the next save.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../../config/errors.ts";
import { registerResolver } from "../../config/resolvers.ts";
import { isUrl } from "../../util/url.ts";

/** Name of the symlink to the newest sharded checkpoint. */
export const LATEST_LINK = "latest";
/** Name of the symlink to the newest unsharded checkpoint. */
export const LATEST_UNSHARDED_LINK = "latest-unsharded";
/** Suffix of a checkpoint folder being written. */
export const TMP_SUFFIX = "-tmp";
/** Suffix of an unsharded checkpoint folder's name. */
export const UNSHARDED_SUFFIX = "-unsharded";

const CHECKPOINT_DIR = new RegExp(`^step(\\d+)(${UNSHARDED_SUFFIX})?$`);
const TMP_DIR = new RegExp(`^step\\d+(${UNSHARDED_SUFFIX})?${TMP_SUFFIX}$`);

/** `step{N}` or `step{N}-unsharded`. */
export function checkpointDirName(step: number, sharded: boolean): string {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new Error(`checkpoint step must be a non-negative integer, got ${step}`);
  }
  return sharded ? `step${step}` : `step${step}${UNSHARDED_SUFFIX}`;
}

/** True when a folder's name marks it unsharded (`…-unsharded`), whatever precedes the suffix. */
export function hasUnshardedName(dir: string): boolean {
  return basename(dir).endsWith(UNSHARDED_SUFFIX);
}

/**
 * The unsharded folder name for the sharded checkpoint `dir`: `<parent>/step{N}-unsharded` for
 * `<parent>/step{N}`, the name restore and `findLatestCheckpoint` recognise; null when `dir`'s
 * name is not `step{N}`.
 */
export function defaultUnshardedDir(dir: string): string | null {
  const parsed = parseCheckpointDirName(basename(dir));
  if (!parsed?.sharded) return null;
  return join(dirname(dir), checkpointDirName(parsed.step, false));
}

/** Parses a complete checkpoint folder name; null for anything else (including `-tmp`). */
export function parseCheckpointDirName(name: string): { step: number; sharded: boolean } | null {
  const m = CHECKPOINT_DIR.exec(name);
  return m ? { step: Number(m[1]), sharded: m[2] === undefined } : null;
}

/** The `latest` link name of a kind. */
export function latestLinkName(sharded: boolean): string {
  return sharded ? LATEST_LINK : LATEST_UNSHARDED_LINK;
}

/** True when `path` is a directory with at least one entry. */
export async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return true;
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Removes a file or folder tree; a missing one is fine. */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * The error OLMo raises when a checkpoint folder exists and overwriting is off, if `final` exists
 * and is non-empty; otherwise null.
 */
export async function existingCheckpointError(
  final: string,
  step: number,
  overwrite: boolean,
): Promise<Error | null> {
  if (overwrite || !(await isNonEmptyDir(final))) return null;
  return new Error(
    `Checkpoint for step ${step} already exists, use --save-overwrite to overwrite (${final})`,
  );
}

/**
 * Removes every `step*-tmp` folder in `saveFolder` (leftovers of interrupted saves) and creates
 * an empty `tmp` folder.
 */
export async function prepareTmpDir(saveFolder: string, tmp: string): Promise<void> {
  await Deno.mkdir(saveFolder, { recursive: true });
  for await (const entry of Deno.readDir(saveFolder)) {
    if (entry.isDirectory && TMP_DIR.test(entry.name)) {
      await removeIfExists(join(saveFolder, entry.name));
    }
  }
  await Deno.mkdir(tmp);
}

/** Renames the complete `tmp` folder to `final`, replacing an existing `final`. */
export async function commitTmpDir(tmp: string, final: string): Promise<void> {
  await removeIfExists(final);
  await Deno.rename(tmp, final);
}

/**
 * Points `saveFolder/latest` (or `latest-unsharded`) at the folder `targetName` with a relative
 * symlink, atomically: the link is made under a temporary name and renamed over the old one.
 */
export async function linkLatest(
  saveFolder: string,
  targetName: string,
  sharded: boolean,
): Promise<void> {
  const link = join(saveFolder, latestLinkName(sharded));
  const tmpLink = `${link}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.symlink(targetName, tmpLink, { type: "dir" });
  try {
    await Deno.rename(tmpLink, link);
  } catch (e) {
    await removeIfExists(tmpLink);
    throw new Error(`cannot re-point ${link} to ${targetName}: ${(e as Error).message}`);
  }
}

/** The folder name the `latest` link of a kind points at, or null when there is no link. */
export async function readLatest(saveFolder: string, sharded: boolean): Promise<string | null> {
  try {
    return await Deno.readLink(join(saveFolder, latestLinkName(sharded)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Deletes the checkpoint folder `path` of `saveFolder`, and the `latest` link of its kind if it
 * pointed there (OLMo's `remove_*_checkpoint`).
 */
export async function removeCheckpoint(
  saveFolder: string,
  path: string,
  sharded: boolean,
): Promise<void> {
  const target = await readLatest(saveFolder, sharded);
  if (target !== null && resolve(saveFolder, target) === resolve(path)) {
    await removeIfExists(join(saveFolder, latestLinkName(sharded)));
  }
  await removeIfExists(path);
}

/** True when `path` is a direct child of `saveFolder` and exists (OLMo's restore filter). */
export async function isCheckpointOf(saveFolder: string, path: string): Promise<boolean> {
  if (resolve(dirname(resolve(path))) !== resolve(saveFolder)) return false;
  try {
    return (await Deno.stat(path)).isDirectory && parseCheckpointDirName(basename(path)) !== null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** True when `path` is a directory (following symlinks). */
async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * OLMo's `find_latest_checkpoint`: the `stepN` or `stepN-unsharded` folder in `dir` with the
 * highest N; the sharded one wins a tie. Null when there is none (or `dir` does not exist).
 * `file://` URLs are read as local paths; other URLs are not supported.
 */
export async function findLatestCheckpoint(dir: string): Promise<string | null> {
  if (dir.startsWith("file://")) return findLatestCheckpoint(dir.slice("file://".length));
  if (isUrl(dir)) {
    throw new ConfigError(
      `cannot look for checkpoints in '${dir}': only local folders are supported`,
    );
  }
  let best: { step: number; sharded: boolean; name: string } | null = null;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const parsed = parseCheckpointDirName(entry.name);
      if (parsed === null) continue;
      if (!entry.isDirectory && !(entry.isSymlink && (await isDir(join(dir, entry.name))))) {
        continue;
      }
      const { step, sharded } = parsed;
      if (best === null || step > best.step || (step === best.step && sharded && !best.sharded)) {
        best = { step, sharded, name: entry.name };
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
  return best === null ? null : join(dir, best.name);
}

registerResolver("path.last_checkpoint", async (args, ctx) => {
  if (args.length !== 1) {
    throw new Error(`path.last_checkpoint takes one folder; got ${args.length} arguments`);
  }
  const latest = await findLatestCheckpoint(args[0]);
  if (latest !== null) return latest;
  if (ctx.validatePaths) throw new Error(`could not find a latest checkpoint at '${args[0]}'`);
  return "";
});
