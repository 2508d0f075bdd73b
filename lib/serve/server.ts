/**
 * The web server of `deno task serve`: the playground and dashboard pages, their browser bundle,
 * tfjs' wasm binaries, the served folders' files (read-only) and a small JSON/SSE API.
 *
 * Routes (GET and HEAD only; anything else is 405):
 * - `/` playground, `/dashboard` dashboard, `/style.css`;
 * - `/bundle/{file}` the browser bundle, `/tfjs-wasm/{file}.wasm` tfjs' wasm binaries;
 * - `/api/checkpoints`, `/api/checkpoints/{id}/tokenizer.json`, `/api/runs`,
 *   `/api/runs/{id}/metrics` (server-sent events, see `metrics_events.ts`);
 * - `/files/{id}/{path}` a file inside served folder `{id}` (`served_path.ts` refuses escapes).
 *
 * @module
 */
import { join } from "node:path";
import { contentTypeOf } from "./content_type.ts";
import { metricsEventStream } from "./metrics_events.ts";
import {
  checkpointTokenizerJson,
  listCheckpoint,
  listRun,
  type ServedFolder,
} from "./served_folders.ts";
import { resolveServedPath } from "./served_path.ts";

/** Where the server finds its own files. */
export interface ServerAssets {
  /** Folder of the pages (`playground.html`, `dashboard.html`, `style.css`). */
  pagesDir: string;
  /** Folder of the built browser bundle. */
  bundleDir: string;
  /** Folder of tfjs-backend-wasm's `.wasm` files. */
  wasmDir: string;
}

/** Options of `startServer`. */
export interface ServerOptions {
  /** Interface to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port (0: any free one). */
  port: number;
  /** Checkpoint folders for the playground. */
  checkpoints: readonly ServedFolder[];
  /** Run folders for the dashboard. */
  runs: readonly ServedFolder[];
  /** The server's own files. */
  assets: ServerAssets;
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000/`. */
  url: string;
  /** Stops listening and closes open event streams. */
  shutdown(): Promise<void>;
}

/** The port is taken. */
export class PortInUseError extends Error {}

const PAGES: Readonly<Record<string, string>> = {
  "/": "playground.html",
  "/dashboard": "dashboard.html",
  "/style.css": "style.css",
};

/**
 * Starts listening. Checkpoint and run folders are assumed checked (`checkServedFolders`).
 * @throws PortInUseError when the port is already taken.
 */
export function startServer(opts: ServerOptions): RunningServer {
  const hostname = opts.hostname ?? "127.0.0.1";
  const streams = new AbortController();
  const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    // Ends this request's event stream once the response is over (the client went away).
    const done = new AbortController();
    info.completed.finally(() => done.abort()).catch(() => {});
    return handle(req, opts, AbortSignal.any([streams.signal, done.signal]));
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port: opts.port, onListen: () => {} }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new PortInUseError(
        `port ${opts.port} on ${hostname} is already in use (another server is running there); ` +
          `stop it or pick another port with --port`,
      );
    }
    throw e;
  }
  const { port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}/`,
    shutdown: async () => {
      streams.abort();
      await server.shutdown();
    },
  };
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  });
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

/** Serves `relative` from inside `root` (resolved to its real path first). */
async function serveFile(req: Request, root: string, relative: string): Promise<Response> {
  let realRoot: string;
  try {
    realRoot = await Deno.realPath(root);
  } catch {
    return text(404, "not found");
  }
  const resolved = await resolveServedPath(realRoot, relative);
  if ("refused" in resolved) {
    return resolved.refused === "forbidden" ? text(403, "forbidden") : text(404, "not found");
  }
  const headers = {
    "content-type": contentTypeOf(resolved.file),
    "content-length": String(resolved.size),
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  };
  if (req.method === "HEAD") return new Response(null, { headers });
  const file = await Deno.open(resolved.file, { read: true });
  return new Response(firstBytes(file.readable, resolved.size), { headers });
}

/**
 * The first `size` bytes of `stream`: a file that grows while it is sent (`metrics.jsonl` during
 * training) must not send more than the `content-length` already announced.
 */
function firstBytes(stream: ReadableStream<Uint8Array>, size: number): ReadableStream<Uint8Array> {
  let left = size;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (left <= 0) return;
        const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= part.length;
        controller.enqueue(part);
      },
    }),
  );
}

/**
 * Cross-origin isolation, so the playground can share a stop flag with its worker
 * (`SharedArrayBuffer`); every file comes from this origin anyway.
 */
const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/** Names a browser uses for this machine's loopback interface. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Whether the request's `Host` names this machine. A server on loopback answers only requests
 * addressed to a loopback name, so a web page whose domain was re-pointed at 127.0.0.1 (DNS
 * rebinding) cannot read the served folders; `--host` elsewhere means the network may ask.
 */
function hostAllowed(req: Request, hostname: string): boolean {
  if (!LOOPBACK_NAMES.has(hostname)) return true;
  const host = req.headers.get("host");
  if (host === null) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  return LOOPBACK_NAMES.has(name.toLowerCase());
}

async function handle(req: Request, opts: ServerOptions, ended: AbortSignal): Promise<Response> {
  const response = hostAllowed(req, opts.hostname ?? "127.0.0.1")
    ? await route(req, opts, ended)
    : text(403, "forbidden: this server answers only to localhost");
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) response.headers.set(k, v);
  return response;
}

async function route(req: Request, opts: ServerOptions, ended: AbortSignal): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  // The raw path, still percent-encoded: segments are decoded (and checked) one by one later.
  const path = new URL(req.url).pathname;
  const { assets } = opts;
  if (Object.hasOwn(PAGES, path)) return serveFile(req, assets.pagesDir, PAGES[path]);
  if (path.startsWith("/bundle/")) return serveFile(req, assets.bundleDir, path.slice(8));
  if (path.startsWith("/tfjs-wasm/")) {
    if (!path.endsWith(".wasm")) return text(404, "not found");
    return serveFile(req, assets.wasmDir, path.slice(11));
  }
  const folders = new Map([...opts.checkpoints, ...opts.runs].map((f) => [f.id, f]));
  const files = /^\/files\/([a-z]\d+)\/(.+)$/.exec(path);
  if (files) {
    const folder = folders.get(files[1]);
    return folder ? serveFile(req, folder.path, files[2]) : text(404, "not found");
  }
  if (path === "/api/checkpoints") {
    return json(await Promise.all(opts.checkpoints.map(listCheckpoint)));
  }
  if (path === "/api/runs") return json(await Promise.all(opts.runs.map(listRun)));
  const tokenizer = /^\/api\/checkpoints\/(c\d+)\/tokenizer\.json$/.exec(path);
  if (tokenizer) {
    const folder = opts.checkpoints.find((c) => c.id === tokenizer[1]);
    if (!folder) return text(404, "not found");
    try {
      return new Response(await checkpointTokenizerJson(folder), {
        headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
      });
    } catch (e) {
      return text(404, `no tokenizer: ${(e as Error).message}`);
    }
  }
  const metrics = /^\/api\/runs\/(r\d+)\/metrics$/.exec(path);
  if (metrics) {
    const folder = opts.runs.find((r) => r.id === metrics[1]);
    if (!folder) return text(404, "not found");
    return new Response(metricsEventStream(join(folder.path, "metrics.jsonl"), ended), {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  }
  return text(404, "not found");
}
