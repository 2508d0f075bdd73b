import assert from "node:assert/strict";
import { numpyPermutation, numpyShuffle, PCG64, seedSequenceState } from "../lib/data/pcg64.ts";

// Expected values computed with numpy 2.4:
//   a = np.arange(n, dtype=np.uint32); np.random.Generator(np.random.PCG64(seed)).shuffle(a)
// (the first three are spec Appendix A).

Deno.test("permutation equals numpy's Generator(PCG64(seed)).shuffle", () => {
  assert.deepEqual(Array.from(numpyPermutation(10, 6198)), [2, 4, 7, 3, 8, 9, 0, 6, 1, 5]);
  assert.deepEqual(Array.from(numpyPermutation(10, 0)), [4, 6, 2, 7, 3, 5, 9, 0, 8, 1]);
  assert.deepEqual(
    Array.from(numpyPermutation(20, 6198)),
    [17, 4, 14, 3, 5, 12, 6, 15, 18, 13, 10, 11, 2, 19, 0, 16, 7, 9, 8, 1],
  );
  // A seed above 2^32 (two entropy words).
  assert.deepEqual(
    Array.from(numpyPermutation(12, 2 ** 40 + 7)),
    [8, 2, 6, 1, 11, 9, 3, 7, 4, 5, 0, 10],
  );
});

Deno.test("a 100000-element shuffle matches numpy at both ends and in a checksum", () => {
  const p = numpyPermutation(100000, 42);
  assert.deepEqual(Array.from(p.subarray(0, 8)), [
    45262,
    49850,
    30394,
    90177,
    95569,
    10900,
    193,
    98908,
  ]);
  assert.deepEqual(Array.from(p.subarray(-5)), [34957, 70338, 5668, 22113, 75400]);
  let checksum = 0n; // numpy: (a.astype(np.uint64) * np.arange(n, dtype=np.uint64)).sum()
  for (let i = 0; i < p.length; i++) checksum += BigInt(p[i]) * BigInt(i);
  assert.equal(checksum, 249152033752609n);
});

Deno.test("SeedSequence state and raw PCG64 outputs equal numpy's", () => {
  const s = seedSequenceState(6198, 4);
  const u64 = (i: number) => (BigInt(s[2 * i + 1]) << 32n) | BigInt(s[2 * i]);
  // np.random.SeedSequence(6198).generate_state(4, np.uint64)
  assert.deepEqual([0, 1, 2, 3].map(u64), [
    18226109254346334829n,
    11509511256931753152n,
    6908304897609655621n,
    406285045705944941n,
  ]);
  // np.random.PCG64(6198).random_raw(3)
  const g = new PCG64(6198);
  const raw = [0, 1, 2].map(() => {
    const [lo, hi] = g.next64();
    return (BigInt(hi) << 32n) | BigInt(lo);
  });
  assert.deepEqual(raw, [12993904571665206773n, 5279284732208017281n, 8264598822411623240n]);
});

Deno.test("equal seeds give equal orders, different seeds different ones; shuffle is in place", () => {
  assert.deepEqual(numpyPermutation(1000, 7), numpyPermutation(1000, 7));
  assert.notDeepEqual(numpyPermutation(1000, 7), numpyPermutation(1000, 8));
  const values = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  numpyShuffle(values, 6198);
  assert.deepEqual(values, [12, 14, 17, 13, 18, 19, 10, 16, 11, 15]);
  assert.throws(() => new PCG64(-1), /non-negative/);
});
