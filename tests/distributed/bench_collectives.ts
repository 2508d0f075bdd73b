/**
 * Run under mpiexec: a tiny collective benchmark on every rank, checking that each collective is
 * timed and gets a positive bus bandwidth. Prints `OK rank r` on success; a failed assertion
 * aborts the job.
 *
 * @module
 */
import assert from "node:assert/strict";
import { benchCollectives } from "../../lib/bench/collectives.ts";
import { initWorld } from "../../lib/distributed/world.ts";

const world = await initWorld();
const { rank, size } = world;

const results = await benchCollectives(world, [0.01], 2);
assert.deepEqual(results.map((r) => r.op), ["allReduceSum", "reduceScatterSum", "allGather"]);
for (const result of results) {
  assert.equal(result.worldSize, size);
  assert.ok(result.bestSeconds > 0 && result.bestSeconds <= result.medianSeconds);
  assert.ok(result.busbwGBps > 0);
}

await world.finalize();
console.log(`OK rank ${rank}`);
