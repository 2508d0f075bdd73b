import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfigSection } from "../lib/config/mod.ts";
import { brownSampleToText, detokenize } from "../lib/data/brown.ts";
import { corpusDir, ensureCorpus, loadPreparedCorpus } from "../lib/data/corpus.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { MemMapDataset } from "../lib/data/memmap_dataset.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";

Deno.test("Brown detokenization: tags stripped, punctuation and quotes spaced like prose", () => {
  assert.equal(
    detokenize([
      "``",
      "Only",
      "a",
      "handful",
      "''",
      ",",
      "the",
      "jury",
      "said",
      "(",
      "1",
      ")",
      ".",
    ]),
    '"Only a handful", the jury said (1).',
  );
  assert.equal(detokenize(["Ivan", "Allen", "Jr.", "."]), "Ivan Allen Jr.");
  const tagged = "\n\n\tThe/at jury/nn said/vbd ``/`` yes/rb ''/'' ./.\nIt/pps ended/vbd ./.\n" +
    "Merger/nn-hl proposed/vbn-hl \nHowever/wrb ,/, 1/2/cd of/in it/ppo stayed/vbd ./.\n\n\n" +
    "\tNew/jj paragraph/nn ;/. done/vbn !/.\n";
  assert.equal(
    brownSampleToText(tagged),
    'The jury said "yes". It ended.\nMerger proposed\nHowever, 1/2 of it stayed.\nNew paragraph; done!',
  );
});

/** Documents (split at EOS) of a prepared split, decoded. */
function decodeSplit(files: string[], tok: Tokenizer): string[] {
  const ids = files.flatMap((f) => Array.from(new Uint16Array(Deno.readFileSync(f).buffer)));
  const docs: string[] = [];
  let start = 0;
  ids.forEach((id, i) => {
    if (id === tok.eosTokenId) {
      docs.push(tok.decode(ids.slice(start, i)));
      start = i + 1;
    }
  });
  assert.equal(start, ids.length, "the split ends with EOS");
  return docs;
}

Deno.test("Brown (first 40 samples) prepares in a fresh cache, concurrently, and is reused", async () => {
  const cacheDir = Deno.makeTempDirSync();
  try {
    const opts = { cacheDir, maxDocuments: 40, quiet: true };
    const [a, b] = await Promise.all([ensureCorpus("brown", opts), ensureCorpus("brown", opts)]);
    assert.equal(a.dir, corpusDir("brown", opts));
    assert.deepEqual(a.manifest, b.manifest);
    assert.deepEqual([...Deno.readDirSync(join(cacheDir, "corpora"))].map((e) => e.name), [
      "brown-v1-first40",
    ]);
    const m = a.manifest;
    assert.equal(m.splits.train.documents, 38);
    assert.equal(m.splits.validation.documents, 2);
    assert.equal(m.memmap_dtype, "uint16");

    const tok = Tokenizer.fromFile(a.tokenizerPath);
    assert.equal(tok.vocabSize, m.vocab_size);
    assert.ok(m.vocab_size <= 4096 && m.vocab_size > 1000);
    assert.equal(tok.idToToken(m.eos_token_id), "<|endoftext|>");
    assert.equal(m.eos_token_id, m.vocab_size - 1);
    assert.equal(tok.idToToken(m.pad_token_id), "<|padding|>");

    // Held out by document: samples 20 and 40 (every 20th), never in train.
    const jsonl = (split: string) =>
      Deno.readTextFileSync(join(a.dir, "text", `${split}.jsonl`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
    const train = jsonl("train");
    const validation = jsonl("validation");
    assert.deepEqual(validation.map((d) => d.id), ["ca20", "ca40"]);
    assert.equal(train.some((d) => d.id === "ca20" || d.id === "ca40"), false);
    assert.match(
      train[0].text,
      /^The Fulton County Grand Jury said Friday an investigation of Atlanta's/,
    );
    assert.doesNotMatch(train[0].text, /\/(at|nn|vbd)\b/);

    // Tokens decode back to the documents, and MemMapDataset reads them.
    assert.deepEqual(decodeSplit(a.tokenFiles("train"), tok), train.map((d) => d.text));
    assert.deepEqual(decodeSplit(a.tokenFiles("validation"), tok), validation.map((d) => d.text));
    using ds = new MemMapDataset(a.tokenFiles("train"), { chunkSize: 128 });
    assert.equal(ds.length, Math.floor(m.splits.train.tokens / 128));

    // Reuse: nothing is rebuilt.
    const mtime = Deno.statSync(join(a.dir, "manifest.json")).mtime;
    const again = await ensureCorpus("brown", opts);
    assert.deepEqual(Deno.statSync(join(again.dir, "manifest.json")).mtime, mtime);

    // Config resolvers point a config at the corpus.
    registerCorpusResolvers(opts);
    const cfgPath = join(cacheDir, "config.yaml");
    Deno.writeTextFileSync(
      cfgPath,
      "model:\n  vocab_size: ${corpus.vocab_size:brown}\n  eos_token_id: ${corpus.eos_token_id:brown}\n" +
        "  pad_token_id: ${corpus.pad_token_id:brown}\n" +
        "tokenizer:\n  identifier: ${corpus.tokenizer:brown}\n" +
        "data:\n  paths: ${corpus.tokens:brown,train}\n",
    );
    const data = await loadConfigSection(cfgPath, "data");
    assert.deepEqual(data.paths, a.tokenFiles("train"));
    const model = await loadConfigSection(cfgPath, "model");
    assert.deepEqual([model.vocab_size, model.eos_token_id, model.pad_token_id], [
      m.vocab_size,
      m.eos_token_id,
      m.pad_token_id,
    ]);
    assert.equal((await loadConfigSection(cfgPath, "tokenizer")).identifier, a.tokenizerPath);
    const fromConfig = await Tokenizer.fromTrainConfig({
      model,
      tokenizer: await loadConfigSection(cfgPath, "tokenizer"),
    });
    assert.equal(fromConfig.eosTokenId, m.eos_token_id);
  } finally {
    Deno.removeSync(cacheDir, { recursive: true });
  }
});

Deno.test("resolvers with validatePaths=false do not prepare; a broken cache is reported", async () => {
  const cacheDir = Deno.makeTempDirSync();
  try {
    registerCorpusResolvers({ cacheDir });
    const cfgPath = join(cacheDir, "config.yaml");
    Deno.writeTextFileSync(cfgPath, "data:\n  paths: ${corpus.tokens:brown,validation}\n");
    const data = await loadConfigSection(cfgPath, "data", { validatePaths: false });
    assert.deepEqual(data.paths, [
      join(cacheDir, "corpora", "brown-v1", "tokens", "validation", "0_00000.npy"),
    ]);
    assert.equal(loadPreparedCorpus(corpusDir("brown", { cacheDir })), null);
    Deno.writeTextFileSync(cfgPath, "data:\n  paths: ${corpus.tokens:shakespeare,train}\n");
    await assert.rejects(
      () => loadConfigSection(cfgPath, "data", { validatePaths: false }),
      /unknown corpus "shakespeare"/,
    );
    Deno.mkdirSync(corpusDir("brown", { cacheDir }), { recursive: true });
    assert.throws(
      () => loadPreparedCorpus(corpusDir("brown", { cacheDir })),
      /incomplete \(no manifest\.json\); delete it/,
    );
  } finally {
    Deno.removeSync(cacheDir, { recursive: true });
  }
});

Deno.test({
  name: "the full Brown corpus prepares in a fresh cache (vocab 4096, 475/25 documents)",
  fn: async () => {
    const cacheDir = Deno.makeTempDirSync();
    try {
      const corpus = await ensureCorpus("brown", { cacheDir, workers: 2, quiet: true });
      const m = corpus.manifest;
      assert.equal(m.vocab_size, 4096);
      assert.deepEqual([m.eos_token_id, m.pad_token_id], [4095, 4094]);
      assert.deepEqual([m.splits.train.documents, m.splits.validation.documents], [475, 25]);
      assert.ok(m.splits.train.tokens > 1_000_000);
    } finally {
      Deno.removeSync(cacheDir, { recursive: true });
    }
  },
});
