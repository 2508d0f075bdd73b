/**
 * numpy-compatible random permutation: `np.random.Generator(np.random.PCG64(seed)).shuffle(x)`.
 *
 * OLMo shuffles its training instances with exactly that call, so reproducing its data order
 * bit for bit needs the same three pieces numpy uses:
 * - `SeedSequence(seed).generate_state(4, uint64)` to turn an integer seed into 256 bits;
 * - the PCG64 bit generator (128-bit LCG, XSL-RR output), with numpy's buffered 32-bit draws;
 * - `random_interval` (mask-and-reject bounded ints) inside a backwards Fisher–Yates loop.
 *
 * 128-bit arithmetic uses eight 16-bit limbs held in plain numbers (products stay below 2^53),
 * which is several times faster than BigInt in the hot loop.
 *
 * @module
 */

const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

/** PCG's default 128-bit multiplier 0x2360ED051FC65DA44385DF649FCCF645 as 16-bit limbs, low first. */
const MULTIPLIER_LIMBS = [0xf645, 0x9fcc, 0xdf64, 0x4385, 0x5da4, 0x1fc6, 0xed05, 0x2360];

/** Splits a non-negative integer seed into little-endian 32-bit words (numpy's entropy coercion). */
function seedWords(seed: number | bigint): number[] {
  let value = BigInt(seed);
  if (value < 0n) throw new Error(`PCG64 seed must be a non-negative integer, got ${seed}`);
  const words: number[] = [];
  do {
    words.push(Number(value & 0xffffffffn));
    value >>= 32n;
  } while (value > 0n);
  return words;
}

/**
 * `np.random.SeedSequence(seed).generate_state(nWords64, np.uint64)`, returned as 32-bit words
 * (low word of each uint64 first).
 */
export function seedSequenceState(seed: number | bigint, nWords64: number): Uint32Array {
  if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
    throw new Error(`PCG64 seed must be a safe integer, got ${seed}`);
  }
  const entropy = seedWords(seed);
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    value = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const pool = new Array<number>(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  const out = new Uint32Array(nWords64 * 2);
  let genConst = INIT_B;
  for (let i = 0; i < out.length; i++) {
    let v = (pool[i % POOL_SIZE] ^ genConst) >>> 0;
    genConst = Math.imul(genConst, MULT_B) >>> 0;
    v = Math.imul(v, genConst) >>> 0;
    out[i] = (v ^ (v >>> 16)) >>> 0;
  }
  return out;
}

/** Eight 16-bit limbs (low first) of a 128-bit value built from four 32-bit words, high first. */
function limbsFromWords(w3: number, w2: number, w1: number, w0: number): number[] {
  return [w0, w1, w2, w3].flatMap((w) => [w & 0xffff, w >>> 16]);
}

/** The PCG64 bit generator with numpy's seeding and its buffered `next_uint32`. */
export class PCG64 {
  #state: number[];
  #inc: number[];
  #bufferedUint32: number | null = null;

  /** Seeds like `np.random.PCG64(seed)`. */
  constructor(seed: number | bigint) {
    const s = seedSequenceState(seed, 4); // uint64 words v0..v3 as (lo, hi) pairs
    // numpy: state seed = (v0 << 64) | v1, increment seed = (v2 << 64) | v3.
    const initState = limbsFromWords(s[1], s[0], s[3], s[2]);
    const initSeq = limbsFromWords(s[5], s[4], s[7], s[6]);
    // inc = (initseq << 1) | 1
    this.#inc = new Array<number>(8);
    let carry = 1;
    for (let i = 0; i < 8; i++) {
      const v = initSeq[i] * 2 + carry;
      this.#inc[i] = v & 0xffff;
      carry = v >>> 16;
    }
    this.#state = [0, 0, 0, 0, 0, 0, 0, 0];
    this.#step();
    this.#state = add128(this.#state, initState);
    this.#step();
  }

  /** state = state * MULT + inc (mod 2^128). */
  #step(): void {
    const a = this.#state;
    const out = this.#inc.slice();
    for (let i = 0; i < 8; i++) {
      let carry = 0;
      const ai = a[i];
      if (ai === 0) continue;
      for (let j = 0; i + j < 8; j++) {
        const v = out[i + j] + ai * MULTIPLIER_LIMBS[j] + carry;
        out[i + j] = v % 65536;
        carry = Math.floor(v / 65536);
      }
    }
    this.#state = out;
  }

  /** Next 64-bit output as [low32, high32] (XSL-RR of the advanced state). */
  next64(): [number, number] {
    this.#step();
    const s = this.#state;
    const lo = ((s[0] | (s[1] << 16)) ^ (s[4] | (s[5] << 16))) >>> 0;
    const hi = ((s[2] | (s[3] << 16)) ^ (s[6] | (s[7] << 16))) >>> 0;
    const rot = s[7] >>> 10; // state >> 122
    if (rot === 0) return [lo, hi];
    if (rot === 32) return [hi, lo];
    if (rot < 32) {
      return [((lo >>> rot) | (hi << (32 - rot))) >>> 0, ((hi >>> rot) | (lo << (32 - rot))) >>> 0];
    }
    const r = rot - 32;
    return [((hi >>> r) | (lo << (32 - r))) >>> 0, ((lo >>> r) | (hi << (32 - r))) >>> 0];
  }

  /** numpy's `next_uint32`: the low half of a 64-bit draw, then its high half. */
  nextUint32(): number {
    if (this.#bufferedUint32 !== null) {
      const v = this.#bufferedUint32;
      this.#bufferedUint32 = null;
      return v;
    }
    const [lo, hi] = this.next64();
    this.#bufferedUint32 = hi;
    return lo;
  }

  /** numpy's `random_interval(max)`: uniform integer in [0, max] by masking and rejection. */
  interval(max: number): number {
    if (max === 0) return 0;
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
      throw new Error(`PCG64.interval supports 0 <= max < 2^32, got ${max}`);
    }
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0; while (value > max);
    return value;
  }
}

function add128(a: number[], b: number[]): number[] {
  const out = new Array<number>(8);
  let carry = 0;
  for (let i = 0; i < 8; i++) {
    const v = a[i] + b[i] + carry;
    out[i] = v & 0xffff;
    carry = v >>> 16;
  }
  return out;
}

/**
 * Shuffles `values` in place exactly like
 * `np.random.Generator(np.random.PCG64(seed)).shuffle(values)` on a 1-D array.
 */
export function numpyShuffle<T extends { length: number; [i: number]: number }>(
  values: T,
  seed: number | bigint,
): T {
  const rng = new PCG64(seed);
  for (let i = values.length - 1; i >= 1; i--) {
    const j = rng.interval(i);
    const tmp = values[j];
    values[j] = values[i];
    values[i] = tmp;
  }
  return values;
}

/** `arange(n)` as uint32, shuffled with numpy's algorithm (OLMo's global instance order). */
export function numpyPermutation(n: number, seed: number | bigint): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return numpyShuffle(out, seed);
}
