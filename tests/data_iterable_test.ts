import assert from "node:assert/strict";
import { join } from "node:path";
import {
  GLOBAL_INDICES_FILE,
  type IndexedDataset,
  IterableDataset,
  type IterableDatasetOptions,
  readGlobalIndices,
} from "../lib/data/iterable_dataset.ts";
import { instancesForStep } from "../lib/data/inspect.ts";

// Ports of OLMo tests/data/iterable_dataset_test.py (items [[0]..[19]], no shuffle), then the
// shuffled order against numpy, resume at another world size, and the indices file.

const items = (n: number): IndexedDataset<number[]> => ({ length: n, get: (i) => [i] });

function rankValues(n: number, opts: IterableDatasetOptions): number[] {
  return [...new IterableDataset(items(n), { shuffle: false, ...opts })].map((x) => x.inputIds[0]);
}

const range = (start: number, end: number, step = 1) =>
  Array.from({ length: Math.ceil((end - start) / step) }, (_, i) => start + i * step);

Deno.test("OLMo iterable_dataset_test: sharding, padding, drop_last, max_examples, start_index", () => {
  const ds2 = new IterableDataset(items(20), { shuffle: false, worldSize: 2, rank: 0 });
  assert.equal(ds2.totalSize, 20);
  assert.deepEqual(rankValues(20, { worldSize: 2, rank: 0 }), range(0, 20, 2));
  assert.equal(new IterableDataset(items(20), { shuffle: false, worldSize: 3 }).totalSize, 21);
  assert.deepEqual(rankValues(20, { worldSize: 3, rank: 0 }), range(0, 20, 3));
  assert.deepEqual(rankValues(20, { worldSize: 3, rank: 2 }), [2, 5, 8, 11, 14, 17, 0]);
  const dropLast = new IterableDataset(items(20), { shuffle: false, worldSize: 3, dropLast: true });
  assert.equal(dropLast.totalSize, 18);
  assert.deepEqual(rankValues(20, { worldSize: 3, rank: 0, dropLast: true }), range(0, 18, 3));
  assert.deepEqual(rankValues(20, { worldSize: 2, rank: 0, maxExamples: 12 }), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(rankValues(20, { worldSize: 2, rank: 0, startIndex: 12 }), [12, 14, 16, 18]);
  for (const worldSize of [2, 4]) {
    const seen = range(0, worldSize).flatMap((rank) =>
      rankValues(20, { worldSize, rank, startIndex: 4 })
    );
    assert.equal(seen.length, 16);
    assert.deepEqual([...new Set(seen)].sort((a, b) => a - b), range(4, 20));
  }
  // Padding repeats from the start as often as needed (3 items over 8 ranks).
  assert.deepEqual(range(0, 8).flatMap((rank) => rankValues(3, { worldSize: 8, rank })), [
    0,
    1,
    2,
    0,
    1,
    2,
    0,
    1,
  ]);
  assert.throws(
    () => new IterableDataset(items(20), { worldSize: 2, startIndex: 3 }),
    /multiple of worldSize/,
  );
  assert.throws(
    () => new IterableDataset(items(20), { worldSize: 4, maxExamples: 10 }),
    /multiple of worldSize/,
  );
  assert.throws(
    () => new IterableDataset(items(20), { worldSize: 2, rank: 2 }),
    /rank 2 is not in/,
  );
});

Deno.test("shuffled global order is numpy's and depends on the seed only", () => {
  const ds = new IterableDataset(items(20), { seed: 6198 });
  // Spec Appendix A: np.random.Generator(np.random.PCG64(6198)).shuffle(np.arange(20)).
  const numpy = [17, 4, 14, 3, 5, 12, 6, 15, 18, 13, 10, 11, 2, 19, 0, 16, 7, 9, 8, 1];
  assert.deepEqual(Array.from(ds.globalIndices()), numpy);
  assert.deepEqual([...ds].map((x) => x.index), numpy);
  assert.deepEqual([...ds].map((x) => x.inputIds[0]), numpy);
  const again = new IterableDataset(items(20), { seed: 6198, worldSize: 3, rank: 1 });
  assert.deepEqual(Array.from(again.globalIndices()), [...numpy, 17]); // padded to 21
  assert.notDeepEqual(
    Array.from(new IterableDataset(items(20), { seed: 6199 }).globalIndices()),
    numpy,
  );
});

Deno.test("a restart at another world size continues the same global sequence", () => {
  const n = 103;
  const reference = Array.from(new IterableDataset(items(n), { seed: 17 }).globalIndices()).slice(
    0,
    96,
  );
  // Rank r's j-th item is global position startIndex + r + j*worldSize.
  const run = (worldSize: number, startIndex: number, count: number) => {
    const byPosition = new Map<number, number>();
    for (let rank = 0; rank < worldSize; rank++) {
      const ds = new IterableDataset(items(n), {
        seed: 17,
        worldSize,
        rank,
        startIndex,
        maxExamples: 96,
      });
      [...ds].slice(0, count / worldSize).forEach((x, j) =>
        byPosition.set(startIndex + rank + j * worldSize, x.index)
      );
    }
    return byPosition;
  };
  const first = run(2, 0, 40); // 40 examples on 2 ranks
  const second = run(4, 40, 32); // resume on 4 ranks
  const third = run(3, 72, 24); // and on 3
  const merged = [...first, ...second, ...third].sort((a, b) => a[0] - b[0]).map(([, idx]) => idx);
  assert.deepEqual(merged, reference);
});

Deno.test("global_indices.npy is raw uint32, written by fs-local rank 0 only", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const rank1 = new IterableDataset(items(10), {
      seed: 6198,
      worldSize: 2,
      rank: 1,
      workDir: join(dir, "r1"),
    });
    assert.equal(rank1.globalIndicesPath, join(dir, "r1", GLOBAL_INDICES_FILE));
    assert.equal([...Deno.readDirSync(dir)].length, 0);
    new IterableDataset(items(10), { seed: 6198, worldSize: 2, rank: 0, workDir: dir });
    const bytes = Deno.readFileSync(join(dir, GLOBAL_INDICES_FILE));
    assert.equal(bytes.length, 40);
    assert.deepEqual(Array.from(bytes.subarray(0, 8)), [2, 0, 0, 0, 4, 0, 0, 0]); // numpy: 2, 4, ...
    assert.deepEqual(Array.from(readGlobalIndices(join(dir, GLOBAL_INDICES_FILE))), [
      2,
      4,
      7,
      3,
      8,
      9,
      0,
      6,
      1,
      5,
    ]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [GLOBAL_INDICES_FILE]); // no temp left
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("instancesForStep: step N is global positions [(N-1)G, NG), split across ranks", () => {
  const global = Uint32Array.from([2, 4, 7, 3, 8, 9, 0, 6, 1, 5]);
  const step2 = instancesForStep(global, { step: 2, globalBatchSize: 4, worldSize: 2 });
  assert.deepEqual(step2.ranks.map((r) => r.positions), [[4, 6], [5, 7]]);
  assert.deepEqual(step2.ranks.map((r) => r.indices), [[8, 0], [9, 6]]);
  // It agrees with what each rank's IterableDataset yields for its 2nd device batch.
  for (const rank of [0, 1]) {
    const yielded = [...new IterableDataset(items(10), { seed: 6198, worldSize: 2, rank })].map((
      x,
    ) => x.index);
    assert.deepEqual(yielded.slice(2, 4), step2.ranks[rank].indices);
  }
  assert.throws(() => instancesForStep(global, { step: 3, globalBatchSize: 4 }), /only 10/);
  assert.throws(
    () => instancesForStep(global, { step: 1, globalBatchSize: 3, worldSize: 2 }),
    /not divisible/,
  );
});
