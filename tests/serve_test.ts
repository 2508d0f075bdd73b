/**
 * `deno task serve` without a browser: argument parsing, localhost binding, the port-in-use
 * error, read-only file serving with content types, path traversal and symlink escapes refused,
 * the Host check, the run and checkpoint listings, the metrics event stream following appended
 * lines, and when the bundle counts as stale. Also: the modules the browser bundle is built from
 * (model, tokenizer, generation, safetensors and `model.pt` readers, the pages) use no Deno API
 * and import no `node:` module. (The pages themselves are tested in a real browser in
 * `serve_browser_test.ts`.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeArgs } from "../cli/serve.ts";
import { assertExit, runCli } from "./_cli.ts";
import { servedFolders } from "../lib/serve/served_folders.ts";
import { PortInUseError, type RunningServer, startServer } from "../lib/serve/server.ts";
import { WEB_DIR, WEB_ENTRIES, webBundleIsStale } from "../lib/serve/web_bundle.ts";
import { REPO_ROOT } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";
import { wordLevelTokenizerJson } from "./_train_fixture.ts";

/** A run folder with a checkpoint inside, a file beside it (outside) and escaping symlinks. */
async function makeServedTree(dir: string): Promise<{ run: string; checkpoint: string }> {
  const run = join(dir, "run");
  const checkpoint = join(run, "step4-unsharded");
  await Deno.mkdir(checkpoint, { recursive: true });
  await Deno.mkdir(join(run, "step4"));
  await Deno.symlink("step4-unsharded", join(run, "latest-unsharded"));
  await Deno.writeTextFile(join(dir, "secret.txt"), "outside\n");
  await Deno.writeTextFile(join(run, "config.yaml"), "model:\n  d_model: 8\n");
  await Deno.writeTextFile(join(run, "metrics.jsonl"), '{"step":1,"train/CrossEntropyLoss":4}\n');
  await Deno.writeTextFile(
    join(checkpoint, "config.yaml"),
    "model:\n  vocab_size: 64\n  eos_token_id: 63\n  pad_token_id: 62\ntokenizer:\n  identifier: tokenizer.json\n",
  );
  await Deno.writeFile(join(checkpoint, "model.safetensors"), new Uint8Array(16));
  await Deno.writeTextFile(join(checkpoint, "tokenizer.json"), wordLevelTokenizerJson(64));
  await Deno.symlink(join(dir, "secret.txt"), join(run, "escape.txt"));
  await Deno.symlink(dir, join(run, "parent"));
  await Deno.symlink("config.yaml", join(run, "inside.yaml"));
  return { run, checkpoint };
}

async function withServer(
  dir: string,
  fn: (server: RunningServer, paths: { run: string; checkpoint: string }) => Promise<void>,
): Promise<void> {
  const paths = await makeServedTree(dir);
  const pages = join(dir, "pages");
  await Deno.mkdir(pages);
  await Deno.writeTextFile(join(pages, "playground.html"), "<!doctype html><title>p</title>");
  await Deno.writeTextFile(join(pages, "dashboard.html"), "<!doctype html><title>d</title>");
  await Deno.writeTextFile(join(pages, "style.css"), "body {}");
  const bundle = join(dir, "bundle");
  await Deno.mkdir(bundle);
  await Deno.writeTextFile(join(bundle, "playground.js"), "export {};");
  const wasm = join(dir, "wasm");
  await Deno.mkdir(wasm);
  await Deno.writeFile(join(wasm, "tfjs-backend-wasm.wasm"), new Uint8Array([0, 97, 115, 109]));
  await Deno.writeTextFile(join(wasm, "notes.txt"), "not a wasm file");
  const server = startServer({
    port: 0,
    checkpoints: servedFolders([join(paths.run, "latest-unsharded")], "c"),
    runs: servedFolders([paths.run], "r"),
    assets: { pagesDir: pages, bundleDir: bundle, wasmDir: wasm },
  });
  try {
    await fn(server, paths);
  } finally {
    await server.shutdown();
  }
}

/** Sends `target` verbatim (no URL normalisation by a client) and returns the status code. */
async function rawStatus(
  server: RunningServer,
  target: string,
  host = new URL(server.url).host,
): Promise<number> {
  const { hostname, port } = new URL(server.url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const request = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
    assert.ok(status, `no HTTP status line for ${target}: ${text.slice(0, 80)}`);
    return Number(status[1]);
  } finally {
    conn.close();
  }
}

Deno.test("serve arguments: defaults, repeated folders, bad values", () => {
  assert.deepEqual(parseServeArgs(["--checkpoint", "a", "--checkpoint", "b", "--run", "r"]), {
    port: 8000,
    host: "127.0.0.1",
    checkpoints: ["a", "b"],
    runs: ["r"],
  });
  assert.deepEqual(parseServeArgs(["--run", "r", "--port", "0", "--host", "0.0.0.0"]), {
    port: 0,
    host: "0.0.0.0",
    checkpoints: [],
    runs: ["r"],
  });
  assert.throws(() => parseServeArgs(["--run", "r", "--port", "80x"]), /--port must be an integer/);
  assert.throws(() => parseServeArgs(["--run", "r", "--port", "70000"]), /--port/);
  assert.throws(() => parseServeArgs([]), /nothing to serve/);
  assert.throws(() => parseServeArgs(["--run", "r", "--bogus"]), /bogus/);
  assert.throws(() => parseServeArgs(["--run", "r", "stray"]), /unexpected argument "stray"/);
});

Deno.test("serve listens on localhost only by default and names a taken port", async () => {
  await withTempDir(async (dir) => {
    await withServer(dir, async (server) => {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const port = Number(new URL(server.url).port);
      assert.throws(
        () =>
          startServer({
            port,
            checkpoints: [],
            runs: [],
            assets: { pagesDir: dir, bundleDir: dir, wasmDir: dir },
          }),
        (e: Error) => e instanceof PortInUseError && e.message.includes(`port ${port}`),
      );
      // Nothing answers on this machine's other addresses.
      const others = Deno.networkInterfaces().filter((i) =>
        i.family === "IPv4" && i.address !== "127.0.0.1"
      );
      for (const other of others) {
        await assert.rejects(Deno.connect({ hostname: other.address, port }));
      }
    });
  });
});

Deno.test("serve command: a taken port and a missing folder are errors that say so", async () => {
  await withTempDir(async (dir) => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String(listener.addr.port);
    const taken = await runCli("serve.ts", ["--port", port, "--run", dir]);
    assertExit(taken, 1);
    assert.match(
      taken.stderr,
      new RegExp(`serve: port ${port} on 127\\.0\\.0\\.1 is already in use`),
    );
    const missing = await runCli("serve.ts", ["--port", "0", "--run", join(dir, "nope")]);
    assertExit(missing, 1);
    assert.match(missing.stderr, /nope: cannot serve it/);
    const notCheckpoint = await runCli("serve.ts", ["--port", "0", "--checkpoint", dir]);
    assertExit(notCheckpoint, 1);
    assert.match(notCheckpoint.stderr, /not a checkpoint folder \(no config\.yaml\)/);
    const usage = await runCli("serve.ts", ["--port", "x", "--run", dir]);
    assertExit(usage, 2);
    assert.match(usage.stderr, /--port must be an integer[^]*usage: deno task serve/);
  });
});

Deno.test("serve hands out files read-only with content types", async () => {
  await withTempDir(async (dir) => {
    await withServer(dir, async (server) => {
      const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);
      const expectType = async (path: string, type: RegExp) => {
        const r = await get(path);
        assert.equal(r.status, 200, path);
        assert.match(r.headers.get("content-type") ?? "", type, path);
        assert.equal(r.headers.get("x-content-type-options"), "nosniff");
        await r.body?.cancel();
      };
      await expectType("/", /^text\/html/);
      await expectType("/dashboard", /^text\/html/);
      await expectType("/style.css", /^text\/css/);
      await expectType("/bundle/playground.js", /^text\/javascript/);
      await expectType("/tfjs-wasm/tfjs-backend-wasm.wasm", /^application\/wasm$/);
      await expectType("/files/r0/metrics.jsonl", /^application\/x-ndjson/);
      await expectType("/files/c0/model.safetensors", /^application\/octet-stream$/);
      // The checkpoint was given as the `latest-unsharded` link; its real folder is served.
      assert.equal(
        await (await get("/files/c0/config.yaml")).text(),
        await Deno.readTextFile(
          join(dir, "run", "step4-unsharded", "config.yaml"),
        ),
      );
      // A symlink that stays inside the folder is fine.
      assert.equal(await (await get("/files/r0/inside.yaml")).text(), "model:\n  d_model: 8\n");
      for (const method of ["PUT", "POST", "DELETE"]) {
        const r = await get("/files/r0/config.yaml", { method, body: "x" });
        assert.equal(r.status, 405, method);
        await r.body?.cancel();
      }
      const notWasm = await get("/tfjs-wasm/notes.txt");
      assert.equal(notWasm.status, 404);
      await notWasm.body?.cancel();
      assert.equal(
        await Deno.readTextFile(join(dir, "run", "config.yaml")),
        "model:\n  d_model: 8\n",
      );
    });
  });
});

Deno.test("serve refuses path traversal, symlinks out of the folders and foreign Host names", async () => {
  await withTempDir(async (dir) => {
    await withServer(dir, async (server) => {
      const refused = [
        "/files/r0/../secret.txt",
        "/files/r0/%2e%2e/secret.txt",
        "/files/r0/..%2fsecret.txt",
        "/files/r0/%2e%2e%2fsecret.txt",
        "/files/r0/..%5csecret.txt",
        "/files/r0/step4/..%2f..%2fsecret.txt",
        "/files/r0//etc/passwd",
        "/files/r0/%2fetc%2fpasswd",
        "/files/r0/config.yaml%00.txt",
        "/files/r0/escape.txt",
        "/files/r0/parent/secret.txt",
        "/files/c0/../../secret.txt",
        "/files/c1/config.yaml",
        "/files/x0/config.yaml",
        "/bundle/../run/config.yaml",
        "/bundle/%2e%2e/run/config.yaml",
        "/tfjs-wasm/..%2f..%2fsecret.txt.wasm",
        "/../../secret.txt",
        "/files/r0/step4",
        "/files/r0/",
      ];
      for (const target of refused) {
        const status = await rawStatus(server, target);
        assert.ok(status === 403 || status === 404, `${target} answered ${status}`);
      }
      assert.equal(await rawStatus(server, "/files/r0/..%2fsecret.txt"), 403);
      assert.equal(await rawStatus(server, "/files/r0/escape.txt"), 403);
      assert.equal(await rawStatus(server, "/files/r0/config.yaml"), 200);
      // Addressed to another name (DNS rebinding): refused; loopback names are fine.
      const port = new URL(server.url).port;
      assert.equal(await rawStatus(server, "/files/r0/config.yaml", `evil.example:${port}`), 403);
      assert.equal(await rawStatus(server, "/files/r0/config.yaml", `localhost:${port}`), 200);
    });
  });
});

Deno.test("serve lists runs and checkpoints, with the checkpoint's tokenizer", async () => {
  await withTempDir(async (dir) => {
    await withServer(dir, async (server) => {
      const runs = await (await fetch(new URL("/api/runs", server.url))).json();
      assert.equal(runs.length, 1);
      assert.equal(runs[0].name, "run");
      assert.deepEqual(runs[0].checkpoints.map((c: { name: string }) => c.name), [
        "step4",
        "step4-unsharded",
      ]);
      assert.deepEqual(runs[0].latest, { "latest-unsharded": "step4-unsharded" });
      const checkpoints = await (await fetch(new URL("/api/checkpoints", server.url))).json();
      assert.deepEqual(checkpoints[0].weights, ["model.safetensors"]);
      assert.equal(checkpoints[0].tokenizer, true, checkpoints[0].tokenizerError);
      const tokenizer = await fetch(new URL("/api/checkpoints/c0/tokenizer.json", server.url));
      assert.equal(
        JSON.stringify(JSON.parse(await tokenizer.text())),
        JSON.stringify(JSON.parse(wordLevelTokenizerJson(64))),
      );
    });
  });
});

Deno.test("serve streams metrics.jsonl lines as they are appended", async () => {
  await withTempDir(async (dir) => {
    await withServer(dir, async (server, { run }) => {
      const response = await fetch(new URL("/api/runs/r0/metrics", server.url));
      assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let received = "";
      const dataLines = () => received.split("\n").filter((l) => l.startsWith("data: "));
      const until = async (n: number) => {
        while (dataLines().length < n) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended after ${received}`);
          received += value;
        }
      };
      await until(1);
      const file = join(run, "metrics.jsonl");
      // A half-written line is held back until its newline arrives.
      await Deno.writeTextFile(file, '{"step":2,"train/CrossEntropyLoss":3.5', { append: true });
      await new Promise((r) => setTimeout(r, 700));
      await Deno.writeTextFile(file, '}\n{"step":3,"train/CrossEntropyLoss":3}\n', {
        append: true,
      });
      await until(3);
      assert.deepEqual(dataLines().map((l) => JSON.parse(l.slice(6)).step), [1, 2, 3]);
      // A restarted run starts the file afresh: the page is told to drop what it has.
      await Deno.writeTextFile(file, '{"step":1,"train/CrossEntropyLoss":9}\n');
      await until(5); // the reset event carries a "data: {}" line too
      assert.match(
        received,
        /event: reset\ndata: \{\}\n\n(: idle\n\n)*data: \{"step":1,"train\/CrossEntropyLoss":9\}/,
      );
      await reader.cancel();
    });
  });
});

/** The project's own modules `entry` imports (statically or not, `import type` included). */
async function localModules(entry: string): Promise<{ path: string; imports: string[] }[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string }[] }[];
  };
  return info.modules
    .filter((m) => m.specifier.startsWith("file://"))
    .map((m) => ({
      path: new URL(m.specifier).pathname,
      imports: (m.dependencies ?? []).map((d) => d.specifier),
    }));
}

Deno.test("the browser bundle's modules use no Deno API and import no node: module", async () => {
  const seen = new Set<string>();
  for (const entry of WEB_ENTRIES) {
    for (const module of await localModules(join(WEB_DIR, entry))) {
      if (seen.has(module.path)) continue;
      seen.add(module.path);
      const name = module.path.slice(REPO_ROOT.length);
      const nodeImports = module.imports.filter((s) => s.startsWith("node:"));
      assert.deepEqual(nodeImports, [], `${name} imports ${nodeImports.join(", ")}`);
      const source = await Deno.readTextFile(module.path);
      assert.doesNotMatch(source, /\bDeno\./, `${name} uses a Deno API`);
    }
  }
  // The pages do reach the library code they are meant to share with Deno.
  for (
    const shared of [
      "lib/model/olmo.ts",
      "lib/generate/generate.ts",
      "lib/tokenizer/json_tokenizer.ts",
      "lib/checkpoint/formats/safetensors_format.ts",
      "lib/checkpoint/formats/torch_pt_read.ts",
    ]
  ) assert.ok(seen.has(join(REPO_ROOT, shared)), `${shared} is not in the bundle`);
});

Deno.test("the bundle is stale when a file is missing or older than the sources", async () => {
  await withTempDir(async (out) => {
    assert.equal(await webBundleIsStale(out), true, "empty folder");
    const outputs = WEB_ENTRIES.map((e) => join(out, e.replace(/\.ts$/, ".js")));
    const future = new Date(Date.now() + 3600_000);
    for (const file of outputs) {
      await Deno.writeTextFile(file, "export {};");
      await Deno.utime(file, future, future);
    }
    assert.equal(await webBundleIsStale(out), false, "every file newer than the sources");
    await Deno.utime(outputs[1], new Date(0), new Date(0));
    assert.equal(await webBundleIsStale(out), true, "one file older than the sources");
    await Deno.remove(outputs[1]);
    assert.equal(await webBundleIsStale(out), true, "one file missing");
  });
});
