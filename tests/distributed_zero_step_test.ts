/**
 * ZeRO steps on 2 MPICH ranks (`tests/distributed/zero_step.ts`, skipped without MPICH): every
 * rank must see exactly the same global loss and gradient norm (they drive clipping, the NaN
 * check, early stopping and the logged loss) and hold exactly the same parameters afterwards,
 * and both must match one process training the whole global batch with the local optimizer.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO, HAS_MPICH, run, runMpich } from "./distributed/run.ts";

/** What the rank script writes. */
interface RankRecord {
  steps: { ce: number; norm: number }[];
  params: Record<string, number[]>;
}

async function readRank(dir: string, rank: number): Promise<RankRecord> {
  return JSON.parse(await Deno.readTextFile(join(dir, `rank${rank}.json`)));
}

Deno.test({
  name: "ZeRO on 2 ranks: identical loss, grad norm and parameters on every rank; == 1 rank",
  ignore: !HAS_MPICH,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo-ts-zero-step-" });
    try {
      const single = join(dir, "single");
      const multi = join(dir, "multi");
      await Deno.mkdir(single);
      await Deno.mkdir(multi);
      const one = await run(DENO, ["run", "-A", "tests/distributed/zero_step.ts", single], {
        timeoutMs: 60_000,
      });
      assert.equal(one.code, 0, one.stdout + one.stderr);
      const two = await runMpich(2, "tests/distributed/zero_step.ts", [multi], {
        timeoutMs: 120_000,
      });
      assert.equal(two.timedOut, false);
      assert.equal(two.code, 0, two.stdout + two.stderr);

      const ref = await readRank(single, 0);
      const [r0, r1] = [await readRank(multi, 0), await readRank(multi, 1)];
      // Bit-identical across ranks: each rank decides from its own copy of these numbers.
      assert.deepEqual(r1.steps, r0.steps);
      assert.deepEqual(r1.params, r0.params);
      assert.equal(r0.steps.length, 3);
      r0.steps.forEach(({ ce, norm }, i) => {
        const want = ref.steps[i];
        assert.ok(want.norm > 0.05, `step ${i + 1} must clip (norm ${want.norm})`);
        assert.ok(Math.abs(ce - want.ce) <= 1e-5, `step ${i + 1} loss: ${ce} vs ${want.ce}`);
        assert.ok(Math.abs(norm / want.norm - 1) <= 1e-5, `step ${i + 1} norm: ${norm}`);
      });
      assert.deepEqual(Object.keys(r0.params).sort(), Object.keys(ref.params).sort());
      let maxDiff = 0;
      for (const [name, values] of Object.entries(ref.params)) {
        values.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - r0.params[name][k]))));
      }
      assert.ok(maxDiff < 1e-5, `parameters differ from 1 rank by up to ${maxDiff}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
