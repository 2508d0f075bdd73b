/**
 * Finding a `tokenizer.json` for an identifier: a file, a directory holding `tokenizer.json`, or
 * a Hugging Face Hub id (`gpt2`, `EleutherAI/gpt-neox-20b`). Hub ids are looked up in the
 * olmo-ts cache, then in the Hugging Face hub cache, and finally downloaded into the olmo-ts
 * cache when the network allows.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.ts";

/**
 * Root of the olmo-ts cache: `$OLMO_TS_CACHE`, else `$XDG_CACHE_HOME/olmo-ts`, else
 * `~/.cache/olmo-ts`. `env` reads the variables (default: the process environment).
 */
export function olmoCacheDir(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  const fromEnv = env("OLMO_TS_CACHE");
  if (fromEnv) return fromEnv;
  return join(env("XDG_CACHE_HOME") || join(homedir(), ".cache"), "olmo-ts");
}

/** Where a Hub tokenizer lives in the olmo-ts cache. */
export function cachedTokenizerPath(hubId: string, cacheDir: string = olmoCacheDir()): string {
  return join(cacheDir, "tokenizers", ...hubId.split("/"), "tokenizer.json");
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.-]+)?$/;

/** The Hugging Face hub cache's snapshot of `hubId`, if it holds a tokenizer.json. */
function huggingFaceCachePath(hubId: string): string | null {
  const hfHome = Deno.env.get("HF_HOME") ?? join(homedir(), ".cache", "huggingface");
  const hubCache = Deno.env.get("HF_HUB_CACHE") ?? join(hfHome, "hub");
  const repo = join(hubCache, `models--${hubId.replace("/", "--")}`);
  const snapshots = join(repo, "snapshots");
  if (!existsSync(snapshots)) return null;
  const refMain = join(repo, "refs", "main");
  const revisions = existsSync(refMain)
    ? [readFileSync(refMain, "utf8").trim()]
    : readdirSync(snapshots).sort();
  for (const rev of revisions) {
    const candidate = join(snapshots, rev, "tokenizer.json");
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Options of `resolveTokenizerFile`. */
export interface ResolveTokenizerOptions {
  /** olmo-ts cache root. Default `olmoCacheDir()`. */
  cacheDir?: string;
  /** Try the network for Hub ids that are not cached. Default true. */
  allowDownload?: boolean;
  /** Hub endpoint. Default `$HF_ENDPOINT` or https://huggingface.co. */
  endpoint?: string;
}

/**
 * Returns the path of the `tokenizer.json` that `identifier` names, downloading a Hub
 * tokenizer into the cache if needed. Fails with a message that says where to put the file.
 */
export async function resolveTokenizerFile(
  identifier: string,
  options: ResolveTokenizerOptions = {},
): Promise<string> {
  if (existsSync(identifier)) {
    if (statSync(identifier).isDirectory()) {
      const inside = join(identifier, "tokenizer.json");
      if (!existsSync(inside)) {
        throw new Error(`tokenizer: directory ${identifier} has no tokenizer.json`);
      }
      return inside;
    }
    return identifier;
  }
  if (!HUB_ID.test(identifier) || identifier.includes("..")) {
    throw new Error(
      `tokenizer: "${identifier}" is neither an existing file or directory nor a Hugging Face ` +
        `Hub id (like "gpt2" or "EleutherAI/gpt-neox-20b")`,
    );
  }
  const cached = cachedTokenizerPath(identifier, options.cacheDir);
  if (existsSync(cached)) return cached;
  const fromHf = huggingFaceCachePath(identifier);
  if (fromHf !== null) return fromHf;

  const endpoint = options.endpoint ?? Deno.env.get("HF_ENDPOINT") ?? "https://huggingface.co";
  const url = `${endpoint}/${identifier}/resolve/main/tokenizer.json`;
  const howToFix = `Download ${url} yourself and put it at ${cached}, ` +
    `or set tokenizer.identifier to the path of a tokenizer.json file.`;
  if (options.allowDownload === false) {
    throw new Error(
      `tokenizer: "${identifier}" is not cached and downloads are disabled. ${howToFix}`,
    );
  }
  let text: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`);
    }
    text = await response.text();
    const parsed = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || !("model" in parsed)) {
      throw new Error("the response is not a tokenizer.json (no `model` key)");
    }
  } catch (e) {
    throw new Error(
      `tokenizer: could not download "${identifier}" from ${url}: ${(e as Error).message}. ` +
        howToFix,
    );
  }
  await writeFileAtomic(cached, text);
  return cached;
}
