/**
 * `isUrl`, the one test for "URL or path" that config resolvers, checkpoint loading and
 * `load_path` share: OLMo's `[a-z0-9]+://` at the start, with the scheme's case ignored.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isUrl } from "../lib/util/url.ts";

Deno.test("isUrl: a scheme at the start, in any case; paths are not URLs", () => {
  for (
    const url of ["s3://bucket/run", "gs://b/p", "https://x.org/a", "file:///tmp/x", "S3://B/p"]
  ) {
    assert.equal(isUrl(url), true, url);
  }
  for (const path of ["/abs/path", "runs/step10", "C:\\runs", "runs/s3://x", "s3:/x", "://x", ""]) {
    assert.equal(isUrl(path), false, path);
  }
});
