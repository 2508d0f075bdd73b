/**
 * The backend names accepted by the `backend` config field and `--backend`: the one list the
 * config schema, the command lines and `initBackend` share. Kept apart from `init.ts` so that
 * reading it loads no tfjs backend package.
 *
 * @module
 */

/** Every accepted backend name, `auto` first. */
export const BACKEND_NAMES = ["auto", "tensorflow", "native", "wasm", "webgpu", "cpu"] as const;

/** A backend name accepted by the `backend` config field and `--backend`. */
export type BackendName = typeof BACKEND_NAMES[number];

/** True when `name` is one of {@link BACKEND_NAMES}. */
export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}
