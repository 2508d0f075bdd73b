/**
 * A small file-system glob, as Python's `glob.glob` (used by OLMo's `${path.glob:...}`) plus
 * recursive `**`: `*` matches any run of characters within one path segment, `?` one character,
 * `[abc]` / `[a-z]` / `[!abc]` a character class, and a `**` segment zero or more directories.
 * Wildcards do not match names starting with `.` unless the pattern segment starts with `.`.
 * Relative patterns are relative to the working directory and return relative paths.
 *
 * @module
 */

/** True when a path segment holds a wildcard. */
function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/** Translates one glob path segment into an anchored regular expression. */
export function segmentToRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function joinPath(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

/** Entries of a directory, empty when it cannot be read (as Python's glob ignores errors). */
async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  try {
    const out: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(dir === "" ? "." : dir)) out.push(entry);
    return out;
  } catch {
    return [];
  }
}

async function isDirectory(path: string, entry?: Deno.DirEntry): Promise<boolean> {
  if (entry && !entry.isSymlink) return entry.isDirectory;
  try {
    return (await Deno.stat(path === "" ? "." : path)).isDirectory;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function expand(base: string, segments: readonly string[], i: number): Promise<string[]> {
  if (i === segments.length) return [base];
  const seg = segments[i];
  const last = i === segments.length - 1;
  if (seg === "**") {
    const out = last ? [] : await expand(base, segments, i + 1);
    for (const entry of await listDir(base)) {
      if (entry.name.startsWith(".")) continue;
      const path = joinPath(base, entry.name);
      if (last) out.push(path);
      if (await isDirectory(path, entry)) out.push(...await expand(path, segments, i));
    }
    return out;
  }
  if (!hasMagic(seg)) {
    const path = joinPath(base, seg);
    if (last) return (await exists(path)) ? [path] : [];
    return (await isDirectory(path)) ? expand(path, segments, i + 1) : [];
  }
  const re = segmentToRegExp(seg);
  const out: string[] = [];
  for (const entry of await listDir(base)) {
    if (entry.name.startsWith(".") && !seg.startsWith(".")) continue;
    if (!re.test(entry.name)) continue;
    const path = joinPath(base, entry.name);
    if (last) out.push(path);
    else if (await isDirectory(path, entry)) out.push(...await expand(path, segments, i + 1));
  }
  return out;
}

/** Every existing path matching `pattern`, sorted and without duplicates. */
export async function globPaths(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s) => s !== "");
  if (segments.length === 0) return absolute && (await exists("/")) ? ["/"] : [];
  const matches = await expand(absolute ? "/" : "", segments, 0);
  return [...new Set(matches)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
