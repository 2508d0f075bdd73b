/**
 * Small assertion helpers on top of `node:assert/strict` (Deno std is not available here).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts that `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Asserts `|actual - expected| <= tol`. */
export function assertAlmostEquals(actual: number, expected: number, tol = 1e-7, msg = ""): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new nodeAssert.AssertionError({
      message: `${msg ? msg + ": " : ""}expected ${expected} ± ${tol}, got ${actual}`,
      actual,
      expected,
    });
  }
}

/** Asserts every element of `actual` is within `atol + rtol*|expected|` of `expected`. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; msg?: string } = {},
): void {
  const { atol = 1e-6, rtol = 0, msg = "" } = opts;
  nodeAssert.equal(actual.length, expected.length, `${msg} length`);
  let worst = 0, worstAt = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - rtol * Math.abs(expected[i]);
    if (!(err <= atol) && (worstAt < 0 || err > worst || Number.isNaN(err))) {
      worst = err;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    throw new nodeAssert.AssertionError({
      message: `${msg ? msg + ": " : ""}element ${worstAt}: ${actual[worstAt]} vs ${
        expected[worstAt]
      } (atol ${atol}, rtol ${rtol})`,
    });
  }
}
