/**
 * Builds the browser bundle of the playground and dashboard into `.cache/web/`
 * (`deno task build-web`; `deno task serve` also does it when the bundle is stale).
 *
 * @module
 */
import { buildWebBundle, BUNDLE_DIR } from "../lib/serve/web_bundle.ts";

try {
  await buildWebBundle();
  console.error(`build-web: bundle written to ${BUNDLE_DIR}`);
} catch (e) {
  console.error(`build-web: ${(e as Error).message}`);
  Deno.exit(1);
}
