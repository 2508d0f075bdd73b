/**
 * Failure injection for the tests of multi-rank failure handling: with
 * `OLMO_TS_TEST_FAIL_AT_STEP=N` (and optionally `OLMO_TS_TEST_FAIL_RANK=r`, default every rank)
 * the training step N throws on that rank after its forward and backward, while the other ranks
 * wait for it in the gradient reduce-scatter. This is the only place that reads these variables.
 *
 * @module
 */

/** The 1-based step at which to throw. */
export const TEST_FAIL_AT_STEP_ENV = "OLMO_TS_TEST_FAIL_AT_STEP";
/** The rank that throws (`RANK`, set by `initWorld`); unset: every rank. */
export const TEST_FAIL_RANK_ENV = "OLMO_TS_TEST_FAIL_RANK";

/** The error thrown by an injected failure. */
export class InjectedTestFailure extends Error {
  /** @param step the step that failed @param rank the rank that failed */
  constructor(readonly step: number, readonly rank: number) {
    super(`injected test failure at step ${step} on rank ${rank} (${TEST_FAIL_AT_STEP_ENV})`);
    this.name = "InjectedTestFailure";
  }
}

/** A variable's value, or undefined when unset or unreadable (no env permission). */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** A non-negative integer variable, or null when unset. @throws Error when malformed. */
function envInteger(name: string): number | null {
  const raw = readEnv(name);
  if (raw === undefined || raw === "") return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name}=${raw}: expected a non-negative integer`);
  }
  return n;
}

/**
 * Throws `InjectedTestFailure` when the environment asks this rank to fail at `step`.
 * @throws Error when one of the variables is malformed.
 */
export function throwIfTestFailureRequested(step: number): void {
  const failStep = envInteger(TEST_FAIL_AT_STEP_ENV);
  if (failStep === null || failStep !== step) return;
  const rank = envInteger("RANK") ?? 0;
  const failRank = envInteger(TEST_FAIL_RANK_ENV);
  if (failRank === null || failRank === rank) throw new InjectedTestFailure(step, rank);
}
