/**
 * The native `tensorflow` backend from `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`.
 *
 * Neither package is a dependency: their install script downloads libtensorflow (and, for the
 * GPU package, needs CUDA), which not every machine can do. They are imported with a computed
 * npm specifier only when chosen, so `deno install`/`deno check` never fetch them. Before
 * importing, the package and its native addon are looked up in `node_modules`, so a missing
 * package gives a clear message instead of an on-the-fly download.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** tfjs version the native packages must match (same engine as `@tensorflow/tfjs`). */
const TFJS_VERSION = "4.22.0";

/** Native packages in order of preference. */
export const TENSORFLOW_PACKAGES: readonly string[] = [
  "@tensorflow/tfjs-node-gpu",
  "@tensorflow/tfjs-node",
];

/** How to install the native backend, quoted in every "not available" error. */
export const TENSORFLOW_INSTALL_HINT: string = [
  "To use --backend tensorflow, install the native TensorFlow.js package in the project folder:",
  `  deno add npm:@tensorflow/tfjs-node@${TFJS_VERSION}`,
  `  deno install --allow-scripts=npm:@tensorflow/tfjs-node@${TFJS_VERSION}`,
  `(or @tensorflow/tfjs-node-gpu@${TFJS_VERSION} for CUDA 11.2 + cuDNN 8.1 GPUs). The install`,
  "script downloads libtensorflow from storage.googleapis.com, so it needs internet access.",
  "Without it, use --backend wasm (the default on CPU).",
].join("\n");

/** Where an installed native package was found. */
export interface TensorflowPackage {
  /** npm package name, e.g. `@tensorflow/tfjs-node`. */
  name: string;
  /** Absolute folder of the package. */
  dir: string;
  /** Its `package.json` version. */
  version: string;
  /** True when its native addon (`lib/napi-v*\/tfjs_binding.node`) exists. */
  hasAddon: boolean;
}

/** `node_modules` folders to search: the repository's and the working directory's. */
function nodeModulesDirs(): string[] {
  const dirs: string[] = [];
  const repoRoot = new URL("../../", import.meta.url);
  if (repoRoot.protocol === "file:") dirs.push(join(fileURLToPath(repoRoot), "node_modules"));
  const cwdModules = join(Deno.cwd(), "node_modules");
  if (!dirs.includes(cwdModules)) dirs.push(cwdModules);
  return dirs;
}

/** Package folders for `name` in one `node_modules`: top-level link, then Deno's store. */
function packageDirCandidates(nodeModules: string, name: string): string[] {
  const storeName = `${name.replace("/", "+")}@${TFJS_VERSION}`;
  return [
    join(nodeModules, name),
    join(nodeModules, ".deno", storeName, "node_modules", name),
  ];
}

function hasNativeAddon(packageDir: string): boolean {
  const libDir = join(packageDir, "lib");
  if (!existsSync(libDir)) return false;
  return readdirSync(libDir).some((entry) =>
    entry.startsWith("napi-v") && existsSync(join(libDir, entry, "tfjs_binding.node"))
  );
}

/** Finds an installed native package (GPU first), or null when none is installed. */
export function findTensorflowPackage(): TensorflowPackage | null {
  for (const name of TENSORFLOW_PACKAGES) {
    for (const nodeModules of nodeModulesDirs()) {
      for (const dir of packageDirCandidates(nodeModules, name)) {
        const manifestPath = join(dir, "package.json");
        if (existsSync(manifestPath)) {
          const version = String(JSON.parse(readFileSync(manifestPath, "utf8")).version);
          return { name, dir, version, hasAddon: hasNativeAddon(dir) };
        }
      }
    }
  }
  return null;
}

/**
 * Imports the installed native package, which registers the `tensorflow` backend with the tfjs
 * engine. Throws an error with {@link TENSORFLOW_INSTALL_HINT} when it is missing or broken.
 * libtensorflow's own logging is left to `TF_CPP_MIN_LOG_LEVEL` (set it to 2 for errors only):
 * a library must not change the process environment, which every thread and child shares.
 */
export async function loadTensorflowBackend(): Promise<void> {
  const found = findTensorflowPackage();
  if (found === null) {
    throw new Error(
      `backend "tensorflow": neither ${TENSORFLOW_PACKAGES.join(" nor ")} is installed.\n` +
        TENSORFLOW_INSTALL_HINT,
    );
  }
  if (found.version !== TFJS_VERSION) {
    throw new Error(
      `backend "tensorflow": ${found.name} ${found.version} is installed in ${found.dir}, but ` +
        `it must be ${TFJS_VERSION} to share the engine of @tensorflow/tfjs ${TFJS_VERSION}.\n` +
        TENSORFLOW_INSTALL_HINT,
    );
  }
  if (!found.hasAddon) {
    throw new Error(
      `backend "tensorflow": ${found.name} is in ${found.dir} but its native addon ` +
        "(lib/napi-v*/tfjs_binding.node) is missing: its install script did not run or " +
        `failed.\n${TENSORFLOW_INSTALL_HINT}`,
    );
  }
  // A computed specifier keeps `deno check`/`deno install` from fetching the package.
  const specifier = `npm:${found.name}@${TFJS_VERSION}`;
  try {
    await import(specifier);
  } catch (cause) {
    throw new Error(
      `backend "tensorflow": importing ${specifier} failed: ${(cause as Error).message}\n` +
        TENSORFLOW_INSTALL_HINT,
      { cause },
    );
  }
}
