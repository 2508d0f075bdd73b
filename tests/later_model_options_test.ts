/**
 * The model options of the later OLMo code (OLMo 1.7 / OLMo 2) against the independent plain-JS
 * reference forward (`_reference_olmo.ts`) on a tiny model with random weights; the reference is
 * itself checked against the later PyTorch OLMo's logits (`olmo-reference-v2`). Also: parameter
 * names and shapes with those options, and the config errors.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { Olmo, parameterSpecs } from "../lib/model/mod.ts";
import { Rng } from "../lib/model/random.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";
import { loadCaseModelConfig, tinyConfig } from "./_model_fixture.ts";
import { idsTensor, maxDiffNested, randomIds, randomizeParams } from "./_model_random.ts";
import { referenceForward } from "./_reference_olmo.ts";
import { HAS_SHARED_V2, OLMO_REFERENCE_V2_CASES, referenceV2CaseDir } from "./_shared.ts";

tf.env().set("PROD", true);

interface Case {
  name: string;
  overrides: Partial<ModelConfig>;
  /** Same parameters, option reverted: the reference output must differ (the test has power). */
  reverted?: Partial<ModelConfig>;
}

const OLMO2: Partial<ModelConfig> = {
  rope: true,
  rope_theta: 500_000,
  include_bias: false,
  layer_norm_type: "rms",
  layer_norm_eps: 1e-6,
  attention_layer_norm: true,
  norm_after: true,
  n_heads: 4,
  n_kv_heads: 2,
  weight_tying: false,
};

const CASES: Case[] = [
  { name: "n_kv_heads 2 of 4 heads (GQA)", overrides: { n_heads: 4, n_kv_heads: 2 } },
  {
    name: "n_kv_heads 1 with multi_query_attention null",
    overrides: { n_heads: 4, n_kv_heads: 1, multi_query_attention: null },
  },
  {
    name: "GQA with QK-norm sized for the kv heads",
    overrides: { n_heads: 4, n_kv_heads: 2, attention_layer_norm: true, rope: true },
  },
  { name: "clip_qkv", overrides: { clip_qkv: 0.3 }, reverted: { clip_qkv: null } },
  {
    name: "rope_theta",
    overrides: { rope: true, rope_theta: 500_000 },
    reverted: { rope_theta: 10_000 },
  },
  {
    name: "layer_norm_eps",
    overrides: { layer_norm_eps: 0.5 },
    reverted: { layer_norm_eps: 1e-5 },
  },
  {
    name: "embedding_layer_norm (absolute positions)",
    overrides: { embedding_layer_norm: true },
  },
  {
    name: "embedding_layer_norm without affine, rope",
    overrides: { embedding_layer_norm: true, layer_norm_with_affine: false, rope: true },
  },
  { name: "norm_after (the OLMo 2 block)", overrides: OLMO2, reverted: { norm_after: false } },
  {
    name: "llama block with GQA and clip_qkv",
    overrides: { block_type: "llama", rope: true, n_heads: 4, n_kv_heads: 2, clip_qkv: 0.3 },
    reverted: { clip_qkv: null },
  },
];

for (const c of CASES) {
  Deno.test(`later option ${c.name}: logits match the JS reference (plain, left-padded)`, async () => {
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

for (const name of OLMO_REFERENCE_V2_CASES) {
  Deno.test({
    name: `the JS reference reproduces the later PyTorch OLMo's logits: ${name}`,
    ignore: !HAS_SHARED_V2,
    fn: async () => {
      const dir = referenceV2CaseDir(name);
      const config = await loadCaseModelConfig(dir);
      const state = (await readSafetensors(join(dir, "model.safetensors"))).tensors;
      const forward = (await readSafetensors(join(dir, "forward.safetensors"))).tensors;
      const idsHost = forward.get("input_ids")!;
      const flat = Array.from(toFloat32(idsHost));
      const ids = [flat.slice(0, 16), flat.slice(16, 32)];
      const got = referenceForward(config, state, ids).flat(2);
      const want = toFloat32(forward.get("logits")!);
      const worst = got.reduce((w, v, i) => Math.max(w, Math.abs(v - want[i])), 0);
      assert.ok(worst < 1e-4, `reference differs by ${worst}`);
    },
  });
}

Deno.test("later options: parameter names and shapes as the later OLMo registers them", () => {
  // d_model 16, 4 heads (hd 4), 2 kv heads: kv width 8; swiglu hidden 32 (ff_out in 16).
  const specs = parameterSpecs(tinyConfig({ ...OLMO2, n_layers: 1, embedding_layer_norm: true }));
  assert.deepEqual(specs.map((s) => [s.name, s.shape]), [
    ["transformer.wte.weight", [128, 16]],
    ["transformer.ln_f.weight", [16]],
    ["transformer.blocks.0.k_norm.weight", [8]],
    ["transformer.blocks.0.q_norm.weight", [16]],
    ["transformer.blocks.0.attn_out.weight", [16, 16]],
    ["transformer.blocks.0.ff_out.weight", [16, 16]],
    ["transformer.blocks.0.attn_norm.weight", [16]],
    ["transformer.blocks.0.ff_norm.weight", [16]],
    ["transformer.blocks.0.att_proj.weight", [32, 16]],
    ["transformer.blocks.0.ff_proj.weight", [32, 16]],
    ["transformer.ff_out.weight", [128, 16]],
    ["transformer.emb_norm.weight", [16]],
  ]);
  const llama = parameterSpecs(
    tinyConfig({ block_type: "llama", rope: true, n_heads: 4, n_kv_heads: 1, n_layers: 1 }),
  );
  const shape = (n: string) => llama.find((s) => s.name === `transformer.blocks.0.${n}`)!.shape;
  assert.deepEqual([shape("q_proj.weight"), shape("k_proj.weight"), shape("v_proj.weight")], [
    [16, 16],
    [4, 16],
    [4, 16],
  ]);
});

Deno.test("later options: invalid combinations fail naming the option", () => {
  const bad: [Partial<ModelConfig>, RegExp][] = [
    [{ n_heads: 4, n_kv_heads: 3 }, /n_kv_heads \(3\) must divide n_heads \(4\)/],
    [
      { n_heads: 4, n_kv_heads: 2, multi_query_attention: true },
      /n_kv_heads.*multi_query_attention/,
    ],
    [{ clip_qkv: 0 }, /clip_qkv/],
    [{ layer_norm_eps: 0 }, /layer_norm_eps/],
    [{ rope: true, rope_theta: -1 }, /rope_theta/],
    [{ norm_after: true, block_type: "parallel" }, /norm_after/],
    [{ emb_init_std: -0.1 }, /emb_init_std/],
  ];
  for (const [overrides, message] of bad) {
    assert.throws(() => new Olmo(tinyConfig(overrides), { init: false }), message);
  }
});

Deno.test("later options: emb_init_std and scale_emb_init set the wte init std", () => {
  const std = async (overrides: Partial<ModelConfig>) => {
    const model = new Olmo(
      tinyConfig({ d_model: 64, vocab_size: 2000, embedding_size: 2048, ...overrides }),
      { seed: 5 },
    );
    const data = (await model.params.get("transformer.wte.weight")!.data()) as Float32Array;
    model.dispose();
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    return Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length);
  };
  return (async () => {
    assert.ok(Math.abs(await std({}) / 0.02 - 1) < 0.05);
    assert.ok(Math.abs(await std({ emb_init_std: 0.5 }) / 0.5 - 1) < 0.05);
    // full_megatron truncates at 3 std (which lowers the std by ~1.3%).
    const megatron = await std({ init_fn: "full_megatron", scale_emb_init: true });
    assert.ok(Math.abs(megatron / (0.02 * 8) - 1) < 0.05, `${megatron}`);
  })();
});
