import assert from "node:assert/strict";
import { join } from "node:path";
import { MemMapDataset, memMapDatasetFromDataConfig } from "../lib/data/memmap_dataset.ts";
import { TokenFileReader, TokenFileWriter } from "../lib/data/token_file.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { FIXTURES_DIR, HAS_SHARED } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";

// Ports of OLMo tests/data/memmap_dataset_test.py, plus dtype and error cases. Files are written
// as raw little-endian arrays by hand (the reference), not by the code under test.

function writeRaw(path: string, values: number[], dtype: "uint16" | "uint32" = "uint16"): string {
  const typed = dtype === "uint16" ? new Uint16Array(values) : new Uint32Array(values);
  Deno.writeFileSync(path, new Uint8Array(typed.buffer));
  return path;
}

const range = (start: number, end: number) =>
  Array.from({ length: end - start }, (_, i) => start + i);

Deno.test(
  "mmap dataset: 2 files x 16 tokens, chunk 4",
  () =>
    withTempDir((dir) => {
      const a = writeRaw(join(dir, "a.npy"), range(0, 16));
      const b = writeRaw(join(dir, "b.npy"), range(16, 32));
      using ds = new MemMapDataset([a, b], { chunkSize: 4 });
      assert.equal(ds.length, 8);
      assert.deepEqual(Array.from(ds.get(0).inputIds), [0, 1, 2, 3]);
      assert.deepEqual(Array.from(ds.get(1).inputIds), [4, 5, 6, 7]);
      assert.deepEqual(Array.from(ds.get(7).inputIds), [28, 29, 30, 31]);
      assert.deepEqual(Array.from(ds.get(-1).inputIds), [28, 29, 30, 31]);
      assert.deepEqual(ds.get(4).metadata, {});
      assert.throws(() => ds.get(8), RangeError);
      assert.throws(() => ds.get(-9), /index -9 out of range for 8 instances/);
    }),
);

Deno.test({
  name: "mmap dataset: lorem ipsum with a label, chunk 24",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir((dir) => {
      const tok = Tokenizer.fromFile(join(FIXTURES_DIR, "tokenizers", "gpt2.json"));
      const text =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor " +
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud " +
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";
      const ids = [...tok.encode(text), ...tok.encode(text + " Duis aute irure dolor.")];
      const path = writeRaw(join(dir, "lorem.npy"), ids);
      using ds = new MemMapDataset([path], { chunkSize: 24, metadata: { label: "test-data" } });
      assert.equal(ds.length, Math.floor(ids.length / 24));
      for (let i = 0; i < ds.length; i++) {
        const item = ds.get(i);
        assert.equal(item.inputIds.length, 24);
        assert.deepEqual(Array.from(item.inputIds), ids.slice(24 * i, 24 * i + 24));
        assert.equal((item.metadata as { label: string }).label, "test-data");
      }
    }),
});

Deno.test(
  "mmap dataset: concatenation keeps per-file metadata; remainders dropped per file",
  () =>
    withTempDir((dir) => {
      const a = writeRaw(join(dir, "a.npy"), range(0, 16));
      const b = writeRaw(join(dir, "b.npy"), range(0, 8));
      using ds1 = new MemMapDataset([a], { chunkSize: 3, metadata: { label: "test1" } });
      using ds2 = new MemMapDataset([b], { chunkSize: 3, metadata: [{ label: "test2" }] });
      assert.equal(ds1.length, 5);
      assert.equal(ds2.length, 2);
      using ds = ds1.concat(ds2);
      assert.equal(ds.length, 7);
      assert.deepEqual(Array.from(ds.get(0).inputIds), [0, 1, 2]);
      assert.deepEqual(ds.get(0).metadata, { label: "test1" });
      assert.deepEqual(Array.from(ds.get(6).inputIds), [3, 4, 5]);
      assert.deepEqual(ds.get(-1), ds.get(6));
      assert.deepEqual(ds.get(6).metadata, { label: "test2" });
      assert.deepEqual(ds.locate(6), { path: b, tokenOffset: 3, metadata: { label: "test2" } });
      // Metadata is copied: mutating an item's metadata does not leak into the dataset.
      (ds.get(0).metadata as Record<string, unknown>).label = "changed";
      assert.deepEqual(ds.get(0).metadata, { label: "test1" });
    }),
);

Deno.test(
  "mmap dataset: uint32 files, metadata flag, config builder, bad input",
  () =>
    withTempDir((dir) => {
      const big = writeRaw(join(dir, "big.npy"), [70000, 1, 65536, 4294967295], "uint32");
      using ds = new MemMapDataset([big], {
        chunkSize: 2,
        dtype: "uint32",
        includeInstanceMetadata: false,
      });
      assert.deepEqual(Array.from(ds.get(0).inputIds), [70000, 1]);
      assert.throws(() => ds.get(1), /token 3 is 4294967295, beyond the int32 id range/);
      assert.equal("metadata" in ds.get(0), false);
      assert.throws(
        () => new MemMapDataset([big, big], { metadata: [{}] }),
        /metadata has 1 entries but there are 2 paths/,
      );

      const odd = join(dir, "odd.npy");
      Deno.writeFileSync(odd, new Uint8Array(6)); // 6 bytes is not a whole number of uint32s
      assert.throws(() => new TokenFileReader(odd, "uint32"), /not a multiple of 4/);

      const x = writeRaw(join(dir, "x.npy"), range(0, 4));
      const y = writeRaw(join(dir, "y.npy"), range(4, 8));
      using labelled = memMapDatasetFromDataConfig({ datasets: { zeta: [x], alpha: [y] } }, 2);
      assert.deepEqual(labelled.get(0).metadata, { label: "alpha" }); // labels sorted
      assert.deepEqual(Array.from(labelled.get(0).inputIds), [4, 5]);
      using byPath = memMapDatasetFromDataConfig({ paths: [x] }, 2, {
        includeInstanceMetadata: true,
      });
      assert.deepEqual(byPath.get(1).metadata, { path: x });
      assert.throws(
        () => memMapDatasetFromDataConfig({}, 2),
        /one of `paths` or `datasets` is required/,
      );
      assert.throws(
        () => memMapDatasetFromDataConfig({ paths: [x], memmap_dtype: "int8" }, 2),
        /data\.memmap_dtype/,
      );
      using missing = new MemMapDataset([join(dir, "nope.npy")], { chunkSize: 2 });
      assert.throws(() => missing.length, /cannot read token file .*nope\.npy/);
    }),
);

Deno.test(
  "token file writer produces little-endian bytes, atomically",
  () =>
    withTempDir((dir) => {
      const path = join(dir, "t.npy");
      const w = new TokenFileWriter(path, "uint16");
      w.write([1, 256, 65535]);
      assert.equal(
        [...Deno.readDirSync(dir)].some((e) => e.name === "t.npy"),
        false,
        "not visible before close",
      );
      w.close();
      assert.deepEqual(Array.from(Deno.readFileSync(path)), [1, 0, 0, 1, 255, 255]);
      const w2 = new TokenFileWriter(join(dir, "u.npy"), "uint16");
      assert.throws(() => w2.write([65536]), /does not fit memmap_dtype uint16/);
      w2.abort();
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.npy"]);
    }),
);
