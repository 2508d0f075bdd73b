/**
 * The Hugging Face transformers OLMo layouts (`Olmo2ForCausalLM`, `OlmoForCausalLM`):
 * `deno task convert --to hf-olmo2` of OLMo's own `model.pt` gives the tensors and `config.json`
 * fields of OLMo's `convert_olmo2_to_hf.py` (the fixture's `hf/`); the round trip OLMo `model.pt`
 * → hf → olmo-ts → hf is bit for bit; `--to hf-olmo` round-trips an OLMo-1.7-shaped model (with
 * `clip_qkv` and GQA) and reproduces the JS reference logits; options a layout cannot represent
 * are errors naming them; sharded weights, bf16 weights, tokenizer files, Hub ids in the local
 * Hugging Face cache (and their URLs); bad folders fail naming the file and the tensor.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { cachedHubSnapshot, hubIdOf } from "../lib/checkpoint/hf_transformers/hub_cache.ts";
import { readHfTransformersFolder } from "../lib/checkpoint/hf_transformers/folder.ts";
import { readSafetensors, writeSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { Olmo } from "../mod.ts";
import { Rng } from "../lib/model/random.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import type { HostTensor, NamedHostTensors } from "../lib/util/host_tensor.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";
import { assertBitExact, assertExit, runCli } from "./_cli.ts";
import { tinyConfig } from "./_model_fixture.ts";
import { idsTensor, maxDiffNested, randomIds, randomizeParams } from "./_model_random.ts";
import { referenceForward } from "./_reference_olmo.ts";
import { FIXTURES_DIR, HAS_SHARED_V2, referenceV2CaseDir } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";
import { wordLevelTokenizerJson } from "./_train_fixture.ts";
import { saveTrainConfig } from "../lib/config/load.ts";
import { defaultTrainConfig } from "../lib/config/train_config.ts";

tf.env().set("PROD", true);

const OLMO2 = "olmo2-gqa";
/** Offline: no Hub downloads from the subprocesses. */
const OFFLINE = { HF_ENDPOINT: "http://127.0.0.1:9", NO_COLOR: "1" };

async function convert(input: string, output: string, to: string, extra: string[] = []) {
  const run = await runCli("convert.ts", [input, output, "--to", to, ...extra], OFFLINE);
  assertExit(run, 0);
  return run;
}

/** A folder with the case's config.yaml and OLMo's model.pt. */
async function modelPtFolder(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["config.yaml", "model.pt"]) {
    await Deno.copyFile(join(referenceV2CaseDir(OLMO2), f), join(dir, f));
  }
  return dir;
}

/** A copy of the fixture's `hf/` folder. */
async function hfFixtureCopy(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["config.json", "model.safetensors"]) {
    await Deno.copyFile(join(referenceV2CaseDir(OLMO2), "hf", f), join(dir, f));
  }
  return dir;
}

async function fixtureLogitsDiff(model: Olmo): Promise<number> {
  const forward =
    (await readSafetensors(join(referenceV2CaseDir(OLMO2), "forward.safetensors"))).tensors;
  const idsHost = forward.get("input_ids")!;
  const ids = tf.tensor2d(Int32Array.from(toFloat32(idsHost)), [2, 16], "int32");
  const logits = model.forward(ids).logits;
  const got = (await logits.data()) as Float32Array;
  const want = toFloat32(forward.get("logits")!);
  tf.dispose([ids, logits]);
  return got.reduce((w, v, i) => Math.max(w, Math.abs(v - want[i])), 0);
}

Deno.test({
  name:
    "convert --to hf-olmo2 of OLMo's model.pt equals OLMo's own converter; round trip bit-exact",
  ignore: !HAS_SHARED_V2,
  fn: () =>
    withTempDir(async (root) => {
      const src = await modelPtFolder(join(root, "olmo"));
      await convert(src, join(root, "hf"), "hf-olmo2");
      const fixture = join(referenceV2CaseDir(OLMO2), "hf");
      // Tensors: the same names and bits as convert_olmo2_to_hf.py wrote.
      const mine = (await readSafetensors(join(root, "hf", "model.safetensors"))).tensors;
      const theirs = (await readSafetensors(join(fixture, "model.safetensors"))).tensors;
      assertBitExact(mine, theirs, "hf-olmo2 tensors");
      // config.json: every field transformers wrote there, with its value.
      const myConfig = JSON.parse(await Deno.readTextFile(join(root, "hf", "config.json")));
      const theirConfig = JSON.parse(await Deno.readTextFile(join(fixture, "config.json")));
      for (const [k, v] of Object.entries(theirConfig)) assert.deepEqual(myConfig[k], v, k);
      // olmo-ts -> hf again: bit for bit.
      await convert(join(root, "hf"), join(root, "ts"), "olmo-ts");
      await convert(join(root, "ts"), join(root, "hf2"), "hf-olmo2");
      const again = (await readSafetensors(join(root, "hf2", "model.safetensors"))).tensors;
      assertBitExact(again, mine, "hf -> olmo-ts -> hf");
      // The olmo-ts folder loads to OLMo's logits.
      const model = await Olmo.fromCheckpoint(join(root, "ts"), { backend: "cpu" });
      const diff = await fixtureLogitsDiff(model);
      model.dispose();
      assert.ok(diff < 1e-4, `logits differ by ${diff}`);
    }),
});

Deno.test({
  name: "convert to a layout that cannot represent the model names the options",
  ignore: !HAS_SHARED_V2,
  fn: () =>
    withTempDir(async (root) => {
      const src = join(root, "clip");
      await Deno.mkdir(src);
      for (const f of ["config.yaml", "model.pt"]) {
        await Deno.copyFile(join(referenceV2CaseDir("clipqkv-embln-mqa-lion"), f), join(src, f));
      }
      const to2 = await runCli("convert.ts", [src, join(root, "a"), "--to", "hf-olmo2"], OFFLINE);
      assertExit(to2, 1);
      for (const option of ["clip_qkv", "embedding_layer_norm", "include_bias", "norm_after"]) {
        assert.match(to2.stderr, new RegExp(`${option}: `), to2.stderr);
      }
      assert.match(to2.stderr, /Olmo2ForCausalLM/);
      const to1 = await runCli("convert.ts", [src, join(root, "b"), "--to", "hf-olmo"], OFFLINE);
      assertExit(to1, 1);
      assert.match(to1.stderr, /OlmoForCausalLM.*activation_type: "gelu"/);
      assert.doesNotMatch(to1.stderr, /clip_qkv/); // OlmoForCausalLM has clip_qkv
      // A tokenizer with more tokens than the model has embedding rows.
      const olmo2 = await modelPtFolder(join(root, "olmo2"));
      const gpt2 = join(FIXTURES_DIR, "tokenizers", "gpt2.json");
      const tok = await runCli(
        "convert.ts",
        [olmo2, join(root, "c"), "--to", "hf-olmo2", "--tokenizer", gpt2],
        OFFLINE,
      );
      assertExit(tok, 1);
      assert.match(
        tok.stderr,
        /gpt2\.json has 50257 tokens, more than the model's 256 embedding rows/,
      );
      await Deno.remove(olmo2, { recursive: true });
      const nothing = await Array.fromAsync(Deno.readDir(root));
      assert.deepEqual(nothing.map((e) => e.name).sort(), ["clip"], "nothing half-written");
    }),
});

Deno.test("hf-olmo (OlmoForCausalLM): clip_qkv, GQA, non-affine LayerNorm round trip", () =>
  withTempDir(async (root) => {
    const config = tinyConfig({
      rope: true,
      include_bias: false,
      layer_norm_with_affine: false,
      n_heads: 4,
      n_kv_heads: 2,
      clip_qkv: 0.3,
      vocab_size: 40,
      embedding_size: 128,
    });
    const model = new Olmo(config, { seed: 1 });
    const state = randomizeParams(model, 11);
    const src = join(root, "ts");
    await Deno.mkdir(src);
    await saveTrainConfig({ ...defaultTrainConfig(), model: config }, join(src, "config.yaml"));
    await writeSafetensors(join(src, "model.safetensors"), state);
    await Deno.writeTextFile(join(src, "tokenizer.json"), wordLevelTokenizerJson(40));
    await convert(src, join(root, "hf"), "hf-olmo");
    const hfConfig = JSON.parse(await Deno.readTextFile(join(root, "hf", "config.json")));
    assert.equal(hfConfig.model_type, "olmo");
    assert.deepEqual(hfConfig.architectures, ["OlmoForCausalLM"]);
    assert.equal(hfConfig.clip_qkv, 0.3);
    assert.equal(hfConfig.num_key_value_heads, 2);
    assert.equal(hfConfig.intermediate_size, 16);
    assert.equal(hfConfig.vocab_size, 128);
    const names = [
      ...(await readSafetensors(join(root, "hf", "model.safetensors"))).tensors.keys(),
    ];
    assert.ok(names.includes("model.layers.1.mlp.gate_proj.weight"));
    assert.ok(!names.some((n) => n.includes("norm")), `no norm weights: ${names}`);
    assert.ok(!names.includes("lm_head.weight"), "tied: no lm_head");
    // Tokenizer files, and the tokenizer's vocab_size recovered on load.
    const tokConfig = JSON.parse(
      await Deno.readTextFile(join(root, "hf", "tokenizer_config.json")),
    );
    assert.equal(tokConfig.eos_token, "w39");
    const tokenizer = await Tokenizer.fromCheckpoint(join(root, "hf"));
    assert.equal(tokenizer.eosTokenId, 39);
    const loaded = await readHfTransformersFolder(join(root, "hf"));
    assert.equal(loaded.config.vocab_size, 40);
    assertBitExact(loaded.state, state, "hf-olmo -> OLMo names");
    // The folder runs as the JS reference says.
    const back = await Olmo.fromCheckpoint(join(root, "hf"), { backend: "cpu" });
    const ids = randomIds(new Rng(2), 2, 9, 40);
    const idsT = idsTensor(ids);
    const out = back.forward(idsT);
    const diff = await maxDiffNested(out.logits, referenceForward(config, state, ids));
    tf.dispose([idsT, out.logits]);
    back.dispose();
    model.dispose();
    assert.ok(diff < 1e-4, `logits differ from the reference by ${diff}`);
  }));

/** Splits a safetensors state into two shards with an index, as transformers writes them. */
async function shard(dir: string, tensors: NamedHostTensors): Promise<string[]> {
  const names = [...tensors.keys()];
  const files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
  const half = Math.ceil(names.length / 2);
  const weightMap: Record<string, string> = {};
  for (const [i, part] of [names.slice(0, half), names.slice(half)].entries()) {
    await writeSafetensors(join(dir, files[i]), part.map((n) => [n, tensors.get(n)!]));
    for (const n of part) weightMap[n] = files[i];
  }
  await Deno.writeTextFile(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
  );
  return files;
}

/** The upper 16 bits of float32 values (bf16), and their float32 values. */
function toBf16(t: HostTensor): { bf16: HostTensor; asF32: Float32Array } {
  const f = toFloat32(t);
  const words = new Uint16Array(new Uint32Array(f.buffer.slice(0)).map((w) => w >>> 16));
  const asF32 = new Float32Array(new Uint32Array(Array.from(words, (w) => w << 16)).buffer);
  return { bf16: { dtype: "bfloat16", shape: t.shape, data: words }, asF32 };
}

/** IEEE half-precision bit patterns of non-zero values that fp16 holds exactly (normal). */
function toFloat16Bits(values: Float32Array): Uint16Array {
  return Uint16Array.from(values, (v) => {
    const sign = v < 0 ? 0x8000 : 0;
    const a = Math.abs(v);
    const e = Math.floor(Math.log2(a));
    const mantissa = Math.round((a / 2 ** e - 1) * 1024);
    return sign | ((e + 15) << 10) | mantissa;
  });
}

Deno.test({
  name: "sharded, bf16 and fp16 transformers weights load; missing shard, wrong shape, model_type",
  ignore: !HAS_SHARED_V2,
  fn: () =>
    withTempDir(async (root) => {
      const fixture = join(referenceV2CaseDir(OLMO2), "hf");
      const tensors = (await readSafetensors(join(fixture, "model.safetensors"))).tensors;
      // Sharded, float32: OLMo's logits.
      const sharded = join(root, "sharded");
      await Deno.mkdir(sharded);
      await Deno.copyFile(join(fixture, "config.json"), join(sharded, "config.json"));
      const files = await shard(sharded, tensors);
      const model = await Olmo.fromCheckpoint(sharded, { backend: "cpu" });
      const diff = await fixtureLogitsDiff(model);
      model.dispose();
      assert.ok(diff < 1e-4, `sharded: logits differ by ${diff}`);

      // bf16: each value becomes its bf16 rounding (truncation here), as float32.
      const bf = join(root, "bf16");
      await Deno.mkdir(bf);
      await Deno.copyFile(join(fixture, "config.json"), join(bf, "config.json"));
      const expected = new Map<string, Float32Array>();
      const bfTensors: NamedHostTensors = new Map();
      for (const [n, t] of tensors) {
        const { bf16, asF32 } = toBf16(t);
        bfTensors.set(n, bf16);
        expected.set(n, asF32);
      }
      await writeSafetensors(join(bf, "model.safetensors"), bfTensors);
      const loaded = await readHfTransformersFolder(bf);
      const qkv = loaded.state.get("transformer.blocks.0.att_proj.weight")!;
      assert.equal(qkv.dtype, "float32");
      const q = expected.get("model.layers.0.self_attn.q_proj.weight")!;
      const v = expected.get("model.layers.0.self_attn.v_proj.weight")!;
      assert.deepEqual((qkv.data as Float32Array).subarray(0, q.length), q);
      assert.deepEqual((qkv.data as Float32Array).subarray(qkv.data.length - v.length), v);

      // fp16: values exactly representable in half precision come back unchanged.
      const half = join(root, "fp16");
      await Deno.mkdir(half);
      await Deno.copyFile(join(fixture, "config.json"), join(half, "config.json"));
      const halfTensors: NamedHostTensors = new Map();
      const rng = new Rng(4);
      const exact = new Map<string, Float32Array>();
      for (const [n, t] of tensors) {
        // ±k/1024 for 0 < k < 1024: exact in fp16 (sign, exponent, 10-bit mantissa).
        const values = Float32Array.from(
          { length: t.data.length },
          () => (rng.next() < 0.5 ? -1 : 1) * (1 + Math.floor(rng.next() * 1023)) / 1024,
        );
        exact.set(n, values);
        halfTensors.set(n, { dtype: "float16", shape: t.shape, data: toFloat16Bits(values) });
      }
      await writeSafetensors(join(half, "model.safetensors"), halfTensors);
      const fromHalf = await readHfTransformersFolder(half);
      assert.deepEqual(
        fromHalf.state.get("transformer.blocks.1.ff_out.weight")!.data,
        exact.get("model.layers.1.mlp.down_proj.weight"),
      );

      // A shard the index names is missing.
      await Deno.remove(join(sharded, files[1]));
      await assert.rejects(Olmo.fromCheckpoint(sharded, { backend: "cpu" }), (e: Error) => {
        assert.match(e.message, /model\.safetensors\.index\.json names shard model-00002/);
        assert.ok(e.message.includes(join(sharded, files[1])), e.message);
        return true;
      });

      // A tensor of the wrong shape.
      const shaped = join(root, "shape");
      await Deno.mkdir(shaped);
      await Deno.copyFile(join(fixture, "config.json"), join(shaped, "config.json"));
      const name = "model.layers.1.self_attn.k_norm.weight";
      const wrong = new Map(tensors).set(name, {
        dtype: "float32",
        shape: [64],
        data: new Float32Array(64),
      });
      await writeSafetensors(join(shaped, "model.safetensors"), wrong);
      await assert.rejects(Olmo.fromCheckpoint(shaped, { backend: "cpu" }), (e: Error) => {
        assert.ok(e.message.includes(join(shaped, "model.safetensors")), e.message);
        assert.match(
          e.message,
          /model\.layers\.1\.self_attn\.k_norm\.weight has shape \[64\], expected \[32\]/,
        );
        return true;
      });

      // A config.json of another model type.
      const llama = join(root, "llama");
      await hfFixtureCopy(llama);
      const json = JSON.parse(await Deno.readTextFile(join(llama, "config.json")));
      await Deno.writeTextFile(
        join(llama, "config.json"),
        JSON.stringify({ ...json, model_type: "llama" }),
      );
      await assert.rejects(Olmo.fromCheckpoint(llama, { backend: "cpu" }), (e: Error) => {
        assert.ok(e.message.includes(join(llama, "config.json")), e.message);
        assert.match(e.message, /model_type "llama"/);
        return true;
      });
    }),
});

Deno.test("Hub ids and huggingface.co URLs resolve to the local Hugging Face cache", () =>
  withTempDir(async (cache) => {
    assert.equal(hubIdOf("allenai/OLMo-2-0425-1B"), "allenai/OLMo-2-0425-1B");
    assert.equal(
      hubIdOf("https://huggingface.co/allenai/OLMo-2-0425-1B"),
      "allenai/OLMo-2-0425-1B",
    );
    assert.equal(hubIdOf("https://example.com/allenai/OLMo"), null);
    assert.equal(hubIdOf("../x/y"), null);
    const repo = join(cache, "models--allenai--OLMo-2-0425-1B");
    await Deno.mkdir(join(repo, "snapshots", "abc"), { recursive: true });
    await Deno.mkdir(join(repo, "refs"));
    await Deno.writeTextFile(join(repo, "refs", "main"), "abc\n");
    await Deno.writeTextFile(join(repo, "snapshots", "abc", "config.json"), "{}");
    assert.equal(
      cachedHubSnapshot("allenai/OLMo-2-0425-1B", cache),
      join(repo, "snapshots", "abc"),
    );
    assert.equal(cachedHubSnapshot("allenai/other", cache), null);
    // An id that is nowhere: the error says where the Hugging Face cache was searched.
    await assert.rejects(
      Olmo.fromCheckpoint("olmo-ts-test/no-such-model", { backend: "cpu" }),
      /olmo-ts-test\/no-such-model a model in the local Hugging Face cache .*huggingface-cli download/,
    );
  }));

Deno.test({
  name: "deno task generate --checkpoint on an OLMo 2 folder, a cached Hub id and its URL",
  ignore: !HAS_SHARED_V2,
  fn: () =>
    withTempDir(async (cache) => {
      const record = JSON.parse(
        await Deno.readTextFile(join(referenceV2CaseDir(OLMO2), "generate.json")),
      );
      const snapshot = join(cache, "models--test--olmo2", "snapshots", "0123");
      await hfFixtureCopy(snapshot);
      const env = { ...OFFLINE, HF_HUB_CACHE: cache, OLMO_TS_CACHE: join(cache, "olmo-ts") };
      const prompt = (record.prompt[0] as number[]).join(" ");
      const best = `${(record.token_ids[0][0] as number[]).join(" ")}\n`;
      for (const checkpoint of [snapshot, "test/olmo2", "https://huggingface.co/test/olmo2"]) {
        const run = await runCli("generate.ts", [
          "--checkpoint",
          checkpoint,
          "--backend",
          "cpu",
          "--beam-size",
          "3",
          "--max-steps",
          "6",
          "--token-ids",
          prompt,
        ], env);
        assertExit(run, 0);
        assert.equal(run.stdout, best, checkpoint);
      }
      // Text prompts need the folder's tokenizer.json, and the error says so.
      const text = await runCli("generate.ts", ["--checkpoint", snapshot, "hello"], env);
      assertExit(text, 1);
      assert.match(text.stderr, /has no tokenizer\.json/);
    }),
});
