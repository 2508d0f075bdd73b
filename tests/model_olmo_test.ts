/**
 * OLMo's own `tests/model_test.py` (spec §10) ported: batched vs single forward, KV-cache paths,
 * backward, LayerNorm, block groups; plus tensor-leak checks.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { layerNorm, Olmo, parameterSpecs } from "../lib/model/mod.ts";
import { Rng } from "../lib/model/random.ts";
import { tinyConfig } from "./_model_fixture.ts";
import { idsTensor, maxDiff, randomizeParams } from "./_model_random.ts";

tf.env().set("PROD", true);

const PAD = 39;
// Two "tokenized sentences" ending in EOS, as in OLMo's test (lengths 6 and 9).
const SHORT = [5, 17, 2, 30, 11, 39];
const LONG = [8, 1, 22, 14, 3, 27, 9, 16, 39];

/** Right-padded batch and mask, as OLMo's collator builds them. */
function collate(): { ids: number[][]; mask: number[][] } {
  const len = LONG.length;
  const pad = (row: number[]) => [...row, ...Array(len - row.length).fill(PAD)];
  const ones = (row: number[]) => [...row.map(() => 1), ...Array(len - row.length).fill(0)];
  return { ids: [pad(SHORT), pad(LONG)], mask: [ones(SHORT), ones(LONG)] };
}

const POSITIONS: [string, Partial<ModelConfig>][] = [
  ["alibi", { alibi: true }],
  ["absolute", {}],
  ["rope", { rope: true }],
];

for (const [posName, pos] of POSITIONS) {
  for (const blockType of ["sequential", "parallel"] as const) {
    for (const mqa of [false, true]) {
      const label = `${posName} / ${blockType}${mqa ? " / MQA" : ""}`;
      Deno.test(`model_test forward (${label}): batching and the KV cache change nothing`, async () => {
        const config = tinyConfig({
          ...pos,
          block_type: blockType,
          multi_query_attention: mqa,
          n_heads: 4,
        });
        const model = new Olmo(config, { seed: 3 });
        randomizeParams(model, 13);
        const { ids, mask } = collate();
        const batchIds = idsTensor(ids);
        const batchMask = tf.tensor2d(mask);
        const batched = model.forward(batchIds, { attentionMask: batchMask }).logits;

        // 1. The single-sequence logits equal the batched ones over the unpadded prefix.
        for (const [row, seq] of [[0, SHORT], [1, LONG]] as const) {
          const single = model.forward(idsTensor([seq])).logits;
          const part = tf.slice(batched, [row, 0, 0], [1, seq.length, -1]);
          assert.ok((await maxDiff(single, part)) < 1e-5, `row ${row}`);
          tf.dispose([single, part]);
        }

        // 2. forward(ids[:-1], useCache) then forward(ids[-1:], past) gives the last logits.
        const full = model.forward(idsTensor([LONG])).logits;
        const first = model.forward(idsTensor([LONG.slice(0, -1)]), { useCache: true });
        const second = model.forward(idsTensor([LONG.slice(-1)]), {
          pastKeyValues: first.attnKeyValues!,
          useCache: true,
        });
        const lastFull = tf.slice(full, [0, LONG.length - 1, 0], [1, 1, -1]);
        assert.ok((await maxDiff(second.logits, lastFull)) < 1e-5);
        const kvHeads = mqa ? 1 : 4;
        assert.deepEqual(second.attnKeyValues![0][0].shape, [1, kvHeads, LONG.length, 4]);

        // 3. The batched cache path with a mask matches for the longer input.
        const n = LONG.length;
        const head = model.forward(idsTensor(ids.map((r) => r.slice(0, -1))), {
          attentionMask: tf.tensor2d(mask.map((r) => r.slice(0, -1))),
          useCache: true,
        });
        const tail = model.forward(idsTensor(ids.map((r) => r.slice(-1))), {
          attentionMask: batchMask,
          pastKeyValues: head.attnKeyValues!,
        });
        const tailLong = tf.slice(tail.logits, [1, 0, 0], [1, 1, -1]);
        const batchedLast = tf.slice(batched, [1, n - 1, 0], [1, 1, -1]);
        assert.ok((await maxDiff(tailLong, batchedLast)) < 1e-5);

        // lastLogitsOnly picks the final position.
        const lastOnly = model.forward(idsTensor([LONG]), { lastLogitsOnly: true }).logits;
        assert.ok((await maxDiff(lastOnly, lastFull)) < 1e-6);
        model.dispose();
      });
    }
  }
}

/** Token-mean next-token cross-entropy of (B, S, E) logits (padded columns included, as OLMo). */
function shiftedCrossEntropy(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Scalar {
  const [b, s] = ids.shape;
  const width = logits.shape[2];
  const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [b, s - 1, -1]), [-1, width]);
  const target = tf.reshape(tf.slice(ids, [0, 1], [b, s - 1]), [-1]);
  const logp = tf.logSoftmax(pred);
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(target, width)), -1)));
}

for (
  const [name, overrides] of [
    ["alibi", { alibi: true }],
    ["absolute, untied, parallel, QK-norm", {
      weight_tying: false,
      block_type: "parallel",
      attention_layer_norm: true,
    }],
    ["rope, llama, MQA", { rope: true, block_type: "llama", multi_query_attention: true }],
  ] as [string, Partial<ModelConfig>][]
) {
  Deno.test(`model_test backward (${name}): every parameter gets a non-zero gradient`, async () => {
    const config = tinyConfig({
      ...overrides,
      embedding_dropout: 0.1,
      residual_dropout: 0.1,
      attention_dropout: 0.1,
    });
    const model = new Olmo(config, { seed: 21 });
    const ids = idsTensor([SHORT, LONG.slice(0, 6)]);
    const vars = [...model.params.values()];
    const { value, grads } = tf.variableGrads(
      () => shiftedCrossEntropy(model.forward(ids, { training: true }).logits, ids),
      vars,
    );
    assert.ok(Number.isFinite((await value.data())[0]));
    for (const [name, v] of model.params) {
      const g = grads[v.name];
      assert.ok(g, `${name} has no gradient`);
      const norm = (await tf.tidy(() => tf.sum(tf.abs(g))).data())[0];
      assert.ok(norm > 0, `${name} has an all-zero gradient`);
    }
    tf.dispose([value, ids, ...Object.values(grads)]);
    model.dispose();
  });
}

Deno.test("model_test layer norm: default and amd_compatible equal a hand-computed LayerNorm", async () => {
  const rng = new Rng(4);
  const rows = Array.from(
    { length: 3 },
    () => Array.from({ length: 8 }, () => rng.normal() * 3 + 1),
  );
  const w = Array.from({ length: 8 }, () => rng.normal());
  const b = Array.from({ length: 8 }, () => rng.normal());
  const x = tf.tensor2d(rows);
  for (const [affine, bias] of [[false, false], [true, false], [true, true]]) {
    const expected = rows.map((r) => {
      const mean = r.reduce((a, v) => a + v, 0) / 8;
      const variance = r.reduce((a, v) => a + (v - mean) ** 2, 0) / 8;
      return r.map((v, i) => {
        const n = (v - mean) / Math.sqrt(variance + 1e-5);
        return (affine ? n * w[i] : n) + (bias ? b[i] : 0);
      });
    });
    for (const type of ["default", "amd_compatible", "low_precision"] as const) {
      const y = layerNorm(
        x,
        type,
        affine ? tf.tensor1d(w) : undefined,
        bias ? tf.tensor1d(b) : undefined,
      );
      const got = await y.array() as number[][];
      got.flat().forEach((v, i) => assert.ok(Math.abs(v - expected.flat()[i]) < 1e-5));
    }
    // Parameters exist iff needed.
    const config = tinyConfig({
      layer_norm_with_affine: affine,
      include_bias: false,
      bias_for_layer_norm: bias,
    });
    const names = parameterSpecs(config).map((s) => s.name);
    assert.equal(names.includes("transformer.ln_f.weight"), affine);
    assert.equal(names.includes("transformer.ln_f.bias"), affine && bias);
    assert.equal(names.includes("transformer.blocks.0.attn_norm.bias"), affine && bias);
  }
  // rms: x / sqrt(mean(x²) + eps) · w + b.
  const rms = await layerNorm(x, "rms", tf.tensor1d(w), tf.tensor1d(b)).array() as number[][];
  rows.forEach((r, j) => {
    const scale = 1 / Math.sqrt(r.reduce((a, v) => a + v * v, 0) / 8 + 1e-5);
    r.forEach((v, i) => assert.ok(Math.abs(rms[j][i] - (v * scale * w[i] + b[i])) < 1e-5));
  });
});

Deno.test("model_test block groups: 9 layers in groups of 3 convert both ways, same outputs", async () => {
  const flat = new Olmo(tinyConfig({ n_layers: 9 }), { seed: 8 });
  randomizeParams(flat, 8);
  const grouped = new Olmo(tinyConfig({ n_layers: 9, block_group_size: 3 }), { seed: 99 });
  assert.ok(grouped.params.has("transformer.block_groups.0.0.attn_out.weight"));
  assert.ok(grouped.params.has("transformer.block_groups.2.2.ff_proj.weight"));
  assert.ok(!grouped.params.has("transformer.blocks.0.attn_out.weight"));
  const flatState = await flat.stateDict();
  grouped.loadStateDict(flatState); // blocks.N → block_groups.G.J
  const groupedState = await grouped.stateDict();
  assert.deepEqual(
    groupedState.get("transformer.block_groups.1.2.attn_out.weight")!.data,
    flatState.get("transformer.blocks.5.attn_out.weight")!.data,
  );
  const back = new Olmo(tinyConfig({ n_layers: 9 }), { seed: 5 });
  back.loadStateDict(groupedState); // block_groups.G.J → blocks.N
  const ids = idsTensor([LONG]);
  const a = flat.forward(ids).logits;
  const b = grouped.forward(ids).logits;
  const c = back.forward(ids).logits;
  assert.equal(await maxDiff(a, b), 0);
  assert.equal(await maxDiff(a, c), 0);
  tf.dispose([ids, a, b, c]);
  [flat, grouped, back].forEach((m) => m.dispose());
});

Deno.test("no tensor leaks across repeated forward + backward, with and without cache", () => {
  const model = new Olmo(tinyConfig({ rope: true, residual_dropout: 0.1 }), { seed: 1 });
  const ids = idsTensor([SHORT, LONG.slice(0, 6)]);
  const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]]);
  const vars = [...model.params.values()];
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () => shiftedCrossEntropy(model.forward(ids, { training: true }).logits, ids),
      vars,
    );
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before, "forward + backward leaked tensors");
  const countBefore = tf.memory().numTensors;
  const cachedStep = () => {
    const last = tf.slice(ids, [0, 0], [-1, 1]);
    const fullMask = tf.tidy(() => tf.concat([mask, tf.ones([2, 1])], 1));
    const first = model.forward(ids, { attentionMask: mask, useCache: true });
    const next = model.forward(last as tf.Tensor2D, {
      attentionMask: fullMask as tf.Tensor2D,
      pastKeyValues: first.attnKeyValues!,
      useCache: true,
    });
    tf.dispose([last, fullMask, first.logits, next.logits]);
    tf.dispose([...first.attnKeyValues!.flat(), ...next.attnKeyValues!.flat()]);
  };
  for (let i = 0; i < 3; i++) cachedStep();
  assert.equal(tf.memory().numTensors, countBefore, "cached forward leaked tensors");
  tf.dispose([ids, mask]);
  model.dispose();
});
