/**
 * Maps a request path onto a file inside one served folder, refusing everything that could
 * leave it: `..` and `.` segments, empty segments, backslashes, NUL bytes, and symlinks whose
 * target lies outside the folder (checked on the real path, after every link is followed).
 *
 * @module
 */
import { join, sep } from "node:path";

/** Why a path was not served: `forbidden` (403, an escape attempt) or `missing` (404). */
export type ServedPathRefusal = "forbidden" | "missing";

/** A resolved file, or the reason there is none. */
export type ServedPath = { file: string; size: number } | { refused: ServedPathRefusal };

/**
 * Resolves `relative` (still URL-encoded, `/`-separated, no leading `/`) inside `root`, which
 * must already be a real path (`Deno.realPath`). Only regular files are served.
 */
export async function resolveServedPath(root: string, relative: string): Promise<ServedPath> {
  let segments: string[];
  try {
    segments = relative.split("/").map((s) => decodeURIComponent(s));
  } catch {
    return { refused: "forbidden" };
  }
  for (const s of segments) {
    if (s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0")) {
      return { refused: "forbidden" };
    }
    if (s.includes("/")) return { refused: "forbidden" }; // an encoded %2F
  }
  let real: string;
  try {
    real = await Deno.realPath(join(root, ...segments));
  } catch {
    return { refused: "missing" };
  }
  if (!isInside(root, real)) return { refused: "forbidden" };
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(real);
  } catch {
    return { refused: "missing" };
  }
  if (!info.isFile) return { refused: "missing" };
  return { file: real, size: info.size };
}

/** True when real path `path` is `root` or lies below it. */
export function isInside(root: string, path: string): boolean {
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path === root || path.startsWith(prefix);
}
