import assert from "node:assert/strict";
import { flatLayout, shardSegments } from "../lib/distributed/zero/layout.ts";

/** Parameters with these shapes, named in order. */
function params(shapes: Record<string, number[]>): [string, { shape: number[] }][] {
  return Object.entries(shapes).map(([name, shape]) => [name, { shape }]);
}

Deno.test("flatLayout: offsets, padding to the world size and shard ranges", () => {
  const layout = flatLayout(params({ a: [3], b: [0], c: [2, 2] }), 3);
  assert.deepEqual(layout.params, [
    { name: "a", shape: [3], size: 3, offset: 0 },
    { name: "b", shape: [0], size: 0, offset: 3 },
    { name: "c", shape: [2, 2], size: 4, offset: 3 },
  ]);
  assert.equal(layout.numel, 7);
  assert.equal(layout.paddedNumel, 9);
  assert.equal(layout.shardSize, 3);
  // Shards [0,3), [3,6), [6,9) of the padded buffer; the last one owns 7 - 6 real elements.
  assert.deepEqual(layout.ranks, [
    { start: 0, end: 3 },
    { start: 3, end: 6 },
    { start: 6, end: 7 },
  ]);
  assert.equal(flatLayout(params({ a: [8] }), 4).paddedNumel, 8); // already a multiple: no padding
  // More ranks than elements: the trailing ranks own nothing.
  assert.deepEqual(flatLayout(params({ a: [2] }), 3).ranks, [
    { start: 0, end: 1 },
    { start: 1, end: 2 },
    { start: 2, end: 2 },
  ]);
});

Deno.test("flatLayout: rejects bad shapes, duplicates and bad world sizes", () => {
  assert.throws(() => flatLayout(params({ a: [-1] }), 2), /parameter a has shape \[-1\]/);
  assert.throws(() => flatLayout(params({ a: [1.5] }), 2), /parameter a has shape \[1.5\]/);
  assert.throws(
    () => flatLayout([["a", { shape: [1] }], ["a", { shape: [2] }]], 2),
    /parameter a appears twice/,
  );
  assert.throws(() => flatLayout(params({ a: [1] }), 0), /world size 0/);
});

Deno.test("shardSegments: a shard spanning two parameters and one inside a parameter", () => {
  // a = flat[0,2), b = flat[2,5), pad flat[5]; shards [0,3) and [3,6).
  const layout = flatLayout(params({ a: [2], b: [3] }), 2);
  assert.deepEqual(shardSegments(layout, 0), [
    { name: "a", paramStart: 0, paramEnd: 2, shardStart: 0 },
    { name: "b", paramStart: 0, paramEnd: 1, shardStart: 2 },
  ]);
  assert.deepEqual(shardSegments(layout, 1), [
    { name: "b", paramStart: 1, paramEnd: 3, shardStart: 0 },
  ]);
  assert.throws(() => shardSegments(layout, 2), /rank 2 is not in a world of size 2/);
});
