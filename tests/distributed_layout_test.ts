import assert from "node:assert/strict";
import {
  bucketLayouts,
  flatLayout,
  packFlat,
  shardSegments,
  unpackFlat,
} from "../lib/distributed/flat_layout.ts";
import { SingleProcessWorld } from "../lib/distributed/world.ts";
import {
  allGatherParams,
  GradientBuckets,
  reduceScatterGradients,
} from "../lib/distributed/zero_buckets.ts";

Deno.test("flatLayout: offsets, padding to the world size and shard ranges", () => {
  const layout = flatLayout(["a", "b", "c"], [3, 0, 4], 3);
  assert.deepEqual(layout.entries, [
    { name: "a", size: 3, offset: 0 },
    { name: "b", size: 0, offset: 3 },
    { name: "c", size: 4, offset: 3 },
  ]);
  assert.equal(layout.numel, 7);
  assert.equal(layout.paddedNumel, 9);
  assert.equal(layout.shardSize, 3);
  assert.deepEqual(layout.shardRanges, [
    { start: 0, end: 3 },
    { start: 3, end: 6 },
    { start: 6, end: 9 },
  ]);
  assert.equal(flatLayout(["a"], [8], 4).paddedNumel, 8); // already a multiple: no padding
});

Deno.test("flatLayout: rejects mismatched lists, bad sizes, duplicates and bad world sizes", () => {
  assert.throws(() => flatLayout(["a", "b"], [1], 2), /2 names but 1 sizes/);
  assert.throws(() => flatLayout(["a"], [-1], 2), /parameter a has size -1/);
  assert.throws(() => flatLayout(["a"], [1.5], 2), /parameter a has size 1.5/);
  assert.throws(() => flatLayout(["a", "a"], [1, 2], 2), /parameter a appears twice/);
  assert.throws(() => flatLayout(["a"], [1], 0), /world size 0/);
});

Deno.test("shardSegments: a shard spanning two parameters and one inside a parameter", () => {
  // a = flat[0,2), b = flat[2,5), pad flat[5]; shards [0,3) and [3,6).
  const layout = flatLayout(["a", "b"], [2, 3], 2);
  assert.deepEqual(shardSegments(layout, 0), [
    { name: "a", paramStart: 0, paramEnd: 2, shardStart: 0 },
    { name: "b", paramStart: 0, paramEnd: 1, shardStart: 2 },
  ]);
  assert.deepEqual(shardSegments(layout, 1), [
    { name: "b", paramStart: 1, paramEnd: 3, shardStart: 0 },
  ]);
  assert.throws(() => shardSegments(layout, 2), /rank 2 is not in a world of size 2/);
});

Deno.test("packFlat/unpackFlat: round trip, zeroed padding, in-place unpack, errors", () => {
  const layout = flatLayout(["w", "b"], [3, 2], 4); // padded to 8
  const tensors = new Map([["w", Float32Array.of(1, 2, 3)], ["b", Float32Array.of(4, 5)]]);
  const flat = new Float32Array(8).fill(NaN);
  packFlat(layout, tensors, flat);
  assert.deepEqual(flat, Float32Array.of(1, 2, 3, 4, 5, 0, 0, 0));

  const fresh = unpackFlat(layout, flat);
  assert.deepEqual([...fresh.keys()], ["w", "b"]);
  assert.deepEqual(fresh.get("w"), Float32Array.of(1, 2, 3));
  flat[0] = 9;
  assert.equal(fresh.get("w")![0], 1, "unpacked arrays are copies, not views of the flat buffer");
  const existing = new Float32Array(2);
  const into = new Map([["b", existing]]);
  unpackFlat(layout, flat, into);
  assert.equal(into.get("b"), existing);
  assert.deepEqual(existing, Float32Array.of(4, 5));

  assert.throws(
    () => packFlat(layout, new Map([["w", tensors.get("w")!]]), flat),
    /no array for parameter b/,
  );
  assert.throws(
    () => packFlat(layout, new Map([...tensors, ["b", new Float32Array(3)]]), flat),
    /parameter b has 3 elements, expected 2/,
  );
  assert.throws(() => packFlat(layout, tensors, new Float32Array(5)), /5 elements, expected 8/);
  assert.throws(
    () => unpackFlat(layout, flat, new Map([["w", new Float32Array(1)]])),
    /parameter w has 1 elements, expected 3/,
  );
});

Deno.test("bucketLayouts: consecutive groups under the byte limit, big parameters alone", () => {
  const names = ["a", "b", "c", "d", "e"];
  const layouts = bucketLayouts(names, [5, 3, 7, 1, 13], 2, 40); // at most 10 floats per bucket
  assert.deepEqual(layouts.map((l) => l.entries.map((e) => e.name)), [["a", "b"], ["c", "d"], [
    "e",
  ]]);
  assert.deepEqual(layouts.map((l) => l.paddedNumel), [8, 8, 14]);
  assert.equal(bucketLayouts(names, [1, 1, 1, 1, 1], 1, 1 << 20).length, 1);
  assert.throws(() => bucketLayouts(["a"], [1], 1, 2), /below one float32/);
  assert.throws(() => bucketLayouts(["a", "b", "a"], [1, 20, 1], 1, 8), /a appears twice/);
});

Deno.test("GradientBuckets.shardsOf: rank 1's shards hold the right parameter pieces", () => {
  const buckets = new GradientBuckets(["a", "b"], [2, 3], 2, 1 << 20);
  const tensors = new Map([["a", Float32Array.of(1, 2)], ["b", Float32Array.of(3, 4, 5)]]);
  // flat = [1 2 3 4 5 0]: rank 0 owns [1 2 3], rank 1 owns [4 5 0].
  assert.deepEqual(buckets.shardsOf(tensors, 0), [Float32Array.of(1, 2, 3)]);
  assert.deepEqual(buckets.shardsOf(tensors, 1), [Float32Array.of(4, 5, 0)]);
  assert.throws(() => buckets.shardsOf(new Map([["a", tensors.get("a")!]]), 0), /b has no/);
});

Deno.test("reduceScatterGradients/allGatherParams: identity round trip in a size-1 world", async () => {
  const world = new SingleProcessWorld(() => undefined);
  const names = ["x", "y", "z"];
  const buckets = new GradientBuckets(names, [4, 1, 6], 1, 20); // buckets [x, y], [z]
  assert.equal(buckets.layouts.length, 2);
  const grads = new Map(
    names.map((n, i) => [n, Float32Array.from({ length: [4, 1, 6][i] }, (_, k) => 10 * i + k)]),
  );
  const shards = buckets.newShards();
  await reduceScatterGradients(world, buckets, grads, shards, { average: true });
  assert.deepEqual(shards, [
    Float32Array.of(0, 1, 2, 3, 10),
    Float32Array.of(20, 21, 22, 23, 24, 25),
  ]);
  const params = await allGatherParams(world, buckets, shards);
  assert.deepEqual(params, grads);

  const wrongWorld = new GradientBuckets(names, [4, 1, 6], 2, 20);
  await assert.rejects(
    () => reduceScatterGradients(world, wrongWorld, grads, wrongWorld.newShards()),
    /laid out for world size 2, the communicator has 1/,
  );
  await assert.rejects(
    () => allGatherParams(world, buckets, [new Float32Array(5)]),
    /1 shards for 2 buckets/,
  );
});
