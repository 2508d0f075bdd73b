import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Tokenizer as NativeTokenizer } from "tokenizers";
import { IterableDataset } from "../lib/data/iterable_dataset.ts";
import { MemMapDataset } from "../lib/data/memmap_dataset.ts";
import { prepareData } from "../lib/data/prepare.ts";
import { createProgress } from "../lib/data/progress.ts";
import type { BadLine } from "../lib/data/text_sources.ts";
import { TokenFileReader } from "../lib/data/token_file.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { FIXTURES_DIR, HAS_SHARED, REPO_ROOT } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";

const GPT2_PATH = join(FIXTURES_DIR, "tokenizers", "gpt2.json");
const C4 = ["c4-sample.01.json.gz", "c4-sample.02.json.gz", "c4-sample.03.json.gz"]
  .map((f) => join(FIXTURES_DIR, "c4", f));
const EOS = 50256;

let gpt2Cache: Tokenizer | null = null;
const gpt2 = () => gpt2Cache ??= Tokenizer.fromFile(GPT2_PATH);

function c4Texts(path: string): string[] {
  return new TextDecoder().decode(gunzipSync(Deno.readFileSync(path))).split("\n")
    .filter((l) => l.trim()).map((l) => JSON.parse(l).text.trim()).filter((t: string) => t);
}

/** Every token of a list of files, read as raw little-endian uint16. */
function rawTokens(files: string[]): number[] {
  return files.flatMap((f) => Array.from(new Uint16Array(Deno.readFileSync(f).buffer)));
}

Deno.test({
  name: "C4 → token files: native-tokenizer ids + EOS, split at 1000 tokens with nothing dropped",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await prepareData({
        inputs: C4,
        outputDir: dir,
        tokenizer: gpt2(),
        maxTokensPerFile: 1000,
        validate: true,
      });
      assert.equal(result.dtype, "uint16");
      assert.equal(result.documents, 30);
      const native = NativeTokenizer.fromFile(GPT2_PATH);
      for (const [i, source] of result.sources.entries()) {
        const expected: number[] = [];
        for (const text of c4Texts(C4[i])) {
          expected.push(...Array.from((await native.encode(text)).getIds()), EOS);
        }
        assert.deepEqual(rawTokens(source.files), expected, `source ${i}`);
        assert.equal(source.tokens, expected.length);
        const names = source.files.map((f) => f.slice(dir.length + 1));
        assert.deepEqual(names, names.map((_, k) => `${i}_${String(k).padStart(5, "0")}.npy`));
        source.files.forEach((f, k) => {
          const n = Deno.statSync(f).size / 2;
          assert.ok(k < source.files.length - 1 ? n === 1000 : n <= 1000 && n > 0);
        });
      }
      assert.ok(result.sources.some((s) => s.files.length > 1), "some source rolled over");
    }),
});

Deno.test({
  name: "prepare-data → MemMapDataset → IterableDataset round-trips every document exactly",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await prepareData({
        inputs: C4,
        outputDir: dir,
        tokenizer: gpt2(),
        maxTokensPerFile: 3000,
      });
      const chunk = 100;
      using ds = new MemMapDataset(result.files, {
        chunkSize: chunk,
        includeInstanceMetadata: false,
      });
      // Gather all instances through two shuffled ranks; without padding each appears once.
      const byIndex = new Map<number, Int32Array>();
      for (const rank of [0, 1]) {
        for (
          const item of new IterableDataset(ds, { seed: 3, worldSize: 2, rank, dropLast: true })
        ) {
          assert.equal(byIndex.has(item.index), false);
          byIndex.set(item.index, item.inputIds);
        }
      }
      const missing = ds.length % 2; // drop_last may drop one instance: read it directly
      for (let i = 0; i < ds.length; i++) if (!byIndex.has(i)) byIndex.set(i, ds.get(i).inputIds);
      assert.ok(missing <= 1);
      // Rebuild the token stream: instances per file, then the file's dropped remainder.
      const stream: number[] = [];
      for (const [f, path] of result.files.entries()) {
        const [start, end] = ds.offsets[f];
        for (let i = start; i < end; i++) stream.push(...byIndex.get(i)!);
        using reader = new TokenFileReader(path, "uint16");
        const rest = reader.numTokens - (end - start) * chunk;
        stream.push(...reader.read(reader.numTokens - rest, rest));
      }
      const docs: string[] = [];
      let current: number[] = [];
      for (const id of stream) {
        if (id === EOS) {
          docs.push(gpt2().decode(current));
          current = [];
        } else current.push(id);
      }
      assert.equal(current.length, 0);
      assert.deepEqual(docs, C4.flatMap(c4Texts));
    }),
});

Deno.test({
  name: "worker count does not change the output; uint32 works; existing files are protected",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (dir) => {
      const one = await prepareData({
        inputs: C4,
        outputDir: join(dir, "one"),
        tokenizer: gpt2(),
        maxTokensPerFile: 4000,
      });
      const two = await prepareData({
        inputs: C4,
        outputDir: join(dir, "two"),
        tokenizer: gpt2(),
        maxTokensPerFile: 4000,
        workers: 2,
        validate: true,
      });
      assert.deepEqual(
        two.files.map((f) => f.slice(dir.length + 4)),
        one.files.map((f) => f.slice(dir.length + 4)),
      );
      for (const [k, f] of one.files.entries()) {
        assert.deepEqual(Deno.readFileSync(two.files[k]), Deno.readFileSync(f));
      }
      // Workers encode with the caller's tokenizer options too (here: left truncation to 50).
      const truncating = gpt2().withOptions({ maxLength: 50, truncateDirection: "left" });
      const [short1, short2] = await Promise.all([1, 2].map((workers) =>
        prepareData({
          inputs: [C4[0]],
          outputDir: join(dir, `short${workers}`),
          tokenizer: truncating,
          workers,
        })
      ));
      const shortIds = rawTokens(short2.files);
      assert.deepEqual(shortIds, rawTokens(short1.files));
      const expectedShort = c4Texts(C4[0]).flatMap((t) => truncating.encode(t));
      assert.deepEqual(shortIds, expectedShort);
      assert.ok(shortIds.length < one.sources[0].tokens, "documents were truncated");
      const wide = await prepareData({
        inputs: [C4[0]],
        outputDir: join(dir, "u32"),
        tokenizer: gpt2(),
        dtype: "uint32",
      });
      const ids = Array.from(new Uint32Array(Deno.readFileSync(wide.files[0]).buffer));
      assert.deepEqual(ids, rawTokens(one.sources[0].files));
      await assert.rejects(
        () => prepareData({ inputs: C4, outputDir: join(dir, "one"), tokenizer: gpt2() }),
        /already holds token files/,
      );
      const again = await prepareData({
        inputs: [C4[1]],
        outputDir: join(dir, "one"),
        tokenizer: gpt2(),
        overwrite: true,
      });
      assert.deepEqual([...Deno.readDirSync(join(dir, "one"))].map((e) => e.name), ["0_00000.npy"]);
      assert.equal(again.sources[0].tokens, one.sources[1].tokens);
    }),
});

Deno.test({
  name: "bad lines are reported with file:line and skipped; text files split by unit",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (dir) => {
      const jsonl = join(dir, "in", "docs.jsonl");
      Deno.mkdirSync(join(dir, "in"));
      const utf8 = new TextEncoder();
      Deno.writeFileSync(
        jsonl,
        new Uint8Array([
          ...utf8.encode('{"text": " Hello world "}\n{"text": 5}\n\n{broken\n{"body": "x"}\n'),
          ...[0x7b, 0xff, 0xfe, 0x7d, 0x0a], // line 6: "{", invalid UTF-8, "}"
          ...utf8.encode('{"text": "Hi"}'), // no final newline
        ]),
      );
      const txt = join(dir, "in", "notes.txt");
      Deno.writeTextFileSync(txt, "First paragraph\r\nstill first.\n\n\nSecond one.\n");
      const bad: BadLine[] = [];
      const out = await prepareData({
        inputs: [join(dir, "in")],
        outputDir: join(dir, "out"),
        tokenizer: gpt2(),
        textUnit: "paragraph",
        onBadLine: (b) => bad.push(b),
      });
      assert.deepEqual(bad.map((b) => `${b.file}:${b.line}`), [
        `${jsonl}:2`,
        `${jsonl}:4`,
        `${jsonl}:5`,
        `${jsonl}:6`,
      ]);
      assert.equal(bad[3].message, "not valid UTF-8");
      assert.deepEqual(out.badLines, bad);
      assert.match(bad[0].message, /string "text" field/);
      const decoded = gpt2().decode(rawTokens(out.files), { skipSpecialTokens: false });
      assert.equal(
        decoded,
        "Hello world<|endoftext|>Hi<|endoftext|>First paragraph\nstill first.<|endoftext|>Second one.<|endoftext|>",
      );
      assert.deepEqual(out.sources.map((s) => s.documents), [2, 2]);
      await assert.rejects(
        () =>
          prepareData({
            inputs: [join(dir, "in", "missing.csv")],
            outputDir: join(dir, "o2"),
            tokenizer: gpt2(),
          }),
        /missing\.csv/,
      );
    }),
});

Deno.test({
  name: "prepare-data CLI with --validate",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (dir) => {
      const out = join(dir, "c4-sample.npy");
      const result = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(REPO_ROOT, "cli", "prepare_data.ts"),
          ...C4,
          "-o",
          out,
          "--tokenizer",
          GPT2_PATH,
          "--validate",
        ],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(result.stdout);
      assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
      assert.match(
        stdout,
        /of 30 documents into 3 file\(s\).*memmap_dtype uint16, vocab 50257, EOS 50256\); validated/,
      );
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
        "0_00000.npy",
        "1_00000.npy",
        "2_00000.npy",
      ]);
    }),
});

Deno.test("progress off a terminal: periodic lines with tokens, tokens/s and documents", () => {
  const lines: string[] = [];
  const saved = console.error;
  console.error = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    const progress = createProgress("prep", 1000, { terminal: false, intervalMs: 0 });
    progress.update(250, { tokens: 12_345, documents: 7 });
    progress.update(1000, { tokens: 2_500_000, documents: 40 });
    progress.stop();
  } finally {
    console.error = saved;
  }
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^prep: 25% \| 12\.3k tokens \| [\d.]+[kMG]? tok\/s \| 7 docs$/);
  assert.match(lines[2], /^prep: 100% \| 2\.50M tokens \| [\d.]+[kMG]? tok\/s \| 40 docs$/);
});
