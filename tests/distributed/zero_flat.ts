/**
 * Run under mpiexec: the bucketed reduce-scatter and all-gather of one padded flat buffer
 * (`lib/distributed/zero/flat_collectives.ts`), for shard sizes below, at and above the bucket width, checked
 * against per-rank formulas. Prints `OK rank r` on success; a failed assertion aborts the job.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initWorld } from "../../lib/distributed/world.ts";
import { allGatherFlat, reduceScatterFlat } from "../../lib/distributed/zero/flat_collectives.ts";

const world = await initWorld();
const { rank, size } = world;
const COLUMNS = 3; // elements of each rank's range per bucket
const bucketBytes = 4 * size * COLUMNS;

for (const S of [1, 3, 7, 13]) {
  // Rank q holds (q+1)·(1000·r + j) at element j of range r; the sum is n(n+1)/2·(1000·r + j).
  const flat = new Float32Array(size * S);
  for (let r = 0; r < size; r++) {
    for (let j = 0; j < S; j++) flat[r * S + j] = (rank + 1) * (1000 * r + j);
  }
  const before = flat.slice();
  const shard = new Float32Array(S);
  await reduceScatterFlat(world, flat, shard, bucketBytes);
  const factor = (size * (size + 1)) / 2;
  assert.deepEqual(shard, Float32Array.from({ length: S }, (_, j) => factor * (1000 * rank + j)));
  assert.deepEqual(flat, before, "reduceScatterFlat must not modify its input");

  // Only this rank's range is set before the all-gather; every rank must end with all ranges.
  const gathered = new Float32Array(size * S).fill(-1);
  gathered.set(Float32Array.from({ length: S }, (_, j) => 7 * rank + j / 8), rank * S);
  await allGatherFlat(world, gathered, bucketBytes);
  const want = new Float32Array(size * S);
  for (let r = 0; r < size; r++) for (let j = 0; j < S; j++) want[r * S + j] = 7 * r + j / 8;
  assert.deepEqual(gathered, want, `allGatherFlat, shard size ${S}`);
}
await assert.rejects(
  () => reduceScatterFlat(world, new Float32Array(size * 2 + 1), new Float32Array(2)),
  /flat buffer has/,
);
console.log(`OK rank ${rank}`);
await world.finalize();
