import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Tokenizer as NativeTokenizer } from "tokenizers";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { cachedTokenizerPath, resolveTokenizerFile } from "../lib/tokenizer/hub.ts";
import { FIXTURES_DIR, HAS_SHARED } from "./_shared.ts";

const GPT2 = join(FIXTURES_DIR, "tokenizers", "gpt2.json");
const NEOX = join(FIXTURES_DIR, "tokenizers", "gpt-neox-20b-pii-special.json");
const LOREM_IPSUM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod " +
  "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud " +
  "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor " +
  "in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur " +
  "sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est " +
  "laborum.";

let gpt2Cache: Tokenizer | null = null;
/** The GPT-2 fixture tokenizer, parsed once per test file. */
function gpt2(): Tokenizer {
  return gpt2Cache ??= Tokenizer.fromFile(GPT2);
}

/** The `text` of every document of the C4 sample fixtures. */
function c4Documents(): string[] {
  const dir = join(FIXTURES_DIR, "c4");
  const docs: string[] = [];
  for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    const text = new TextDecoder().decode(gunzipSync(Deno.readFileSync(join(dir, name))));
    for (const line of text.split("\n")) if (line.trim()) docs.push(JSON.parse(line).text);
  }
  return docs;
}

for (
  const [name, path, vocab, eos] of [["gpt2", GPT2, 50257, 50256], [
    "neox",
    NEOX,
    50280,
    50279,
  ]] as const
) {
  Deno.test({
    name: `${name}: ids equal the native HF tokenizers on every C4 document, decode round-trips`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const tok = name === "gpt2" ? gpt2() : Tokenizer.fromFile(path);
      const native = NativeTokenizer.fromFile(path);
      assert.equal(tok.vocabSize, vocab);
      assert.equal(tok.vocabSize, native.getVocabSize(true));
      assert.equal(tok.eosTokenId, eos); // OLMo's default: vocab_size - 1
      assert.equal(tok.padTokenId, eos);
      const docs = c4Documents();
      assert.ok(docs.length >= 30);
      for (const [i, doc] of docs.entries()) {
        const ids = tok.encode(doc, { addSpecialTokens: false });
        const expected = Array.from((await native.encode(doc)).getIds());
        assert.deepEqual(ids, expected, `document ${i}`);
        assert.equal(tok.decode(ids), doc, `round trip of document ${i}`);
        assert.deepEqual(tok.encode(doc), [...expected, eos]);
      }
    },
  });
}

Deno.test({
  name: "gpt2: known ids and special-token handling",
  ignore: !HAS_SHARED,
  fn: () => {
    const tok = gpt2();
    assert.deepEqual(tok.encode("Hello world", { addSpecialTokens: false }), [15496, 995]);
    assert.deepEqual(tok.encode("Hello world"), [15496, 995, 50256]);
    // EOS is not doubled when the text already ends with it.
    assert.deepEqual(tok.encode("Hello world<|endoftext|>"), [15496, 995, 50256]);
    assert.deepEqual(tok.encode(""), [50256]);
    assert.equal(tok.decode([15496, 995, 50256]), "Hello world");
    assert.equal(
      tok.decode([15496, 995, 50256], { skipSpecialTokens: false }),
      "Hello world<|endoftext|>",
    );
    assert.equal(tok.numSpecialTokensToAdd(), 1);
    assert.equal(tok.numSpecialTokensToAdd(true), 2);
    const custom = tok.withOptions({ eosTokenId: 0, padTokenId: 1 });
    assert.deepEqual([custom.eosTokenId, custom.padTokenId, custom.vocabSize], [0, 1, 50257]);
    assert.deepEqual(custom.encode("Hello world"), [15496, 995, 0]);
    assert.throws(() => tok.withOptions({ eosTokenId: 50257 }), /eos_token_id 50257 is outside/);
  },
});

for (const addSpecialTokens of [true, false]) {
  Deno.test({
    name: `OLMo tokenizer_test: truncation to 16 (specials=${addSpecialTokens}), both directions`,
    ignore: !HAS_SHARED,
    fn: () => {
      const full = gpt2().encode(LOREM_IPSUM, { addSpecialTokens });
      const base = gpt2().encode(LOREM_IPSUM, { addSpecialTokens: false });
      const right = gpt2().withOptions({ maxLength: 16 });
      const left = gpt2().withOptions({ maxLength: 16, truncateDirection: "left" });
      const eos = right.eosTokenId;
      const r = right.encode(LOREM_IPSUM, { addSpecialTokens });
      const l = left.encode(LOREM_IPSUM, { addSpecialTokens });
      assert.equal(r.length, 16);
      assert.equal(l.length, 16);
      if (addSpecialTokens) {
        assert.equal(r[15], eos);
        assert.deepEqual(r.slice(0, -1), full.slice(0, 15));
        assert.equal(l[15], eos);
        assert.deepEqual(l.slice(0, -1), base.slice(-15));
      } else {
        assert.notEqual(r[15], eos);
        assert.deepEqual(r, full.slice(0, 16));
        assert.deepEqual(l, base.slice(-16));
      }
      // encode_batch over two documents follows the same rules.
      const batch = right.encodeBatch([LOREM_IPSUM, LOREM_IPSUM + " " + LOREM_IPSUM], {
        addSpecialTokens,
      });
      for (const ids of batch) {
        assert.equal(ids.length, 16);
        assert.equal(ids[15] === eos, addSpecialTokens);
        assert.deepEqual(ids.slice(0, 15), full.slice(0, 15));
      }
    },
  });
}

function trainConfig(identifier: string, vocab: number) {
  return {
    tokenizer: { identifier, truncate_direction: "left" },
    model: { vocab_size: vocab, eos_token_id: 50256, pad_token_id: 50256 },
  };
}

Deno.test({
  name: "fromTrainConfig: passes truncate_direction, rejects a vocab_size mismatch naming both",
  ignore: !HAS_SHARED,
  fn: async () => {
    const tok = await Tokenizer.fromTrainConfig(trainConfig(GPT2, 50257));
    assert.equal(tok.truncateDirection, "left");
    assert.equal(tok.eosTokenId, 50256);
    await assert.rejects(
      () => Tokenizer.fromTrainConfig(trainConfig(GPT2, 50304)),
      /model\.vocab_size is 50304 but .*gpt2\.json has 50257 tokens/,
    );
  },
});

Deno.test({
  name: "fromPretrained: file, directory, cached Hub id, and a clear offline error",
  ignore: !HAS_SHARED,
  fn: async () => {
    const cache = Deno.makeTempDirSync();
    try {
      const dir = join(cache, "my-tokenizer");
      Deno.mkdirSync(dir);
      Deno.copyFileSync(GPT2, join(dir, "tokenizer.json"));
      assert.equal((await Tokenizer.fromPretrained(dir)).vocabSize, 50257);
      assert.equal((await Tokenizer.fromPretrained(GPT2)).vocabSize, 50257);
      await assert.rejects(() => Tokenizer.fromPretrained(cache), /has no tokenizer\.json/);

      const cached = cachedTokenizerPath("EleutherAI/gpt-neox-20b", cache);
      Deno.mkdirSync(join(cached, ".."), { recursive: true });
      Deno.copyFileSync(NEOX, cached);
      const neox = await Tokenizer.fromPretrained("EleutherAI/gpt-neox-20b", { cacheDir: cache });
      assert.equal(neox.vocabSize, 50280);

      // Nothing listens on port 9 of localhost: the download fails fast.
      const where = cachedTokenizerPath("gpt2", cache).replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
      await assert.rejects(
        () => resolveTokenizerFile("gpt2", { cacheDir: cache, endpoint: "http://127.0.0.1:9" }),
        new RegExp(`could not download "gpt2".*put it at ${where}`),
      );
      await assert.rejects(
        () => resolveTokenizerFile("no such/../thing", { cacheDir: cache }),
        /neither an existing file or directory nor a Hugging Face Hub id/,
      );
    } finally {
      Deno.removeSync(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "fromPretrained: a Hub id is downloaded once into the cache; bad downloads are refused",
  ignore: !HAS_SHARED,
  fn: async () => {
    const cache = Deno.makeTempDirSync();
    const requests: string[] = [];
    // A stand-in for the Hub: serves gpt2's tokenizer.json, a non-tokenizer and 404s.
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const path = new URL(req.url).pathname;
      requests.push(path);
      if (path === "/gpt2/resolve/main/tokenizer.json") {
        return new Response(Deno.readFileSync(GPT2));
      }
      if (path === "/org/not-a-tokenizer/resolve/main/tokenizer.json") {
        return new Response('{"hello": 1}');
      }
      return new Response("missing", { status: 404 });
    });
    try {
      const endpoint = `http://127.0.0.1:${server.addr.port}`;
      const cached = cachedTokenizerPath("gpt2", cache);
      const tok = await Tokenizer.fromPretrained("gpt2", { cacheDir: cache, endpoint });
      assert.equal(tok.vocabSize, 50257);
      assert.equal(Deno.readTextFileSync(cached), Deno.readTextFileSync(GPT2));
      assert.deepEqual(requests, ["/gpt2/resolve/main/tokenizer.json"]);
      // Cached now: no second request.
      assert.equal(await resolveTokenizerFile("gpt2", { cacheDir: cache, endpoint }), cached);
      assert.equal(requests.length, 1);
      await assert.rejects(
        () => resolveTokenizerFile("org/not-a-tokenizer", { cacheDir: cache, endpoint }),
        /not a tokenizer\.json/,
      );
      await assert.rejects(
        () => resolveTokenizerFile("org/absent", { cacheDir: cache, endpoint }),
        /HTTP 404/,
      );
      assert.equal(Deno.statSync(cache).isDirectory, true);
      assert.throws(() => Deno.statSync(cachedTokenizerPath("org/absent", cache)));
    } finally {
      await server.shutdown();
      Deno.removeSync(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "fromCheckpoint: prefers dir/tokenizer.json, reads eos/pad and checks vocab_size",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const yaml = (vocab: number) =>
        `model:\n  vocab_size: ${vocab}\n  eos_token_id: 0\n  pad_token_id: 1\n` +
        `tokenizer:\n  identifier: does-not-exist/anywhere\n  truncate_direction: right\n`;
      Deno.writeTextFileSync(join(dir, "config.yaml"), yaml(50280));
      Deno.copyFileSync(NEOX, join(dir, "tokenizer.json"));
      const tok = await Tokenizer.fromCheckpoint(dir);
      assert.equal(tok.vocabSize, 50280);
      assert.equal(tok.eosTokenId, 0);
      assert.equal(tok.padTokenId, 1);
      assert.equal(tok.decode(tok.encode("checkpoint tokenizer")), "checkpoint tokenizer");
      Deno.writeTextFileSync(join(dir, "config.yaml"), yaml(50304));
      await assert.rejects(
        () => Tokenizer.fromCheckpoint(dir),
        /vocab size mismatch.*50304.*50280/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
