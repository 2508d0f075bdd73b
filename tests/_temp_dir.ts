/**
 * A fresh temporary directory per test, removed afterwards (shared by the test files).
 *
 * @module
 */

/** Runs `fn` with a fresh temporary directory and removes the directory afterwards. */
export async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
