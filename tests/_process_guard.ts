/**
 * Preloaded into every test file's worker by `deno task test` (`--preload`): makes the calls that
 * change process-wide state throw. Test files run in parallel in ONE process, so an environment
 * variable or working directory set by one file is seen by every other file and by every
 * subprocess they start (issue 15: a cache folder set by one test was deleted under another).
 * Tests pass what they need explicitly instead: an `env` reader or option to the library, and
 * `env` to `Deno.Command`. (The tfjs backend is per worker, so switching it stays in its file.)
 *
 * @module
 */

/** Marks a worker whose process-state calls are guarded (checked by `process_state_test.ts`). */
export const PROCESS_GUARD: unique symbol = Symbol.for("olmo-ts.process-guard") as never;

/** The error the guarded calls throw. */
export class ProcessStateMutation extends Error {
  /** @param call the guarded call that was made */
  constructor(call: string) {
    super(
      `${call}: a test may not change process-wide state that the other test files (running in ` +
        "the same process) and their subprocesses see; pass an env reader / option to the code " +
        "under test, or `env` to Deno.Command",
    );
    this.name = "ProcessStateMutation";
  }
}

const guarded = globalThis as { [PROCESS_GUARD]?: boolean };
if (!guarded[PROCESS_GUARD]) {
  guarded[PROCESS_GUARD] = true;
  const env = Deno.env as { set: unknown; delete: unknown };
  env.set = (name: string) => {
    throw new ProcessStateMutation(`Deno.env.set("${name}")`);
  };
  env.delete = (name: string) => {
    throw new ProcessStateMutation(`Deno.env.delete("${name}")`);
  };
  (Deno as { chdir: unknown }).chdir = (dir: string | URL) => {
    throw new ProcessStateMutation(`Deno.chdir("${dir}")`);
  };
}
