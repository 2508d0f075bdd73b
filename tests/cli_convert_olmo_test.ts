/**
 * `cli/convert.ts` on OLMo's reference checkpoints (spec §2.9, §7.5): OLMo's `model.pt` folders
 * convert to olmo-ts folders that reproduce OLMo's logits; the hf_olmo layout has the expected
 * files and config.json fields and loads back; URL inputs are downloaded and converted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadCheckpoint, readTorchStateDict } from "../lib/checkpoint/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { Olmo } from "../lib/facade/olmo.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";
import { assertBitExact, assertExit, listDir, runCli } from "./_cli.ts";
import { loadCaseModelConfig } from "./_model_fixture.ts";
import { FIXTURES_DIR, HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir } from "./_shared.ts";

const TOLERANCE = 1e-4;

/** A minimal word-level tokenizer.json with `size` tokens, the last one `<|endoftext|>`. */
function wordTokenizer(size: number): string {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < size - 1; i++) vocab[`w${i}`] = i;
  vocab["<|endoftext|>"] = size - 1;
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: size - 1,
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "w0" },
  });
}

/** `forward.safetensors` logits of a case vs a model loaded by `Olmo.fromCheckpoint`. */
async function assertReproducesLogits(dir: string, caseDir: string): Promise<void> {
  const forward = (await readSafetensors(join(caseDir, "forward.safetensors"))).tensors;
  const model = await Olmo.fromCheckpoint(dir, { backend: "cpu" });
  const idsHost = forward.get("input_ids")!;
  const ids = tf.tensor2d(
    Int32Array.from(toFloat32(idsHost)),
    idsHost.shape as [number, number],
    "int32",
  );
  const out = model.forward(ids);
  const got = await out.logits.data();
  const want = toFloat32(forward.get("logits")!);
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst < TOLERANCE, `${dir}: logits differ by ${worst}`);
  tf.dispose([ids, out.logits]);
  model.dispose();
}

/** An OLMo unsharded folder (config.yaml + model.pt only) made from a reference case. */
async function olmoFolder(root: string, caseName: string): Promise<string> {
  const caseDir = referenceCaseDir(caseName);
  const dir = join(root, `${caseName}-olmo`);
  await Deno.mkdir(dir);
  for (const f of ["config.yaml", "model.pt"]) await Deno.copyFile(join(caseDir, f), join(dir, f));
  return dir;
}

for (const caseName of OLMO_REFERENCE_CASES) {
  Deno.test({
    name: `convert: OLMo's ${caseName} model.pt -> olmo-ts reproduces OLMo's logits`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const root = await Deno.makeTempDir();
      const caseDir = referenceCaseDir(caseName);
      const src = await olmoFolder(root, caseName);
      const out = join(root, "ts");
      const res = await runCli("convert.ts", [src, out, "--to", "olmo-ts"]);
      assertExit(res, 0);
      assert.match(res.stdout, /\(olmo\) -> .* \(olmo-ts\)/);
      assert.deepEqual(listDir(out), ["config.yaml", "model.safetensors"]);
      const reference = (await readSafetensors(join(caseDir, "model.safetensors"))).tensors;
      assertBitExact(
        (await readSafetensors(join(out, "model.safetensors"))).tensors,
        reference,
        "",
      );
      await assertReproducesLogits(out, caseDir);
      await Deno.remove(root, { recursive: true });
    },
  });
}

Deno.test({
  name: "convert: the hf layout has OLMo's files and config.json fields, and loads back",
  ignore: !HAS_SHARED,
  fn: async () => {
    const root = await Deno.makeTempDir();
    const caseName = OLMO_REFERENCE_CASES[0];
    const caseDir = referenceCaseDir(caseName);
    const config = await loadCaseModelConfig(caseDir);
    const src = await olmoFolder(root, caseName);
    const tokenizerPath = join(root, "tokenizer.json");
    await Deno.writeTextFile(tokenizerPath, wordTokenizer(config.vocab_size));
    const hf = join(root, "hf");
    const res = await runCli("convert.ts", [src, hf, "--to", "hf", "--tokenizer", tokenizerPath]);
    assertExit(res, 0);
    assert.deepEqual(listDir(hf), [
      "config.json",
      "config.yaml",
      "model.pt",
      "model.safetensors",
      "special_tokens_map.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    const json = JSON.parse(await Deno.readTextFile(join(hf, "config.json")));
    assert.equal(json.model_type, "olmo");
    assert.equal(json.use_cache, true);
    assert.deepEqual(json.architectures, ["OlmoModelForCausalLM"]);
    const { model_type: _t, use_cache: _c, architectures: _a, ...fields } = json;
    assert.deepEqual(fields, { ...config });
    assert.deepEqual(Object.keys(json), Object.keys(json).sort(), "keys sorted as HF writes them");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(hf, "tokenizer_config.json"))), {
      eos_token: "<|endoftext|>",
      max_length: null,
      tokenizer_class: "OLMoTokenizer",
      truncation: "right",
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(hf, "special_tokens_map.json"))), {
      eos_token: "<|endoftext|>",
    });
    assert.equal(
      await Deno.readTextFile(join(hf, "tokenizer.json")),
      await Deno.readTextFile(tokenizerPath),
    );
    const reference = (await readSafetensors(join(caseDir, "model.safetensors"))).tensors;
    assertBitExact(await readTorchStateDict(join(hf, "model.pt")), reference, "hf model.pt");
    const st = await readSafetensors(join(hf, "model.safetensors"));
    assertBitExact(st.tensors, reference, "hf model.safetensors");
    assert.deepEqual(st.metadata, { format: "pt" });
    await assertReproducesLogits(hf, caseDir);

    // Back to olmo-ts: detected as hf, and its tokenizer.json comes along.
    const back = join(root, "back");
    const res2 = await runCli("convert.ts", [hf, back, "--to", "olmo-ts"]);
    assertExit(res2, 0);
    assert.match(res2.stdout, /\(hf\) -> .* \(olmo-ts\)/);
    assert.deepEqual(listDir(back), ["config.yaml", "model.safetensors", "tokenizer.json"]);
    assertBitExact(
      (await loadCheckpoint(back, { loadOptimizerState: false })).model,
      reference,
      "",
    );

    // A tokenizer of another vocabulary size is refused (OLMo's check).
    const gpt2 = join(FIXTURES_DIR, "tokenizers", "gpt2.json");
    const mismatch = await runCli("convert.ts", [
      src,
      join(root, "x"),
      "--to",
      "hf",
      "--tokenizer",
      gpt2,
    ]);
    assertExit(mismatch, 1);
    assert.match(mismatch.stderr, /50257 tokens but model\.vocab_size is 250/);
    // Without any tokenizer to be found: a warning, and the weights and config.json still.
    const offline = { OLMO_TS_CACHE: root, HF_HOME: root, HF_ENDPOINT: "http://127.0.0.1:9" };
    const bare = join(root, "bare");
    const res3 = await runCli("convert.ts", [src, bare, "--to", "hf"], offline);
    assertExit(res3, 0);
    assert.match(res3.stderr, /warning: no tokenizer written .*--tokenizer PATH/);
    assert.deepEqual(listDir(bare), [
      "config.json",
      "config.yaml",
      "model.pt",
      "model.safetensors",
    ]);
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test({
  name: "convert: a URL input is downloaded (config.yaml + model.pt) and converted",
  ignore: !HAS_SHARED,
  fn: async () => {
    const root = await Deno.makeTempDir();
    const caseDir = referenceCaseDir(OLMO_REFERENCE_CASES[1]);
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      async (req) => {
        const name = new URL(req.url).pathname.split("/").pop()!;
        if (!["config.yaml", "model.pt"].includes(name)) return new Response("", { status: 404 });
        return new Response(await Deno.readFile(join(caseDir, name)));
      },
    );
    try {
      const url = `http://127.0.0.1:${server.addr.port}/ckpt/step100-unsharded`;
      const out = join(root, "ts");
      const res = await runCli("convert.ts", [url, out, "--to", "olmo-ts"], {
        OLMO_TS_CACHE: join(root, "cache"),
      });
      assertExit(res, 0);
      assert.match(res.stdout, /\(olmo\) -> .* \(olmo-ts\)/);
      const reference = (await readSafetensors(join(caseDir, "model.safetensors"))).tensors;
      assertBitExact(
        (await loadCheckpoint(out, { loadOptimizerState: false })).model,
        reference,
        "",
      );
    } finally {
      await server.shutdown();
    }
    await Deno.remove(root, { recursive: true });
  },
});
