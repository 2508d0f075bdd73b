/**
 * Resolves a file of a checkpoint folder that may be local or remote, like OLMo's
 * `resource_path(folder, fname)`: local folders are used in place; `http(s)://`, `gs://` and
 * `s3://` folders are downloaded once into a cache and reused from there.
 *
 * Cache layout: `<cacheDir>/<host>/<url path segments>/<fileName>`, every segment sanitised
 * (only `[A-Za-z0-9._=+,@-]`, no `.`/`..`), so a URL can never write outside the cache dir.
 * Downloads stream to a temporary sibling that is renamed into place once complete, so an
 * interrupted download never leaves a partial file under the cached name.
 *
 * @module
 */
import cliProgress from "cli-progress";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { pathExists } from "../util/fs.ts";
import { isUrl } from "../util/url.ts";

/** A local or remote checkpoint file that does not exist (HTTP 404/410, or no such file). */
export class ResourceNotFoundError extends Error {
  override name = "ResourceNotFoundError";
}

/** Options of `resolveResource`. */
export interface ResolveResourceOptions {
  /** Where downloads are cached (default `defaultCacheDir()`). */
  cacheDir?: string;
  /** Show download progress on stderr: a bar on a terminal, plain lines otherwise. */
  progress?: boolean;
}

/**
 * `$OLMO_TS_CACHE`, else `~/.cache/olmo-ts/checkpoints`. `env` reads the variable (default: the
 * process environment).
 */
export function defaultCacheDir(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  return env("OLMO_TS_CACHE") || join(homedir(), ".cache", "olmo-ts", "checkpoints");
}

/**
 * Maps a remote folder URL to plain HTTPS: `gs://b/p` → `https://storage.googleapis.com/b/p`,
 * `s3://b/p` → `https://b.s3.amazonaws.com/p` (public objects only: no credentials are used).
 * @throws Error for schemes other than http, https, gs and s3.
 */
export function toHttpUrl(url: string): string {
  const m = /^([a-z0-9]+):\/\/(.*)$/i.exec(url);
  if (!m) throw new Error(`not a URL: ${url}`);
  const [, scheme, rest] = m;
  switch (scheme.toLowerCase()) {
    case "http":
    case "https":
      return url;
    case "gs":
      return `https://storage.googleapis.com/${rest}`;
    case "s3": {
      const slash = rest.indexOf("/");
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      return `https://${bucket}.s3.amazonaws.com${slash < 0 ? "" : rest.slice(slash)}`;
    }
    default:
      throw new Error(`unsupported URL scheme "${scheme}" in ${url} (use http, https, gs or s3)`);
  }
}

function checkFileName(fileName: string): string[] {
  const parts = fileName.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\"))) {
    throw new Error(`invalid checkpoint file name "${fileName}" (must be a relative path)`);
  }
  return parts;
}

function sanitiseSegment(raw: string): string {
  let s = raw;
  try {
    s = decodeURIComponent(raw);
  } catch { /* keep the raw text; it is sanitised below anyway */ }
  s = s.replace(/[^A-Za-z0-9._=+,@-]/g, "_");
  return /^\.*$/.test(s) ? s.replace(/\./g, "_") : s;
}

/** The URL of `fileName` inside the folder `folderUrl` (any query string is kept). */
function fileUrl(folderUrl: string, fileName: string): URL {
  const url = new URL(toHttpUrl(folderUrl));
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${fileName}`;
  return url;
}

/**
 * The path where `resolveResource(folderUrl, fileName)` caches the file (whether or not it is
 * there yet). Always inside `cacheDir`.
 */
export async function cachePathFor(
  folderUrl: string,
  fileName: string,
  cacheDir: string = defaultCacheDir(),
): Promise<string> {
  const names = checkFileName(fileName);
  const url = new URL(toHttpUrl(folderUrl));
  const folderSegments = url.pathname.split("/").filter((s) => s !== "").map(sanitiseSegment);
  if (url.search) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(url.search));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    folderSegments.push(`query-${hex.slice(0, 16)}`);
  }
  const root = resolve(cacheDir);
  const path = resolve(root, sanitiseSegment(url.host), ...folderSegments, ...names);
  const rel = relative(root, path);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Error(`cache path for ${url} escapes the cache dir ${root}`);
  }
  return path;
}

/**
 * Returns a local path to `fileName` inside the checkpoint folder `pathOrUrl`. Local folders
 * (or `file://` URLs) are used in place; remote ones are downloaded into the cache unless the
 * file is already cached there.
 * @throws ResourceNotFoundError naming the path or URL when the file does not exist;
 *   Error naming the URL for other download failures.
 */
export async function resolveResource(
  pathOrUrl: string,
  fileName: string,
  opts: ResolveResourceOptions = {},
): Promise<string> {
  checkFileName(fileName);
  if (!isUrl(pathOrUrl) || pathOrUrl.toLowerCase().startsWith("file://")) {
    const dir = isUrl(pathOrUrl) ? fileURLToPath(pathOrUrl) : pathOrUrl;
    const path = join(dir, fileName);
    if (!(await pathExists(path))) throw new ResourceNotFoundError(`${path} not found`);
    return path;
  }
  const dest = await cachePathFor(pathOrUrl, fileName, opts.cacheDir ?? defaultCacheDir());
  if (await pathExists(dest)) return dest;
  await download(fileUrl(pathOrUrl, fileName).href, dest, pathOrUrl.startsWith("s3://"), opts);
  return dest;
}

async function download(
  url: string,
  dest: string,
  isS3: boolean,
  opts: ResolveResourceOptions,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`cannot download ${url}: ${(e as Error).message}`);
  }
  // S3 answers 403 rather than 404 for a missing key when listing is not public.
  if (res.status === 404 || res.status === 410 || (isS3 && res.status === 403)) {
    await res.body?.cancel();
    throw new ResourceNotFoundError(`${url} not found (HTTP ${res.status})`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
  }
  const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
  const lengthHeader = res.headers.get("content-length");
  const total = lengthHeader !== null && !encoded ? Number(lengthHeader) : undefined;
  const progress = opts.progress ? startProgress(url, total) : undefined;
  await Deno.mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.download-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  let received = 0;
  let closed = false;
  try {
    for await (const chunk of res.body) {
      for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
      received += chunk.length;
      progress?.update(received);
    }
    file.close();
    closed = true;
    if (total !== undefined && received !== total) {
      throw new Error(`download of ${url} ended after ${received} of ${total} bytes`);
    }
    await Deno.rename(tmp, dest);
    progress?.stop(true);
  } catch (e) {
    if (!closed) file.close();
    await Deno.remove(tmp).catch(() => {});
    progress?.stop(false);
    throw new Error(`cannot download ${url}: ${(e as Error).message}`);
  }
}

interface Progress {
  update(bytes: number): void;
  stop(ok: boolean): void;
}

const MIB = 1024 * 1024;

function startProgress(url: string, total: number | undefined): Progress {
  const mib = (b: number) => (b / MIB).toFixed(1);
  if (Deno.stderr.isTerminal() && total !== undefined) {
    const bar = new cliProgress.SingleBar({
      format: "download |{bar}| {percentage}% | {done}/{size} MiB | {file}",
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    const file = url.slice(url.lastIndexOf("/") + 1);
    bar.start(total, 0, { done: mib(0), size: mib(total), file });
    return {
      update: (b) => bar.update(b, { done: mib(b) }),
      stop: () => bar.stop(),
    };
  }
  // Not a terminal (or unknown size): a line at the start, every 10%, and at the end.
  console.error(`downloading ${url}${total === undefined ? "" : ` (${mib(total)} MiB)`}`);
  let lastTenth = 0;
  let bytes = 0;
  return {
    update: (b) => {
      bytes = b;
      if (total === undefined) return;
      const tenth = Math.floor((10 * b) / Math.max(total, 1));
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        console.error(`  ${tenth * 10}% (${mib(b)}/${mib(total)} MiB)`);
      }
    },
    stop: (ok) => console.error(`  ${ok ? "done" : "failed"}: ${mib(bytes)} MiB from ${url}`),
  };
}
