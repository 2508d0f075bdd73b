/**
 * State-dict names, order and loading: OLMo's registration order (from the fixtures' `model.pt`
 * pickles), `_make_state_dict_compatible` renames, strict loading errors and dtype conversion.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { makeStateDictCompatible, Olmo } from "../lib/model/mod.ts";
import type { HostTensor, NamedHostTensors } from "../lib/util/host_tensor.ts";
import { loadCaseModelConfig, tinyConfig } from "./_model_fixture.ts";
import { HAS_SHARED, referenceCaseDir } from "./_shared.ts";

tf.env().set("PROD", true);

/** Key order of each case's `model.pt` pickle (OLMo's `state_dict()` order). */
const PT_ORDER: Record<string, string[]> = {
  "rope-swiglu-seq": [
    "transformer.wte.weight",
    "transformer.ln_f.weight",
    ...[0, 1].flatMap((i) =>
      ["attn_out", "ff_out", "attn_norm", "ff_norm", "att_proj", "ff_proj"].map((m) =>
        `transformer.blocks.${i}.${m}.weight`
      )
    ),
    "transformer.ff_out.weight",
  ],
  "alibi-mqa-parallel-gelu": [
    "transformer.wte.weight",
    "transformer.ln_f.weight",
    "transformer.ln_f.bias",
    ...[0, 1].flatMap((i) =>
      ["attn_out", "ff_out", "norm", "fused_attn_ff_proj"].flatMap((m) => [
        `transformer.blocks.${i}.${m}.weight`,
        `transformer.blocks.${i}.${m}.bias`,
      ])
    ),
  ],
};

for (const [name, order] of Object.entries(PT_ORDER)) {
  Deno.test({
    name: `${name}: parameter names, shapes and order equal OLMo's state dict`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const dir = referenceCaseDir(name);
      const model = new Olmo(await loadCaseModelConfig(dir), { init: false });
      assert.deepEqual([...model.params.keys()], order);
      const source = (await readSafetensors(join(dir, "model.safetensors"))).tensors;
      model.loadStateDict(source);
      const back = await model.stateDict();
      assert.deepEqual([...back.keys()], order);
      for (const [key, t] of source) {
        assert.deepEqual(back.get(key)!.shape, t.shape, key);
        assert.deepEqual(back.get(key)!.data, t.data, key);
      }
      model.dispose();
    },
  });
}

const host = (shape: number[], fill = 0): HostTensor => ({
  dtype: "float32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill),
});

Deno.test("compat: strips _fsdp_wrapped_module. and splits legacy norm for sequential only", () => {
  const norm = host([4], 2);
  const state = new Map([
    ["_fsdp_wrapped_module.transformer.wte.weight", host([2, 4])],
    ["transformer._fsdp_wrapped_module.blocks.0.norm.weight", norm],
    ["transformer.blocks.0.norm.bias", host([4])],
  ]);
  const seq = makeStateDictCompatible(state, { block_type: "sequential", block_group_size: 1 });
  assert.deepEqual([...seq.state.keys()].sort(), [
    "transformer.blocks.0.attn_norm.bias",
    "transformer.blocks.0.attn_norm.weight",
    "transformer.blocks.0.ff_norm.bias",
    "transformer.blocks.0.ff_norm.weight",
    "transformer.wte.weight",
  ]);
  assert.equal(seq.state.get("transformer.blocks.0.ff_norm.weight"), norm);
  assert.deepEqual(
    [...seq.ogKeysToNew.get("transformer._fsdp_wrapped_module.blocks.0.norm.weight")!].sort(),
    ["transformer.blocks.0.attn_norm.weight", "transformer.blocks.0.ff_norm.weight"],
  );
  const par = makeStateDictCompatible(state, { block_type: "parallel", block_group_size: 1 });
  assert.ok(par.state.has("transformer.blocks.0.norm.weight"));
  assert.equal(state.size, 3, "the input map is not modified");
});

Deno.test("compat: regroups blocks.N ↔ block_groups.G.J between group sizes", () => {
  const grouped = new Map<string, HostTensor>();
  for (let n = 0; n < 6; n++) {
    grouped.set(
      `transformer.block_groups.${Math.floor(n / 3)}.${n % 3}.attn_out.weight`,
      host([1], n),
    );
  }
  const flat = makeStateDictCompatible(grouped, { block_type: "sequential", block_group_size: 1 });
  for (let n = 0; n < 6; n++) {
    assert.equal(flat.state.get(`transformer.blocks.${n}.attn_out.weight`)!.data[0], n);
  }
  const regrouped = makeStateDictCompatible(grouped, {
    block_type: "sequential",
    block_group_size: 2,
  });
  assert.equal(regrouped.state.get("transformer.block_groups.2.1.attn_out.weight")!.data[0], 5);
  assert.deepEqual(
    [...regrouped.ogKeysToNew.get("transformer.block_groups.1.0.attn_out.weight")!],
    ["transformer.block_groups.1.1.attn_out.weight"],
  );
});

Deno.test("loadStateDict: errors name missing, unexpected and mis-shaped tensors", async () => {
  const model = new Olmo(tinyConfig(), { seed: 1 });
  const good = await model.stateDict();
  const without = new Map(good);
  without.delete("transformer.blocks.1.ff_proj.bias");
  assert.throws(
    () => model.loadStateDict(without),
    /missing: transformer\.blocks\.1\.ff_proj\.bias/,
  );
  const extra = new Map(good).set("transformer.extra.weight", host([3]));
  assert.throws(() => model.loadStateDict(extra), /unexpected: transformer\.extra\.weight/);
  const wrong = new Map(good).set("transformer.ln_f.weight", host([15], 3));
  assert.throws(
    () => model.loadStateDict(wrong),
    /transformer\.ln_f\.weight has shape \[15\].*\[16\]/,
  );
  // Nothing was assigned by the failed loads; non-strict loading skips missing/unexpected.
  const ln = model.params.get("transformer.ln_f.weight")!;
  assert.ok((await ln.data()).every((v) => v === 1));
  const partial: NamedHostTensors = new Map([
    ["transformer.ln_f.weight", host([16], 3)],
    ["transformer.unknown", host([1])],
  ]);
  model.loadStateDict(partial, { strict: false });
  assert.ok((await ln.data()).every((v) => v === 3));
  assert.throws(() => model.loadStateDict(wrong, { strict: false }), /ln_f\.weight has shape/);
  model.dispose();
});

Deno.test("loadStateDict converts bfloat16, float16 and integer tensors to float32", async () => {
  const model = new Olmo(tinyConfig(), { seed: 1 });
  const state = await model.stateDict();
  // 1.5 is 0x3fc0 in bfloat16 and 0x3e00 in float16.
  state.set("transformer.ln_f.weight", {
    dtype: "bfloat16",
    shape: [16],
    data: new Uint16Array(16).fill(0x3fc0),
  });
  state.set("transformer.ln_f.bias", {
    dtype: "float16",
    shape: [16],
    data: new Uint16Array(16).fill(0x3e00),
  });
  state.set("transformer.blocks.0.attn_out.bias", {
    dtype: "int64",
    shape: [16],
    data: new BigInt64Array(16).fill(-2n),
  });
  model.loadStateDict(state);
  assert.ok((await model.params.get("transformer.ln_f.weight")!.data()).every((v) => v === 1.5));
  assert.ok((await model.params.get("transformer.ln_f.bias")!.data()).every((v) => v === 1.5));
  const bias = await model.params.get("transformer.blocks.0.attn_out.bias")!.data();
  assert.ok(bias.every((v) => v === -2));
  model.dispose();
});
