import assert from "node:assert/strict";
import { flatLayout, shardSegments } from "../lib/distributed/zero/layout.ts";

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
