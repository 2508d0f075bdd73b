/**
 * Locates `../shared/` (fixtures and spec), which exists for developers and CI but not in a
 * user's clone. Tests that need it use `ignore: !HAS_SHARED` so they skip cleanly.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url));
/** Absolute path of `../shared` next to the repository. */
export const SHARED_DIR: string = join(REPO_ROOT, "..", "shared");
/** Absolute path of the shared fixtures folder. */
export const FIXTURES_DIR: string = join(SHARED_DIR, "fixtures");
/** True when the shared fixtures are present. */
export const HAS_SHARED: boolean = existsSync(join(FIXTURES_DIR, "olmo-reference"));
/** The two OLMo reference cases. */
export const OLMO_REFERENCE_CASES: readonly string[] = [
  "rope-swiglu-seq",
  "alibi-mqa-parallel-gelu",
];
/** Folder of one OLMo reference case. */
export function referenceCaseDir(name: string): string {
  return join(FIXTURES_DIR, "olmo-reference", name);
}
