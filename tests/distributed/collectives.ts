/**
 * Run under mpiexec: checks every collective against values computed from the rank formula.
 * Args: EXPECTED_SIZE MARKER_DIR. Prints `OK rank r` on success; a failed assertion aborts the job.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initWorld } from "../../lib/distributed/world.ts";

const [expectedSize, markerDir] = [Number(Deno.args[0]), Deno.args[1]];
// A small per-call limit so that the same run exercises the single-call and the chunked paths.
const MAX_PER_CALL = 1000;
const world = await initWorld({ maxElementsPerCall: MAX_PER_CALL });
const { rank, size } = world;
const ranks = Array.from({ length: size }, (_, r) => r);

assert.equal(size, expectedSize);
assert.equal(world.localRank, rank); // one host
assert.equal(world.localSize, size);
assert.equal(world.nodeRank, 0);
// initWorld sets no process environment (the launcher's own variables are there).
assert.equal(Deno.env.get("WORLD_SIZE"), undefined);
await assert.rejects(() => initWorld(), /MPI is already initialised in this process/);

// allReduceSum, single call and chunked: rank r holds (r+1)·i, the sum is n(n+1)/2·i.
for (const length of [10, 2501]) {
  const buf = Float32Array.from({ length }, (_, i) => (rank + 1) * i);
  await world.allReduceSum(buf);
  for (let i = 0; i < length; i++) assert.equal(buf[i], (size * (size + 1)) / 2 * i);
}

// Float64 sums keep digits float32 would lose.
const wide = Float64Array.from({ length: 3 }, (_, i) => 1 + (rank + 1) * 1e-12 * (i + 1));
await world.allReduceSum(wide);
for (let i = 0; i < 3; i++) {
  const expected = size + (size * (size + 1)) / 2 * 1e-12 * (i + 1);
  assert.ok(Math.abs(wide[i] - expected) < 1e-14, `float64 sum ${wide[i]} vs ${expected}`);
}

// allReduceMax / allReduceMin against the per-rank formula.
const value = (r: number, i: number) => Math.fround(Math.sin(i + 1.3 * r));
for (const length of [5, 1203]) {
  const max = Float32Array.from({ length }, (_, i) => value(rank, i));
  const min = Float32Array.from(max);
  await world.allReduceMax(max);
  await world.allReduceMin(min);
  for (let i = 0; i < length; i++) {
    assert.equal(max[i], Math.max(...ranks.map((r) => value(r, i))));
    assert.equal(min[i], Math.min(...ranks.map((r) => value(r, i))));
  }
}

// reduceScatterSum: element j of rank r's input is (r+1)·j + r.
for (const block of [7, 1001]) {
  const input = Float32Array.from({ length: size * block }, (_, j) => (rank + 1) * j + rank);
  const out = new Float32Array(block);
  await world.reduceScatterSum(input, out);
  for (let k = 0; k < block; k++) {
    const j = rank * block + k;
    assert.equal(out[k], ranks.reduce((sum, r) => sum + (r + 1) * j + r, 0));
  }
}

// allGather, out of place and in place: rank r's shard is r·10000 + k.
for (const block of [5, 1500]) {
  const expected = Float32Array.from({ length: size * block }, (_, j) => {
    const [r, k] = [Math.floor(j / block), j % block];
    return r * 10000 + k;
  });
  const shard = Float32Array.from({ length: block }, (_, k) => rank * 10000 + k);
  const out = new Float32Array(size * block);
  await world.allGather(shard, out);
  assert.deepEqual(out, expected);
  const inPlace = new Float32Array(size * block);
  inPlace.set(shard, rank * block);
  await world.allGather(inPlace.subarray(rank * block, (rank + 1) * block), inPlace);
  assert.deepEqual(inPlace, expected);
}

// broadcast of bytes (chunked) from the last rank, and of floats from rank 0.
const root = size - 1;
const bytes = new Uint8Array(2500);
if (rank === root) bytes.forEach((_, i) => (bytes[i] = (i * 7) % 251));
await world.broadcast(bytes, root);
bytes.forEach((b, i) => assert.equal(b, (i * 7) % 251));
const floats = new Float32Array(4).fill(rank === 0 ? 2.5 : -1);
await world.broadcast(floats, 0);
assert.deepEqual(floats, new Float32Array(4).fill(2.5));

// barrier: the last rank writes a marker late; rank 0 must see it after the barrier.
const marker = join(markerDir, "barrier-marker");
if (rank === root && size > 1) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  await Deno.writeTextFile(marker, "x");
}
await world.barrier();
if (rank === 0 && size > 1) assert.ok((await Deno.stat(marker)).isFile, "marker after barrier");

// Many collectives started without awaiting in between must all be correct (queued).
const inFlight = Array.from({ length: 100 }, (_, c) => {
  const buf = new Float32Array(4096).fill((rank + 1) * (c + 1));
  return world.allReduceSum(buf).then(() => ({ buf, c }));
});
for (const { buf, c } of await Promise.all(inFlight)) {
  const expected = (size * (size + 1)) / 2 * (c + 1);
  assert.ok(buf.every((x) => x === expected), `concurrent allreduce ${c}`);
}

await world.finalize();
console.log(`OK rank ${rank} ${world.backend}`);
