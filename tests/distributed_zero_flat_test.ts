/**
 * The bucketed collectives of ZeRO's flat buffer (`lib/distributed/zero/flat_collectives.ts`): 3 ranks under
 * MPICH (skipped without it), and one process without MPI.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DENO, HAS_MPICH, run, runMpich } from "./distributed/run.ts";

Deno.test({
  name: "MPICH, 3 ranks: bucketed reduce-scatter and all-gather of one flat buffer",
  ignore: !HAS_MPICH,
  fn: async () => {
    const result = await runMpich(3, "tests/distributed/zero_flat.ts", [], { timeoutMs: 60_000 });
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    for (const r of [0, 1, 2]) assert.match(result.stdout, new RegExp(`^OK rank ${r}$`, "m"));
  },
});

Deno.test("one process: bucketed flat collectives are copies", async () => {
  const result = await run(DENO, ["run", "-A", "tests/distributed/zero_flat.ts"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^OK rank 0$/m);
});
