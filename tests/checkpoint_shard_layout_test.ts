/**
 * The `layout` of a sharded checkpoint's `metadata.json` is ZeRO's `FlatLayout`: read back, it
 * must be exactly the even split `flatLayout` makes (one set of range rules for the in-memory
 * shards and the files), and anything else is refused with the file named.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseShardLayout } from "../lib/checkpoint/trainer/sharded.ts";
import { flatLayout } from "../lib/distributed/zero/layout.ts";

const PARAMS = [{ name: "a", shape: [2, 2] }, { name: "b", shape: [3] }];

Deno.test("parseShardLayout: the even split of 7 elements over 3 ranks reads back as flatLayout's", () => {
  // ⌈7 / 3⌉ = 3: ranks own [0,3), [3,6), [6,7).
  const json = {
    params: PARAMS,
    ranks: [{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 7 }],
  };
  const layout = parseShardLayout(json, "m.json");
  assert.deepEqual(layout, flatLayout(PARAMS.map((p) => [p.name, p]), 3));
  assert.equal(layout.shardSize, 3);
  assert.deepEqual(layout.params.map((p) => p.offset), [0, 4]);
});

Deno.test("parseShardLayout: uneven or gapped ranges and malformed entries are refused", () => {
  // Contiguous and complete, but not ⌈7 / 2⌉ = 4 elements per rank.
  const uneven = { params: PARAMS, ranks: [{ start: 0, end: 3 }, { start: 3, end: 7 }] };
  assert.throws(
    () => parseShardLayout(uneven, "m.json"),
    /m\.json: rank ranges \[\[0,3\],\[3,7\]\] are not the even split of 7 parameter elements over 2 ranks \(\[\[0,4\],\[4,7\]\]\)/,
  );
  const gapped = { params: PARAMS, ranks: [{ start: 0, end: 3 }, { start: 5, end: 7 }] };
  assert.throws(
    () => parseShardLayout(gapped, "m.json"),
    /m\.json: rank ranges \[\[0,3\],\[5,7\]\]/,
  );
  assert.throws(
    () => parseShardLayout({ params: [{ name: "a", shape: [-1] }], ranks: [{}] }, "m.json"),
    /m\.json: "layout" must be/,
  );
  assert.throws(
    () => parseShardLayout({ params: PARAMS, ranks: [] }, "m.json"),
    /"layout" must be/,
  );
  const twice = { params: [PARAMS[0], PARAMS[0]], ranks: [{ start: 0, end: 8 }] };
  assert.throws(() => parseShardLayout(twice, "m.json"), /m\.json: .*parameter a appears twice/);
});
