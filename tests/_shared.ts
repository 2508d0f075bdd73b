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
/** True when the shared fixtures of the later OLMo code (`olmo-reference-v2`) are present. */
export const HAS_SHARED_V2: boolean = existsSync(join(FIXTURES_DIR, "olmo-reference-v2"));
/** The two reference cases of the later OLMo code (OLMo 1.7 / OLMo 2 options). */
export const OLMO_REFERENCE_V2_CASES: readonly string[] = [
  "olmo2-gqa",
  "clipqkv-embln-mqa-lion",
];
/** Folder of one later-OLMo reference case. */
export function referenceV2CaseDir(name: string): string {
  return join(FIXTURES_DIR, "olmo-reference-v2", name);
}
