/**
 * The web playground and training dashboard:
 *
 *   deno task serve [--port 8000] [--host 127.0.0.1] [--checkpoint DIR ...] [--run runs/NAME ...]
 *
 * Serves, on localhost unless `--host` says otherwise: a playground that loads a served
 * checkpoint (or files dropped into the page) into the browser and generates text there, and a
 * dashboard of the served runs' metrics that follows `metrics.jsonl` live. Only the given folders
 * are served, read-only. The browser bundle is (re)built first when it is missing or stale.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runCommand, UsageError } from "../lib/command/run.ts";
import { checkServedFolders, servedFolders } from "../lib/serve/served_folders.ts";
import { startServer } from "../lib/serve/server.ts";
import { BUNDLE_DIR, ensureWebBundle, WASM_DIR, WEB_DIR } from "../lib/serve/web_bundle.ts";

/** Parsed command line of `deno task serve`. */
export interface ServeCliOptions {
  /** Port (0: any free one). */
  port: number;
  /** Interface to listen on. */
  host: string;
  /** Checkpoint folders. */
  checkpoints: string[];
  /** Run folders. */
  runs: string[];
}

const USAGE = "usage: deno task serve [--port 8000] [--host 127.0.0.1] " +
  "[--checkpoint DIR ...] [--run runs/NAME ...]";

/**
 * Parses the command line (`node:util` parseArgs: `--checkpoint` and `--run` repeat); null after
 * printing `--help`.
 * @throws UsageError on bad arguments.
 */
export function parseServeArgs(args: string[]): ServeCliOptions | null {
  try {
    return parseServeOptions(args);
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
}

function parseServeOptions(args: string[]): ServeCliOptions | null {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
      checkpoint: { type: "string", multiple: true, default: [] },
      run: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      `${USAGE}\n\nServes a playground (generation in the browser) and a live dashboard.`,
    );
    return null;
  }
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    throw new Error(`--port must be an integer in [0, 65535], got ${values.port}`);
  }
  if (values.host.trim() === "") throw new Error("--host must not be empty");
  if (values.checkpoint.length === 0 && values.run.length === 0) {
    throw new Error("nothing to serve: give at least one --checkpoint DIR or --run DIR");
  }
  return { port, host: values.host, checkpoints: values.checkpoint, runs: values.run };
}

/** Runs the command; returns the exit code (serves until the process is stopped). */
async function main(argv: string[]): Promise<number> {
  const opts = parseServeArgs(argv);
  if (opts === null) return 0;
  const checkpoints = servedFolders(opts.checkpoints, "c");
  const runs = servedFolders(opts.runs, "r");
  await checkServedFolders(checkpoints, runs);
  // Listen first: a taken port is reported before any time goes into the bundle.
  const server = startServer({
    hostname: opts.host,
    port: opts.port,
    checkpoints,
    runs,
    assets: { pagesDir: WEB_DIR, bundleDir: BUNDLE_DIR, wasmDir: WASM_DIR },
  });
  try {
    if (await ensureWebBundle()) console.error(`serve: built the browser bundle in ${BUNDLE_DIR}`);
  } catch (e) {
    await server.shutdown();
    throw e;
  }
  console.log(`playground: ${server.url}`);
  console.log(`dashboard:  ${server.url}dashboard`);
  return await new Promise<number>(() => {});
}

if (import.meta.main) await runCommand("serve", main, USAGE);
