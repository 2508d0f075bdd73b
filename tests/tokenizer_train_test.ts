import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import { Tokenizer as NativeTokenizer } from "tokenizers";
import { ByteLevelBpeTrainer } from "../lib/tokenizer/bpe_trainer.ts";
import { BYTE_TO_CHAR } from "../lib/tokenizer/byte_level.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { FIXTURES_DIR, HAS_SHARED, REPO_ROOT } from "./_shared.ts";

const HARD_TEXT =
  "Hello wörld — naïve café 😀! … <|endoftext|> ok\n\ttabs \x00\x01 Привет 漢字 z̷a̷l̷g̷o";

type Json = { model: { vocab: Record<string, number>; merges: string[] }; added_tokens: unknown[] };

function train(texts: string[], vocabSize: number, minFrequency?: number): Json {
  const trainer = new ByteLevelBpeTrainer();
  for (const t of texts) trainer.addText(t);
  return trainer.train({ vocabSize, minFrequency }) as unknown as Json;
}

Deno.test("BPE merges on a hand-worked example (counts, tie-break, min frequency)", () => {
  // Pre-tokens: "low" x1, " low" x2, " lower", " lowest". (l,o) and (o,w) both occur 5 times:
  // the smaller pair (108,111) wins; then (lo,w); then (Ġ,low) 4x; then (Ġlow,e) 2x; the rest 1x.
  const json = train(["low low low lower lowest"], 1000);
  assert.deepEqual(json.model.merges, ["l o", "lo w", "Ġ low", "Ġlow e"]);
  const vocab = json.model.vocab;
  assert.equal(Object.keys(vocab).length, 256 + 4 + 2);
  assert.deepEqual([vocab["lo"], vocab["low"], vocab["Ġlow"], vocab["Ġlowe"]], [
    256,
    257,
    258,
    259,
  ]);
  assert.deepEqual([vocab["<|padding|>"], vocab["<|endoftext|>"]], [260, 261]);
  // With min frequency 1 the next merge is the smallest count-1 pair: (s,t) = (115,116).
  const more = train(["low low low lower lowest"], 256 + 5 + 2, 1);
  assert.deepEqual(more.model.merges, ["l o", "lo w", "Ġ low", "Ġlow e", "s t"]);
  assert.equal(Object.keys(more.model.vocab).length, 263);
});

Deno.test("trained tokenizer.json loads in both HF libraries with identical ids", async () => {
  const json = train(["low low low lower lowest"], 1000);
  const text = JSON.stringify(json);
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(path, text);
    const js = new JsTokenizer(json, {});
    const native = NativeTokenizer.fromFile(path);
    assert.equal(native.getVocabSize(true), 262);
    for (const s of ["lowest", " lower low", HARD_TEXT]) {
      const ids = js.encode(s).ids;
      assert.deepEqual(Array.from((await native.encode(s)).getIds()), ids, s);
      assert.equal(
        js.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
        s,
      );
    }
    // "lowest" without a leading space: l·o → lo, lo·w → low, then bytes e, s, t.
    assert.deepEqual(js.encode("lowest").ids, [257, 101, 115, 116]);
    // The special token in running text is one id, the last one (OLMo's default EOS).
    const tok = new Tokenizer(text);
    assert.equal(tok.eosTokenId, 261);
    assert.equal(tok.padTokenId, 261);
    assert.equal(tok.tokenToId("<|padding|>"), 260);
    assert.ok(tok.encode(HARD_TEXT, { addSpecialTokens: false }).includes(261));
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test({
  name: "training on C4: all 256 bytes present, exact round trips, native parity, deterministic",
  ignore: !HAS_SHARED,
  fn: async () => {
    const docs: string[] = [];
    for (const name of ["c4-sample.01.json.gz", "c4-sample.02.json.gz"]) {
      const text = new TextDecoder().decode(
        gunzipSync(Deno.readFileSync(join(FIXTURES_DIR, "c4", name))),
      );
      for (const line of text.split("\n")) if (line.trim()) docs.push(JSON.parse(line).text);
    }
    const json = train(docs, 1024);
    assert.deepEqual(json, train(docs, 1024), "training is deterministic");
    const vocab = json.model.vocab;
    assert.equal(Object.keys(vocab).length, 1024);
    for (let b = 0; b < 256; b++) assert.equal(vocab[BYTE_TO_CHAR[b]], b, `byte ${b}`);
    const path = Deno.makeTempFileSync({ suffix: ".json" });
    try {
      Deno.writeTextFileSync(path, JSON.stringify(json));
      const tok = Tokenizer.fromFile(path);
      const native = NativeTokenizer.fromFile(path);
      assert.equal(tok.vocabSize, 1024);
      assert.equal(tok.idToToken(1023), "<|endoftext|>");
      for (const doc of [...docs, HARD_TEXT]) {
        const ids = tok.encode(doc, { addSpecialTokens: false });
        assert.deepEqual(Array.from((await native.encode(doc)).getIds()), ids);
        assert.equal(tok.decode(ids, { skipSpecialTokens: false }), doc);
        assert.ok(ids.every((id) => id < 1024));
      }
    } finally {
      Deno.removeSync(path);
    }
  },
});

Deno.test("vocab_size below 256 + specials is rejected", () => {
  assert.throws(() => train(["abc"], 257), /vocab_size must be an integer in \[258,/);
});

Deno.test("train-tokenizer CLI writes a loadable tokenizer.json", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const input = join(dir, "docs.jsonl");
    Deno.writeTextFileSync(
      input,
      '{"text": "the cat sat on the mat"}\nnot json\n{"text": "the hat"}\n',
    );
    const gzipped = join(dir, "more.txt.gz");
    Deno.writeFileSync(gzipped, gzipSync(new TextEncoder().encode("a bat and a rat sat\n")));
    const out = join(dir, "tok.json");
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(REPO_ROOT, "cli", "train_tokenizer.ts"),
        input,
        "-o",
        out,
        gzipped,
        "--vocab-size",
        "300",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);
    assert.match(stderr, /skipped .*docs\.jsonl:2: /);
    const tok = Tokenizer.fromFile(out);
    assert.equal(tok.idToToken(tok.vocabSize - 1), "<|endoftext|>");
    assert.equal(tok.decode(tok.encode("the cat sat")), "the cat sat");
    assert.equal(tok.tokenToId("<|padding|>"), tok.vocabSize - 2);
    // "at" occurs in both files; " sat" only when the gzipped text file was read too.
    assert.notEqual(tok.tokenToId("at"), undefined);
    assert.notEqual(tok.tokenToId("Ġsat"), undefined);

    // Configurable special tokens: a custom EOS and no padding token.
    const custom = join(dir, "custom.json");
    const second = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(REPO_ROOT, "cli", "train_tokenizer.ts"),
        gzipped,
        "-o",
        custom,
        "--vocab-size",
        "260",
        "--eos-token",
        "<eos>",
        "--pad-token",
        "",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(second.code, 0, new TextDecoder().decode(second.stderr));
    const customTok = Tokenizer.fromFile(custom);
    assert.equal(customTok.idToToken(customTok.vocabSize - 1), "<eos>");
    assert.equal(customTok.eosTokenId, customTok.vocabSize - 1);
    assert.equal(customTok.tokenToId("<|padding|>"), undefined);
    assert.equal(customTok.tokenToId("<|endoftext|>"), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
