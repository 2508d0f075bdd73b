/**
 * Helpers shared by the config test files: files and `ConfigError` checks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../lib/config/mod.ts";

/** Writes `text` to `dir/name` (creating folders) and returns the path. */
export async function writeText(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
  return path;
}

/** Asserts that `promise` rejects with a ConfigError whose message contains every fragment. */
export async function rejectsWith(
  promise: Promise<unknown>,
  ...fragments: string[]
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${f}' not in: ${e.message}`);
    return true;
  });
}
