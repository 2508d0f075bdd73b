/**
 * The browser bundle of the pages (`web/*.ts`, with the library code they import and tfjs),
 * built by `deno bundle` into `.cache/web/` (never committed). `deno task serve` rebuilds it
 * when it is missing or stale (`webBundleIsStale`).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../..", import.meta.url));
/** The pages' sources. */
export const WEB_DIR: string = join(REPO_ROOT, "web");
/** Where the bundle goes. */
export const BUNDLE_DIR: string = join(REPO_ROOT, ".cache", "web");
/** tfjs-backend-wasm's binaries (installed by `deno install`). */
export const WASM_DIR: string = join(
  REPO_ROOT,
  "node_modules",
  "@tensorflow",
  "tfjs-backend-wasm",
  "dist",
);

/** The bundle's entry points (one file each in the bundle folder, same base name + `.js`). */
export const WEB_ENTRIES: readonly string[] = [
  "playground.ts",
  "playground_worker.ts",
  "dashboard.ts",
];

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) newest = Math.max(newest, await newestMtime(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      newest = Math.max(newest, (await Deno.stat(path)).mtime?.getTime() ?? 0);
    }
  }
  return newest;
}

async function oldestOutput(outDir: string): Promise<number> {
  let oldest = Infinity;
  for (const entry of WEB_ENTRIES) {
    try {
      const mtime = (await Deno.stat(join(outDir, entry.replace(/\.ts$/, ".js")))).mtime;
      oldest = Math.min(oldest, mtime?.getTime() ?? 0);
    } catch {
      return 0;
    }
  }
  return oldest;
}

/**
 * True when a bundle file is missing or older than a source under `web/` or `lib/`, or than
 * `deno.json`/`deno.lock` (which pin the packages bundled).
 */
export async function webBundleIsStale(outDir = BUNDLE_DIR): Promise<boolean> {
  let sources = Math.max(await newestMtime(WEB_DIR), await newestMtime(join(REPO_ROOT, "lib")));
  for (const pin of ["deno.json", "deno.lock"]) {
    const mtime = await Deno.stat(join(REPO_ROOT, pin)).then(
      (i) => i.mtime?.getTime() ?? 0,
      () => 0,
    );
    sources = Math.max(sources, mtime);
  }
  return (await oldestOutput(outDir)) < sources;
}

/**
 * Bundles every entry for the browser into `outDir` (minified ESM, source maps alongside).
 * @throws Error with `deno bundle`'s output when it fails.
 */
export async function buildWebBundle(outDir = BUNDLE_DIR): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--sourcemap=linked",
      "--config",
      join(REPO_ROOT, "deno.json"),
      "--outdir",
      outDir,
      ...WEB_ENTRIES.map((e) => join(WEB_DIR, e)),
    ],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`deno bundle failed (exit ${out.code}):\n${text.trim()}`);
  }
}

/** Builds the bundle when `webBundleIsStale`; returns whether it built. */
export async function ensureWebBundle(outDir = BUNDLE_DIR): Promise<boolean> {
  if (!(await webBundleIsStale(outDir))) return false;
  await buildWebBundle(outDir);
  return true;
}
