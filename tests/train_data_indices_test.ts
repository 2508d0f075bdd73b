/**
 * `data-indices/rank{r}.tsv.gz` (OLMo's `save_data_indices`): the line format, gzip members
 * appended per flush (read back by an independent gunzip), OLMo's refusal of an existing file
 * for a new run, and restarts that drop the steps after the restored one — including a member
 * torn by a killed process — so that no step is ever listed twice.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  DATA_INDICES_DIR,
  dataIndicesPath,
  DataIndicesWriter,
  readDataIndices,
} from "../lib/train/data_indices.ts";

/** The file's text through node's gunzip, which reads every member (as `zcat` does). */
async function gunzipText(path: string): Promise<string> {
  return new TextDecoder().decode(gunzipSync(await Deno.readFile(path)));
}

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-indices-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("OLMo's line format, one gzip member per flush, read back by any gunzip", async () => {
  await withFolder(async (dir) => {
    const w = new DataIndicesWriter(dir, 3);
    assert.equal(w.path, join(dir, DATA_INDICES_DIR, "rank3.tsv.gz"));
    assert.equal(dataIndicesPath(dir, 3), w.path);
    await assert.rejects(() => w.record(1, [0]), /open was not called/);
    await w.open({ continueFromStep: null, overwrite: false });
    assert.equal(await gunzipText(w.path), ""); // a valid (empty) gzip file from the start
    await w.record(1, [17, 4]);
    await w.record(2, Int32Array.of(14, 3));
    await w.flush();
    await w.flush(); // nothing pending: no empty member
    await w.record(3, [5, 12]);
    await w.flush();
    assert.equal(await gunzipText(w.path), "1\t17\t4\n2\t14\t3\n3\t5\t12\n");
    // Three members: the empty one written by open, then one per flush with lines.
    const bytes = await Deno.readFile(w.path);
    const starts = bytes.reduce(
      (n, b, i) => n + (b === 0x1f && bytes[i + 1] === 0x8b && bytes[i + 2] === 8 ? 1 : 0),
      0,
    );
    assert.equal(starts, 3);
    assert.deepEqual(await readDataIndices(w.path), [
      { step: 1, indices: [17, 4] },
      { step: 2, indices: [14, 3] },
      { step: 3, indices: [5, 12] },
    ]);
    assert.deepEqual(await readDataIndices(join(dir, "missing.tsv.gz")), []);
  });
});

Deno.test("a new run refuses an existing file unless save_overwrite, then starts it over", async () => {
  await withFolder(async (dir) => {
    const first = new DataIndicesWriter(dir, 0);
    await first.open({ continueFromStep: null, overwrite: false });
    await first.record(1, [1, 2]);
    await first.flush();
    const again = new DataIndicesWriter(dir, 0);
    await assert.rejects(
      () => again.open({ continueFromStep: null, overwrite: false }),
      (e: Error) =>
        e.message.includes(join(dir, "data-indices", "rank0.tsv.gz")) &&
        /already exists.*--save_overwrite/.test(e.message),
    );
    assert.equal(await gunzipText(again.path), "1\t1\t2\n"); // untouched by the refusal
    await again.open({ continueFromStep: null, overwrite: true });
    assert.equal(await gunzipText(again.path), "");
    // Another rank's file is a different file.
    await new DataIndicesWriter(dir, 1).open({ continueFromStep: null, overwrite: false });
  });
});

Deno.test("a restart from step N keeps steps ≤ N, drops the rest, and appends after them", async () => {
  await withFolder(async (dir) => {
    const w = new DataIndicesWriter(dir, 0);
    await w.open({ continueFromStep: null, overwrite: false });
    for (let step = 1; step <= 5; step++) await w.record(step, [step * 10, step * 10 + 1]);
    await w.flush(); // the run went on to step 5 after its last checkpoint at step 3
    const restarted = new DataIndicesWriter(dir, 0);
    await restarted.open({ continueFromStep: 3, overwrite: false });
    assert.equal(await gunzipText(w.path), "1\t10\t11\n2\t20\t21\n3\t30\t31\n");
    for (let step = 4; step <= 6; step++) await restarted.record(step, [step, step]);
    await restarted.flush();
    assert.deepEqual((await readDataIndices(w.path)).map((r) => r.step), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual((await readDataIndices(w.path))[3], { step: 4, indices: [4, 4] });
    // A restart at the file's last step leaves the file's bytes as they are.
    const before = await Deno.readFile(w.path);
    await new DataIndicesWriter(dir, 0).open({ continueFromStep: 6, overwrite: false });
    assert.deepEqual(await Deno.readFile(w.path), before);
    // Continuing a run whose file is missing starts an empty one.
    const other = new DataIndicesWriter(dir, 7);
    await other.open({ continueFromStep: 6, overwrite: false });
    assert.equal(await gunzipText(other.path), "");
  });
});

Deno.test("a member torn by a killed process is dropped on restart; a corrupt file is named", async () => {
  await withFolder(async (dir) => {
    const w = new DataIndicesWriter(dir, 0);
    await w.open({ continueFromStep: null, overwrite: false });
    await w.record(1, [1]);
    await w.record(2, [2]);
    await w.flush();
    // A process killed while appending the member of steps 3-4: half of it is on disk.
    const member = gzipSync("3\t3\n4\t4\n");
    const file = await Deno.open(w.path, { append: true });
    await file.write(member.subarray(0, member.length >> 1));
    file.close();
    assert.deepEqual((await readDataIndices(w.path)).map((r) => r.step), [1, 2]);
    const restarted = new DataIndicesWriter(dir, 0);
    await restarted.open({ continueFromStep: 2, overwrite: false });
    await restarted.record(3, [33]);
    await restarted.flush();
    // Without dropping the torn member, a gunzip would stop at it and never see step 3.
    assert.equal(await gunzipText(w.path), "1\t1\n2\t2\n3\t33\n");

    await Deno.writeTextFile(w.path, "not gzip");
    await assert.rejects(
      () => new DataIndicesWriter(dir, 0).open({ continueFromStep: 2, overwrite: false }),
      (e: Error) => e.message.startsWith(`${w.path}: not a valid gzip file`),
    );
    await Deno.writeFile(w.path, gzipSync("1\t1\nx\t2\n"));
    await assert.rejects(() => readDataIndices(w.path), new RegExp(`${w.path}:2: expected`));
  });
});

Deno.test("a large buffer is appended without waiting for a checkpoint", async () => {
  await withFolder(async (dir) => {
    const w = new DataIndicesWriter(dir, 0);
    await w.open({ continueFromStep: null, overwrite: false });
    const batch = Array.from({ length: 512 }, (_, i) => 1_000_000 + i); // 4 KiB per line
    for (let step = 1; step <= 300; step++) await w.record(step, batch);
    const records = await readDataIndices(w.path); // no flush called
    assert.ok(records.length >= 200 && records.length < 300, `${records.length} lines on disk`);
    assert.deepEqual(records.map((r) => r.step), records.map((_, i) => i + 1));
  });
});
