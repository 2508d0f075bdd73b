/**
 * Run under mpiexec: reduce-scatters bucketed gradients and all-gathers the shards back into
 * named parameters, checking both against the per-rank formulas; then runs a tiny collective
 * benchmark. Prints `OK rank r` on success; a failed assertion aborts the job.
 *
 * @module
 */
import assert from "node:assert/strict";
import { benchCollectives } from "../../lib/distributed/bench.ts";
import { initWorld } from "../../lib/distributed/world.ts";
import {
  allGatherParams,
  GradientBuckets,
  reduceScatterGradients,
} from "../../lib/distributed/zero_buckets.ts";

const world = await initWorld();
const { rank, size } = world;
const names = ["wte", "blocks.0.att", "blocks.0.ff", "ln_f", "head"];
const sizes = [5, 3, 7, 1, 13];
// Rank r's gradient of parameter p, element k: (r + 1)·(100p + k). The mean is (n+1)/2·(100p + k).
const grads = new Map(
  names.map((
    name,
    p,
  ) => [name, Float32Array.from({ length: sizes[p] }, (_, k) => (rank + 1) * (100 * p + k))]),
);
const mean = (p: number, k: number) => ((size + 1) / 2) * (100 * p + k);

// 40-byte buckets: [wte, att] (8), [ff, ln_f] (8), [head] (13, alone).
const buckets = new GradientBuckets(names, sizes, size, 40);
assert.deepEqual(buckets.layouts.map((l) => l.entries.map((e) => e.name)), [
  ["wte", "blocks.0.att"],
  ["blocks.0.ff", "ln_f"],
  ["head"],
]);
const shards = buckets.newShards();
await reduceScatterGradients(world, buckets, grads, shards, { average: true });

// Expected shard: the bucket's parameters' means laid end to end, zero-padded, rank's slice.
buckets.layouts.forEach((layout, b) => {
  const flat = new Float32Array(layout.paddedNumel);
  let offset = 0;
  for (const entry of layout.entries) {
    const p = names.indexOf(entry.name);
    for (let k = 0; k < sizes[p]; k++) flat[offset + k] = mean(p, k);
    offset += sizes[p];
  }
  const expected = flat.subarray(rank * layout.shardSize, (rank + 1) * layout.shardSize);
  assert.deepEqual(shards[b], expected, `bucket ${b} shard on rank ${rank}`);
});

// All-gather the (mean-gradient) shards: every rank must rebuild every parameter.
const params = new Map([["ln_f", new Float32Array(1)]]);
const ln = params.get("ln_f");
await allGatherParams(world, buckets, shards, params);
assert.equal(params.get("ln_f"), ln, "an existing array is filled in place");
names.forEach((name, p) => {
  assert.deepEqual(params.get(name), Float32Array.from({ length: sizes[p] }, (_, k) => mean(p, k)));
});
assert.deepEqual(buckets.shardsOf(params, rank), shards);

const results = await benchCollectives(world, [0.01], 2);
assert.deepEqual(results.map((r) => r.op), ["allReduceSum", "reduceScatterSum", "allGather"]);
for (const result of results) {
  assert.equal(result.worldSize, size);
  assert.ok(result.bestSeconds > 0 && result.bestSeconds <= result.medianSeconds);
  assert.ok(result.busbwGBps > 0);
}

await world.finalize();
console.log(`OK rank ${rank}`);
