/**
 * Run without a launcher and without `--allow-ffi`: initWorld must give a size-1 world without
 * loading any library (a dlopen would fail for lack of the permission). Prints `OK single`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initWorld } from "../../lib/distributed/world.ts";

const world = await initWorld();
assert.equal(world.backend, "single-process");
assert.deepEqual([world.rank, world.size, world.localRank, world.localSize], [0, 1, 0, 1]);
// The world is passed on explicitly: initWorld sets no process environment.
assert.deepEqual(
  ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE"].map((name) => Deno.env.get(name)),
  [undefined, undefined, undefined, undefined],
);
const buf = Float32Array.of(1, 2, 3);
await world.allReduceSum(buf);
assert.deepEqual(buf, Float32Array.of(1, 2, 3));
await world.barrier();
await world.finalize();
console.log("OK single");
