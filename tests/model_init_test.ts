/**
 * Parameter and FLOP counts (spec §2.8), weight initialisation (§2.7) and construction
 * validation (§2.1).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { defaultModelConfig } from "../lib/config/model_config.ts";
import { countParams, numFwdFlops, Olmo, trainFlopsPerToken } from "../lib/model/mod.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";
import { tinyConfig } from "./_model_fixture.ts";
import { erfReference } from "./_reference_olmo.ts";

tf.env().set("PROD", true);

/** OLMo's `test_fixtures/test-olmo-model` architecture. */
const FIXTURE_D32: ModelConfig = {
  ...defaultModelConfig(),
  d_model: 32,
  n_heads: 1,
  n_layers: 1,
  mlp_ratio: 4,
  max_sequence_length: 1024,
};
/** OLMo's `conftest.py` model_config. */
const CONFTEST: ModelConfig = {
  ...defaultModelConfig(),
  d_model: 128,
  n_heads: 2,
  n_layers: 3,
  max_sequence_length: 512,
};
const C4_TINY: ModelConfig = {
  ...defaultModelConfig(),
  d_model: 1024,
  n_heads: 16,
  n_layers: 16,
  mlp_ratio: 8,
  alibi: true,
  multi_query_attention: true,
  layer_norm_type: "low_precision",
};
const C4_SMALL: ModelConfig = {
  ...C4_TINY,
  d_model: 2048,
  max_sequence_length: 2048,
  attention_layer_norm: true,
};

Deno.test("parameter counts match the spec's worked examples (§2.8)", () => {
  const cases: [ModelConfig, number, number][] = [
    [FIXTURE_D32, 1_653_216, 10_720],
    [CONFTEST, 7_001_216, 496_768],
    [C4_TINY, 288_739_328, 237_228_032],
    [C4_SMALL, 1_051_504_640, 948_482_048],
  ];
  for (const [config, total, nonEmbedding] of cases) {
    assert.equal(countParams(config), total);
    assert.equal(countParams(config, { includeEmbedding: false }), nonEmbedding);
  }
  const model = new Olmo(FIXTURE_D32, { seed: 0 });
  assert.equal(model.numParams(), 1_653_216);
  assert.equal(model.numParams({ includeEmbedding: false }), 10_720);
  // 2·N·S + L·2·2·d·S² and 6·N + 12·L·d·S, computed by hand for the d32 fixture.
  assert.equal(model.numFwdFlops(), 3_520_004_096);
  assert.equal(numFwdFlops(FIXTURE_D32), 3_520_004_096);
  assert.equal(model.trainFlopsPerToken(), 10_312_512);
  assert.equal(trainFlopsPerToken(FIXTURE_D32, 1024), 10_312_512);
  model.dispose();
});

// d 256, 4 layers, swiglu hidden 1024 (ff_out input 512), untied output.
const INIT_BASE = tinyConfig({
  d_model: 256,
  n_heads: 4,
  n_layers: 4,
  mlp_ratio: 4,
  vocab_size: 1000,
  embedding_size: 1024,
  max_sequence_length: 64,
  weight_tying: false,
});

function stats(state: NamedHostTensors, name: string): { std: number; maxAbs: number } {
  const data = state.get(name)!.data as Float32Array;
  let sum = 0;
  let sq = 0;
  let maxAbs = 0;
  for (const v of data) {
    sum += v;
    sq += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / data.length;
  return { std: Math.sqrt(sq / data.length - mean * mean), maxAbs };
}

/** Std of N(0, 1) truncated to ±c. */
function truncatedStdFactor(c: number): number {
  const pdf = Math.exp(-c * c / 2) / Math.sqrt(2 * Math.PI);
  return Math.sqrt(1 - (2 * c * pdf) / erfReference(c / Math.SQRT2));
}

async function initState(overrides: Partial<ModelConfig>, seed = 1): Promise<NamedHostTensors> {
  const model = new Olmo({ ...INIT_BASE, ...overrides }, { seed });
  const state = await model.stateDict();
  model.dispose();
  return state;
}

function expectStd(
  state: NamedHostTensors,
  name: string,
  std: number,
  cutoffFactor: number | null = null,
) {
  const s = stats(state, name);
  const expected = cutoffFactor === null ? std : std * truncatedStdFactor(cutoffFactor);
  assert.ok(Math.abs(s.std / expected - 1) < 0.03, `${name}: std ${s.std}, expected ${expected}`);
  if (cutoffFactor !== null) {
    assert.ok(s.maxAbs <= cutoffFactor * std * (1 + 1e-6), `${name}: |w| up to ${s.maxAbs}`);
  } else {
    assert.ok(s.maxAbs > 3.5 * std, `${name}: not truncated, yet max |w| is ${s.maxAbs}`);
  }
}

const B = "transformer.blocks.";

Deno.test("init normal: init_std, residual ff_out / sqrt(2·n_layers), LN ones, zero biases", async () => {
  const s = await initState({ init_fn: "normal", init_std: 0.02 });
  expectStd(s, "transformer.wte.weight", 0.02);
  expectStd(s, "transformer.wpe.weight", 0.02);
  expectStd(s, "transformer.ff_out.weight", 0.02);
  expectStd(s, `${B}1.att_proj.weight`, 0.02);
  expectStd(s, `${B}1.attn_out.weight`, 0.02); // attn_out is not flagged residual
  expectStd(s, `${B}1.ff_proj.weight`, 0.02);
  expectStd(s, `${B}2.ff_out.weight`, 0.02 / Math.sqrt(8));
  assert.ok((s.get(`${B}0.attn_norm.weight`)!.data as Float32Array).every((v) => v === 1));
  assert.ok((s.get(`${B}0.att_proj.bias`)!.data as Float32Array).every((v) => v === 0));
  assert.ok((s.get("transformer.ln_f.bias")!.data as Float32Array).every((v) => v === 0));
});

Deno.test("init normal with init_cutoff_factor truncates at ±factor·std", async () => {
  const s = await initState({ init_fn: "normal", init_std: 0.05, init_cutoff_factor: 1.5 });
  expectStd(s, `${B}0.att_proj.weight`, 0.05, 1.5);
  expectStd(s, "transformer.wte.weight", 0.05, 1.5);
  // Truncated first, then divided by sqrt(2·n_layers).
  expectStd(s, `${B}3.ff_out.weight`, 0.05 / Math.sqrt(8), 1.5);
});

Deno.test("init normal with scale_logits: wte std × 0.5·sqrt(d_model)", async () => {
  const s = await initState({ init_fn: "normal", init_std: 0.02, scale_logits: true });
  expectStd(s, "transformer.wte.weight", 0.02 * 0.5 * 16);
  expectStd(s, `${B}0.att_proj.weight`, 0.02);
});

Deno.test("init mitchell: 1/sqrt(d), depth-scaled outputs, truncated at 3 std", async () => {
  const s = await initState({ init_fn: "mitchell" });
  expectStd(s, "transformer.wte.weight", 1 / 16, 3);
  expectStd(s, `${B}0.att_proj.weight`, 1 / 16, 3);
  expectStd(s, `${B}2.attn_out.weight`, 1 / 16 / Math.sqrt(2 * 3), 3);
  expectStd(s, `${B}3.ff_out.weight`, 1 / Math.sqrt(512) / Math.sqrt(2 * 4), 3);
  expectStd(s, `${B}0.ff_proj.weight`, 1 / 16, 3);
});

Deno.test("init kaiming_normal: sqrt(2 / fan_in)", async () => {
  const s = await initState({ init_fn: "kaiming_normal" });
  expectStd(s, `${B}0.att_proj.weight`, Math.sqrt(2 / 256));
  expectStd(s, `${B}1.ff_out.weight`, Math.sqrt(2 / 512));
  expectStd(s, "transformer.wte.weight", Math.sqrt(2 / 256));
});

Deno.test("init fan_in: std_factor / sqrt(d), untruncated", async () => {
  const s = await initState({ init_fn: "fan_in" });
  expectStd(s, `${B}0.att_proj.weight`, 1 / 16);
  expectStd(s, `${B}3.attn_out.weight`, 1 / 16);
  expectStd(s, `${B}1.ff_out.weight`, 1 / Math.sqrt(512));
});

Deno.test("init full_megatron: per-module std, truncated at init_cutoff_factor or 3", async () => {
  const s = await initState({ init_fn: "full_megatron", init_std: 0.02 });
  expectStd(s, `${B}0.att_proj.weight`, 0.02, 3);
  expectStd(s, `${B}0.ff_proj.weight`, 0.02, 3);
  expectStd(s, `${B}1.attn_out.weight`, 0.02 / Math.sqrt(8), 3);
  expectStd(s, `${B}1.ff_out.weight`, 0.02 / Math.sqrt(8), 3);
  expectStd(s, "transformer.wte.weight", 0.02, 3);
  expectStd(s, "transformer.ff_out.weight", 1 / 16, 3);
  const s2 = await initState({ init_fn: "full_megatron", init_cutoff_factor: 2 });
  expectStd(s2, `${B}0.att_proj.weight`, 0.02, 2);
  // init_std other than the default 0.02 scales in / out / emb, not final_out.
  const s3 = await initState({ init_fn: "full_megatron", init_std: 0.05 });
  expectStd(s3, `${B}0.ff_proj.weight`, 0.05, 3);
  expectStd(s3, `${B}2.attn_out.weight`, 0.05 / Math.sqrt(8), 3);
  expectStd(s3, "transformer.wte.weight", 0.05, 3);
  expectStd(s3, "transformer.ff_out.weight", 1 / 16, 3);
});

Deno.test("init is deterministic for a seed and differs across seeds", async () => {
  const config = tinyConfig();
  const [a, b, c] = [1, 1, 2].map((seed) => new Olmo(config, { seed }));
  const [sa, sb, sc] = await Promise.all([a, b, c].map((m) => m.stateDict()));
  for (const [name, t] of sa) assert.deepEqual(t.data, sb.get(name)!.data, name);
  assert.notDeepEqual(
    sa.get("transformer.wte.weight")!.data,
    sc.get("transformer.wte.weight")!.data,
  );
  [a, b, c].forEach((m) => m.dispose());
  const zero = new Olmo(config, { init: false });
  const z = await zero.stateDict();
  assert.ok((z.get("transformer.wte.weight")!.data as Float32Array).every((v) => v === 0));
  zero.dispose();
});

Deno.test("construction errors name the offending field (§2.1)", () => {
  const cases: [Partial<ModelConfig>, RegExp][] = [
    [{ alibi: true, rope: true }, /alibi.*rope.*mutually exclusive/],
    [{ alibi: true, flash_attention: true }, /alibi.*flash_attention/],
    [{ vocab_size: 50, embedding_size: 48 }, /embedding_size \(48\).*vocab_size \(50\)/],
    [{ n_layers: 4, block_group_size: 3 }, /block_group_size \(3\)/],
    [{ n_layers: 2, block_group_size: 0 }, /block_group_size \(0\)/],
    [{ d_model: 18, n_heads: 4 }, /d_model \(18\).*n_heads \(4\)/],
    [{ mlp_hidden_size: 21 }, /mlp_hidden_size.*odd/],
    [{ activation_type: "tanh" as "gelu" }, /activation_type/],
    [{ layer_norm_type: "batch" as "rms" }, /layer_norm_type/],
    [{ init_fn: "full_megatron", block_type: "llama" }, /init_fn/],
    [{ n_layers: 0 }, /n_layers/],
    [{ residual_dropout: 1.5 }, /residual_dropout/],
    [{ init_cutoff_factor: -1 }, /init_cutoff_factor/],
  ];
  for (const [overrides, pattern] of cases) {
    assert.throws(() => new Olmo(tinyConfig(overrides)), pattern, JSON.stringify(overrides));
  }
});
