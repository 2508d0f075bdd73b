import assert from "node:assert/strict";
import { DataCollator } from "../lib/data/collator.ts";

// OLMo tests/data/collator_test.py, plus shapes and float biases.

function rows(data: ArrayLike<number>, b: number, l: number): number[][] {
  return Array.from({ length: b }, (_, i) => Array.from(data).slice(i * l, (i + 1) * l));
}

/** The causal bool bias OLMo's test uses: ~triu(ones(s, s), diagonal=1), as 0/1 bytes. */
function causalBool(s: number): Uint8Array {
  const out = new Uint8Array(s * s);
  for (let i = 0; i < s; i++) for (let j = 0; j <= i; j++) out[i * s + j] = 1;
  return out;
}

for (const padDirection of ["right", "left"] as const) {
  Deno.test(`pads input ids and masks on the ${padDirection}`, () => {
    const collator = new DataCollator({ padDirection, padTokenId: 1 });
    const batch = collator.collate([
      { inputIds: [0, 1, 2, 3], attentionMask: [1, 1, 1, 1] },
      { inputIds: [4, 5, 6], attentionMask: [1, 1, 1] },
    ]);
    assert.deepEqual(batch.inputIds.shape, [2, 4]);
    assert.ok(batch.inputIds.data instanceof Int32Array);
    const ids = rows(batch.inputIds.data, 2, 4);
    const mask = rows(batch.attentionMask!.data, 2, 4);
    if (padDirection === "right") {
      assert.deepEqual(ids, [[0, 1, 2, 3], [4, 5, 6, 1]]);
      assert.deepEqual(mask, [[1, 1, 1, 1], [1, 1, 1, 0]]);
    } else {
      assert.deepEqual(ids, [[0, 1, 2, 3], [1, 4, 5, 6]]);
      assert.deepEqual(mask, [[1, 1, 1, 1], [0, 1, 1, 1]]);
    }
  });

  Deno.test(`pads bool attention biases on the ${padDirection}`, () => {
    const collator = new DataCollator({ padDirection, padTokenId: 1 });
    const batch = collator.collate([
      {
        inputIds: [0, 1, 2, 3],
        attentionBias: { dtype: "bool", shape: [4, 4], data: causalBool(4) },
      },
      { inputIds: [4, 5], attentionBias: { dtype: "bool", shape: [1, 2, 2], data: causalBool(2) } },
    ]);
    const bias = batch.attentionBias!;
    assert.deepEqual(bias.shape, [2, 1, 4, 4]);
    assert.equal(bias.dtype, "bool");
    const item1 = rows(bias.data.subarray(16, 32), 4, 4);
    if (padDirection === "right") {
      assert.deepEqual(item1, [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
      assert.deepEqual(item1[3], [0, 0, 0, 0]);
    } else {
      assert.deepEqual(item1, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]);
      assert.ok(item1.every((r) => r[0] === 0));
    }
    assert.deepEqual(rows(bias.data.subarray(0, 16), 4, 4), rows(causalBool(4), 4, 4));
  });
}

Deno.test("float biases pad with -inf; indices and metadata pass through; no mask is invented", () => {
  const collator = DataCollator.fromTrainConfig({
    data: { pad_direction: "right" },
    model: { pad_token_id: 7 },
  });
  const batch = collator.collate([
    {
      inputIds: [1],
      attentionBias: { dtype: "float32", shape: [1, 1], data: new Float32Array([0.5]) },
      index: 3,
      metadata: { label: "a" },
    },
    {
      inputIds: [2, 3],
      attentionBias: { dtype: "float32", shape: [2, 2], data: new Float32Array([0, 1, 2, 3]) },
      index: 9,
      metadata: { label: "b" },
    },
  ]);
  assert.deepEqual(Array.from(batch.attentionBias!.data.subarray(0, 4)), [
    0.5,
    -Infinity,
    -Infinity,
    -Infinity,
  ]);
  assert.deepEqual(Array.from(batch.inputIds.data), [1, 7, 2, 3]);
  assert.deepEqual(batch.index, [3, 9]);
  assert.deepEqual(batch.metadata, [{ label: "a" }, { label: "b" }]);
  assert.equal(batch.attentionMask, undefined);
  assert.deepEqual(Array.from(collator.collate([[5, 6], [7]]).inputIds.data), [5, 6, 7, 7]);
  assert.throws(() => collator.collate([]), /empty batch/);
  assert.throws(
    () => new DataCollator({ padDirection: "up" as "left", padTokenId: 0 }),
    /pad_direction/,
  );
});
