/**
 * Every architecture option against an independent plain-JS reference forward
 * (`_reference_olmo.ts`) on a tiny model with random weights, plus direct checks of the pieces
 * (ALiBi slopes, causal bias, RoPE, GELU, MQA, scale_logits, weight tying, dropout).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { ModelConfig } from "../lib/config/model_config.ts";
import {
  alibiBias,
  alibiSlopes,
  applyRope,
  causalBias,
  FLOAT32_MIN,
  geluExact,
  Olmo,
} from "../lib/model/mod.ts";
import { Rng } from "../lib/model/random.ts";
import { tinyConfig } from "./_model_fixture.ts";
import { idsTensor, maxDiff, maxDiffNested, randomIds, randomizeParams } from "./_model_random.ts";
import { erfReference, referenceForward } from "./_reference_olmo.ts";

tf.env().set("PROD", true);

interface Case {
  name: string;
  overrides: Partial<ModelConfig>;
  /** Same parameters, option reverted: the reference output must differ (the test has power). */
  reverted?: Partial<ModelConfig>;
}

const CASES: Case[] = [
  { name: "defaults: sequential, swiglu, absolute positions, biases", overrides: {} },
  { name: "alibi", overrides: { alibi: true } },
  {
    name: "alibi_bias_max",
    overrides: { alibi: true, alibi_bias_max: 2 },
    reverted: { alibi: true, alibi_bias_max: 8 },
  },
  { name: "rope", overrides: { rope: true } },
  { name: "rope_full_precision false", overrides: { rope: true, rope_full_precision: false } },
  { name: "multi_query_attention", overrides: { multi_query_attention: true, n_heads: 4 } },
  { name: "attention_layer_norm with affine", overrides: { attention_layer_norm: true } },
  {
    name: "attention_layer_norm without affine, MQA",
    overrides: {
      attention_layer_norm: true,
      attention_layer_norm_with_affine: false,
      multi_query_attention: true,
    },
  },
  { name: "block_type parallel", overrides: { block_type: "parallel" } },
  { name: "block_type llama", overrides: { block_type: "llama", rope: true } },
  {
    name: "block_type parallel + MQA + alibi",
    overrides: { block_type: "parallel", multi_query_attention: true, alibi: true },
  },
  {
    name: "layer_norm_type rms",
    overrides: { layer_norm_type: "rms" },
    reverted: { layer_norm_type: "default" },
  },
  { name: "layer_norm_type low_precision", overrides: { layer_norm_type: "low_precision" } },
  { name: "layer_norm_type amd_compatible", overrides: { layer_norm_type: "amd_compatible" } },
  { name: "layer_norm_with_affine false", overrides: { layer_norm_with_affine: false } },
  {
    name: "bias_for_layer_norm true without include_bias",
    overrides: { include_bias: false, bias_for_layer_norm: true },
  },
  {
    name: "bias_for_layer_norm false with include_bias",
    overrides: { include_bias: true, bias_for_layer_norm: false },
  },
  {
    name: "activation gelu",
    overrides: { activation_type: "gelu" },
    reverted: { activation_type: "relu" },
  },
  {
    name: "activation relu",
    overrides: { activation_type: "relu" },
    reverted: { activation_type: "gelu" },
  },
  { name: "mlp_hidden_size", overrides: { mlp_hidden_size: 20, mlp_ratio: 4 } },
  { name: "mlp_ratio", overrides: { mlp_ratio: 3, activation_type: "gelu" } },
  { name: "include_bias false", overrides: { include_bias: false } },
  {
    name: "scale_logits",
    overrides: { scale_logits: true },
    reverted: { scale_logits: false },
  },
  { name: "weight_tying false", overrides: { weight_tying: false } },
  { name: "embedding_size null (= vocab_size)", overrides: { embedding_size: null } },
  { name: "block_group_size 2", overrides: { block_group_size: 2, n_layers: 4 } },
];

for (const c of CASES) {
  Deno.test(`option ${c.name}: logits match the JS reference (plain and left-padded)`, async () => {
    const config = tinyConfig(c.overrides);
    const model = new Olmo(config, { seed: 1 });
    const state = randomizeParams(model, 7);
    const ids = randomIds(new Rng(3), 2, 7, config.vocab_size);
    const mask = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1]];
    const expected = referenceForward(config, state, ids);
    const expectedMasked = referenceForward(config, state, ids, mask);
    const idsT = idsTensor(ids);
    const maskT = tf.tensor2d(mask);
    const out = model.forward(idsT);
    const outMasked = model.forward(idsT, { attentionMask: maskT });
    const width = config.embedding_size ?? config.vocab_size;
    assert.deepEqual(out.logits.shape, [2, 7, width]);
    const diff = await maxDiffNested(out.logits, expected);
    assert.ok(diff < 1e-4, `logits differ from the reference by ${diff}`);
    const diffMasked = await maxDiffNested(outMasked.logits, expectedMasked);
    assert.ok(diffMasked < 1e-4, `masked logits differ from the reference by ${diffMasked}`);
    if (c.reverted) {
      const other = referenceForward({ ...config, ...c.reverted }, state, ids);
      const gap = Math.max(...other.flat(2).map((v, i) => Math.abs(v - expected.flat(2)[i])));
      assert.ok(gap > 1e-2, `reverting the option changes the reference by only ${gap}`);
    }
    tf.dispose([idsT, maskT, out.logits, outMasked.logits]);
    model.dispose();
  });
}

Deno.test("alibi slopes equal the spec's values (§2.4, Appendix A)", () => {
  assert.deepEqual(Array.from(alibiSlopes(4, 8)), [1 / 4, 1 / 16, 1 / 64, 1 / 256]);
  assert.deepEqual(Array.from(alibiSlopes(2, 8)), [2 ** -4, 2 ** -8]);
  const s16 = alibiSlopes(16, 8);
  for (let h = 0; h < 16; h++) assert.ok(Math.abs(s16[h] - 2 ** (-0.5 * (h + 1))) < 1e-7);
});

Deno.test("alibi and causal bias values for the last rows of a window", async () => {
  // 2 queries at positions 3, 4 over 5 keys; n_heads 2, max 8: slopes 1/16, 1/256.
  const alibi = await alibiBias(2, 8, 2, 5).array();
  const expected = [0, 1].map((h) =>
    [3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => -Math.abs(j - i) * [1 / 16, 1 / 256][h]))
  );
  assert.deepEqual(alibi[0], expected);
  const causal = await causalBias(2, 5).array();
  assert.deepEqual(causal[0][0], [
    [0, 0, 0, 0, FLOAT32_MIN],
    [0, 0, 0, 0, 0],
  ]);
});

Deno.test("RoPE rotates half-split pairs by position · 10000^(-2i/hd)", async () => {
  // hd 4: inverse frequencies 1 and 1/100; position 2.
  const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 1, 4]);
  const [a, b] = [2, 2 / 100];
  const sin = tf.tensor2d([Math.sin(a), Math.sin(b)], [1, 2]);
  const cos = tf.tensor2d([Math.cos(a), Math.cos(b)], [1, 2]);
  const got = await applyRope(x, sin, cos).data();
  const want = [
    1 * Math.cos(a) - 3 * Math.sin(a),
    2 * Math.cos(b) - 4 * Math.sin(b),
    3 * Math.cos(a) + 1 * Math.sin(a),
    4 * Math.cos(b) + 2 * Math.sin(b),
  ];
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-6, `${got[i]} vs ${w}`));
});

Deno.test("GELU is the exact erf form, not the tanh approximation", async () => {
  const xs = [-3, -2.2, -1, -0.3, 0, 0.5, 1.7, 3];
  const got = await geluExact(tf.tensor1d(xs)).data();
  xs.forEach((x, i) => {
    const exact = 0.5 * x * (1 + erfReference(x / Math.SQRT2));
    const tanhApprox = 0.5 * x *
      (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    assert.ok(Math.abs(got[i] - exact) < 2e-6, `gelu(${x}) = ${got[i]}, expected ${exact}`);
    if (Math.abs(x) > 1.5) assert.ok(Math.abs(exact - tanhApprox) > 1e-4);
  });
});

Deno.test("multi-query attention: k/v shapes, and equals MHA with k/v repeated per head", async () => {
  const mqaConfig = tinyConfig({ multi_query_attention: true, n_heads: 4, include_bias: true });
  const mqa = new Olmo(mqaConfig, { seed: 2 });
  const state = randomizeParams(mqa, 11);
  const hd = 4;
  assert.deepEqual(mqa.params.get("transformer.blocks.0.att_proj.weight")!.shape, [
    16 + 2 * hd,
    16,
  ]);
  const mha = new Olmo({ ...mqaConfig, multi_query_attention: false }, { seed: 2 });
  const expanded = new Map(state);
  for (const [name, t] of state) {
    if (!name.endsWith("att_proj.weight") && !name.endsWith("att_proj.bias")) continue;
    const cols = t.shape.length === 2 ? t.shape[1] : 1;
    const src = t.data as Float32Array;
    const row = (r: number) => src.subarray(r * cols, (r + 1) * cols);
    const rows: Float32Array[] = [];
    for (let r = 0; r < 16; r++) rows.push(row(r)); // q
    for (const base of [16, 16 + hd]) { // k then v, repeated for each of the 4 heads
      for (let h = 0; h < 4; h++) for (let r = 0; r < hd; r++) rows.push(row(base + r));
    }
    const data = new Float32Array(rows.length * cols);
    rows.forEach((r, i) => data.set(r, i * cols));
    expanded.set(name, { dtype: "float32", shape: t.shape.length === 2 ? [48, cols] : [48], data });
  }
  mha.loadStateDict(expanded);
  const ids = idsTensor(randomIds(new Rng(5), 2, 6, 40));
  const a = mqa.forward(ids, { useCache: true });
  const b = mha.forward(ids);
  assert.deepEqual(a.attnKeyValues![0][0].shape, [2, 1, 6, hd]);
  assert.ok((await maxDiff(a.logits, b.logits)) < 1e-5);
  tf.dispose([ids, a.logits, b.logits, ...a.attnKeyValues!.flat()]);
  mqa.dispose();
  mha.dispose();
});

Deno.test("scale_logits multiplies the logits by 1/sqrt(d_model)", async () => {
  const plain = new Olmo(tinyConfig(), { seed: 4 });
  const state = randomizeParams(plain, 4);
  const scaled = new Olmo(tinyConfig({ scale_logits: true }), { seed: 4 });
  scaled.loadStateDict(state);
  const ids = idsTensor([[1, 2, 3, 4]]);
  const a = plain.forward(ids).logits;
  const b = scaled.forward(ids).logits;
  const expected = tf.mul(a, 1 / 4);
  assert.ok((await maxDiff(b, expected)) < 1e-6);
  assert.ok((await maxDiff(a, b)) > 1e-2);
  tf.dispose([ids, a, b, expected]);
  plain.dispose();
  scaled.dispose();
});

Deno.test("weight tying: no ff_out parameter, the output head reads wte", async () => {
  const model = new Olmo(tinyConfig({ weight_tying: true }), { seed: 5 });
  randomizeParams(model, 5);
  assert.ok(!model.params.has("transformer.ff_out.weight"));
  const untied = new Olmo(tinyConfig({ weight_tying: false, include_bias: false }), { seed: 5 });
  assert.deepEqual(untied.params.get("transformer.ff_out.weight")!.shape, [128, 16]);
  // Changing a wte row of a token that is not in the input changes only that logit column.
  const ids = idsTensor([[1, 2, 3]]);
  const before = await model.forward(ids).logits.array();
  const wte = model.params.get("transformer.wte.weight")!;
  const bumped = tf.tidy(() => {
    const row = tf.reshape(tf.oneHot(tf.tensor1d([30], "int32"), 128), [128, 1]);
    return tf.add(wte, tf.mul(row, tf.range(0, 16).reshape([1, 16]))); // row 30 += 0..15
  });
  wte.assign(bumped);
  bumped.dispose();
  const after = await model.forward(ids).logits.array();
  for (let t = 0; t < 3; t++) {
    for (let v = 0; v < 128; v++) {
      const changed = Math.abs(after[0][t][v] - before[0][t][v]) > 1e-6;
      assert.equal(changed, v === 30, `column ${v} at ${t}`);
    }
  }
  ids.dispose();
  model.dispose();
  untied.dispose();
});

Deno.test("embedding_size: wte has embedding_size rows and the logits as many columns", () => {
  const model = new Olmo(tinyConfig({ vocab_size: 40, embedding_size: 256 }), { seed: 1 });
  assert.deepEqual(model.params.get("transformer.wte.weight")!.shape, [256, 16]);
  const ids = idsTensor([[0, 39]]);
  const out = model.forward(ids);
  assert.deepEqual(out.logits.shape, [1, 2, 256]);
  tf.dispose([ids, out.logits]);
  model.dispose();
});

Deno.test("mlp_hidden_size sets ff_proj / ff_out shapes (halved after swiglu)", () => {
  const model = new Olmo(tinyConfig({ mlp_hidden_size: 20 }), { seed: 1 });
  assert.deepEqual(model.params.get("transformer.blocks.1.ff_proj.weight")!.shape, [20, 16]);
  assert.deepEqual(model.params.get("transformer.blocks.1.ff_out.weight")!.shape, [16, 10]);
  model.dispose();
  const par = new Olmo(tinyConfig({ mlp_hidden_size: 20, block_type: "parallel" }), { seed: 1 });
  assert.deepEqual(
    par.params.get("transformer.blocks.0.fused_attn_ff_proj.weight")!.shape,
    [16 * 3 + 20, 16],
  );
  par.dispose();
});

Deno.test("dropout is active only in training, reproducible from the seed", async () => {
  const config = tinyConfig({
    embedding_dropout: 0.2,
    residual_dropout: 0.2,
    attention_dropout: 0.2,
  });
  const noDropout = tinyConfig();
  const a = new Olmo(config, { seed: 9 });
  const state = randomizeParams(a, 9);
  const b = new Olmo(config, { seed: 9 });
  b.loadStateDict(state);
  const ref = new Olmo(noDropout, { seed: 9 });
  ref.loadStateDict(state);
  const ids = idsTensor([[1, 2, 3, 4, 5]]);
  const evalOut = a.forward(ids).logits;
  const refOut = ref.forward(ids).logits;
  assert.equal(await maxDiff(evalOut, refOut), 0);
  const trainA = a.forward(ids, { training: true }).logits;
  const trainB = b.forward(ids, { training: true }).logits;
  assert.ok((await maxDiff(trainA, evalOut)) > 1e-3, "training mode must apply dropout");
  assert.equal(await maxDiff(trainA, trainB), 0, "same seed, same dropout masks");
  const trainNoDrop = ref.forward(ids, { training: true }).logits;
  assert.equal(await maxDiff(trainNoDrop, refOut), 0, "p = 0 is the identity");
  tf.dispose([ids, evalOut, refOut, trainA, trainB, trainNoDrop]);
  [a, b, ref].forEach((m) => m.dispose());
});

Deno.test("attentionBias: bool, int32 and float allow-masks act like the padding mask", async () => {
  const model = new Olmo(tinyConfig({ rope: true }), { seed: 6 });
  randomizeParams(model, 6);
  const ids = idsTensor(randomIds(new Rng(8), 2, 5, 40));
  const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
  // allow[b][0][i][j] = causal and not padding.
  const allow = mask.map((
    m,
  ) => [[0, 1, 2, 3, 4].map((i) => m.map((keep, j) => (j <= i && keep ? 1 : 0)))]);
  const maskT = tf.tensor2d(mask);
  const expected = model.forward(ids, { attentionMask: maskT }).logits;
  const biases = [
    tf.tensor4d(allow, undefined, "int32"),
    tf.tensor4d(allow, undefined, "bool"),
    tf.tensor4d(allow.map((b) => b.map((h) => h.map((r) => r.map((a) => (a ? 0 : FLOAT32_MIN)))))),
  ];
  for (const bias of biases) {
    const got = model.forward(ids, { attentionBias: bias }).logits;
    assert.ok((await maxDiff(got, expected)) < 1e-5, `dtype ${bias.dtype}`);
    got.dispose();
  }
  assert.throws(() => model.forward(ids, { attentionBias: tf.ones([1, 3, 5, 5]) }), /heads/);
  assert.throws(() => model.forward(ids, { attentionBias: tf.ones([4, 4]) }), /smaller/);
  assert.throws(
    () => model.forward(ids, { attentionMask: tf.ones([2, 4]) as tf.Tensor2D }),
    /attentionMask: has 4 columns/,
  );
  tf.dispose([ids, maskT, expected, ...biases]);
  model.dispose();
});

for (const kind of ["embedding_dropout", "attention_dropout", "residual_dropout"] as const) {
  Deno.test(`${kind} alone is applied in training and never in eval`, async () => {
    const model = new Olmo(tinyConfig({ [kind]: 0.5 }), { seed: 3 });
    const state = randomizeParams(model, 3);
    const ref = new Olmo(tinyConfig(), { seed: 3 });
    ref.loadStateDict(state);
    const ids = idsTensor([[1, 2, 3, 4, 5, 6]]);
    const evalOut = model.forward(ids).logits;
    const refOut = ref.forward(ids).logits;
    const trainOut = model.forward(ids, { training: true }).logits;
    assert.equal(await maxDiff(evalOut, refOut), 0, "eval mode must not drop");
    assert.ok((await maxDiff(trainOut, refOut)) > 1e-3, `${kind} ignored in training`);
    tf.dispose([ids, evalOut, refOut, trainOut]);
    model.dispose();
    ref.dispose();
  });
}
