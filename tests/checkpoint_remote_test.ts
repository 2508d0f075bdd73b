/**
 * Remote checkpoint folders: `gs://` / `s3://` map to their public HTTPS endpoints, other
 * schemes are refused, and a download with `progress` reports its start and its end
 * (the plain-line form used when stderr is not a terminal). Uses a local server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { resolveResource, toHttpUrl } from "../lib/checkpoint/remote.ts";
import { withTempDir } from "./_temp_dir.ts";

Deno.test("toHttpUrl maps gs:// and s3:// to public HTTPS endpoints and refuses other schemes", () => {
  assert.equal(
    toHttpUrl("gs://ai2-llm/checkpoints/step1000-unsharded"),
    "https://storage.googleapis.com/ai2-llm/checkpoints/step1000-unsharded",
  );
  assert.equal(
    toHttpUrl("s3://ai2-llm/checkpoints/step1000-unsharded"),
    "https://ai2-llm.s3.amazonaws.com/checkpoints/step1000-unsharded",
  );
  assert.equal(toHttpUrl("s3://bucket"), "https://bucket.s3.amazonaws.com");
  assert.equal(toHttpUrl("https://olmo.example/a/b"), "https://olmo.example/a/b");
  assert.equal(toHttpUrl("http://127.0.0.1:8000/a"), "http://127.0.0.1:8000/a");
  assert.throws(() => toHttpUrl("ftp://host/x"), /unsupported URL scheme "ftp" in ftp:\/\/host\/x/);
});

Deno.test("a download with progress reports its start and completion on stderr", async () => {
  const body = new Uint8Array(200_000).fill(7);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { headers: { "content-length": String(body.length) } }),
  );
  const lines: string[] = [];
  const originalError = console.error;
  const originalIsTerminal = Deno.stderr.isTerminal;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  Deno.stderr.isTerminal = () => false;
  try {
    await withTempDir(async (cacheDir) => {
      const url = `http://127.0.0.1:${server.addr.port}/run/step1`;
      const path = await resolveResource(url, "model.pt", { cacheDir, progress: true });
      assert.deepEqual(await Deno.readFile(path), body);
      assert.equal(lines[0], `downloading ${url}/model.pt (0.2 MiB)`);
      assert.match(lines.at(-1)!, new RegExp(`done: 0\\.2 MiB from ${url}/model\\.pt`));
      lines.length = 0;
      await resolveResource(url, "model.pt", { cacheDir, progress: true });
      assert.deepEqual(lines, [], "a cached file is not downloaded again");
    });
  } finally {
    console.error = originalError;
    Deno.stderr.isTerminal = originalIsTerminal;
    await server.shutdown();
  }
});
