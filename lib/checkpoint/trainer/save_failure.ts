/**
 * What a failed checkpoint save leaves and says. The partial `step{N}-tmp/` folder is removed
 * (`latest` was never re-pointed, so it still names the previous complete checkpoint), and a
 * full disk is reported with the folder and the space left, instead of the bare
 * "No space left on device" of the one file that did not fit.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { removeIfExists } from "./run_folder.ts";

/** A checkpoint save that ran out of disk space. */
export class CheckpointDiskFullError extends Error {
  /**
   * @param folder the run folder the checkpoint was written into
   * @param freeBytes bytes left for unprivileged writes on its file system (null: unknown)
   * @param cause the write error
   */
  constructor(
    readonly folder: string,
    readonly freeBytes: number | null,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = "CheckpointDiskFullError";
  }
}

/** `1.2 MiB`-style size. */
function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Bytes available to unprivileged writers on the file system holding `path`, or null. */
async function freeBytes(path: string): Promise<number | null> {
  try {
    const s = await statfs(path);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/** True when `e` is (or wraps) an ENOSPC / EDQUOT error. */
function isDiskFull(e: unknown): boolean {
  for (let x: unknown = e; x instanceof Error; x = x.cause) {
    const code = (x as { code?: string }).code;
    if (code === "ENOSPC" || code === "EDQUOT" || /No space left on device/.test(x.message)) {
      return true;
    }
  }
  return false;
}

/**
 * Cleans up after a save of `step` into `tmp` (inside `saveFolder`) failed with `error`, and
 * returns the error to throw: a {@link CheckpointDiskFullError} naming the folder and the free
 * space for a full disk, else `error` itself. The removal is best effort (another rank may have
 * removed the folder already).
 */
export async function checkpointSaveFailure(
  error: unknown,
  opts: { step: number; saveFolder: string; tmp: string },
): Promise<unknown> {
  try {
    await removeIfExists(opts.tmp);
  } catch {
    // Nothing more to do: the next save removes stale `-tmp` folders first.
  }
  if (!isDiskFull(error)) return error;
  const free = await freeBytes(opts.saveFolder);
  const freeText = free === null ? "unknown free space" : `${formatBytes(free)} free`;
  return new CheckpointDiskFullError(
    opts.saveFolder,
    free,
    `checkpoint for step ${opts.step} does not fit: the disk holding ${opts.saveFolder} is ` +
      `full (${freeText} after removing the partial ${opts.tmp}); the previous checkpoint and ` +
      `'latest' are intact. Free space or set save_folder elsewhere, then restart from ` +
      `${opts.saveFolder}/latest (${(error as Error).message})`,
    error,
  );
}
