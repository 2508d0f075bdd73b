/**
 * A small seedable pseudo-random generator for parameter initialisation and dropout seeds.
 *
 * tfjs' own random ops are seedable only per call and their truncated normal is fixed at ±2σ,
 * while OLMo truncates at ±cutoff·σ. Generating on the host keeps initialisation deterministic
 * and identical on every backend.
 *
 * @module
 */

/** sfc32 generator seeded through splitmix32; `next()` returns uniform floats in [0, 1). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spareNormal: number | null = null;

  /** Creates a generator; equal seeds give equal streams. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    // splitmix32 expands one number into four well-mixed state words.
    let s = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Fills `out` with uniform 32-bit unsigned integers (the same stream as `nextUint32`). */
  fillUint32(out: Uint32Array): void {
    let a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((c << 21) | (c >>> 11)) >>> 0;
      c = (c + t) >>> 0;
      out[i] = t;
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal sample (Box-Muller; the second value of each pair is kept for later). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return z;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer seed in [0, 2^31) for tfjs ops that take a `seed` (e.g. `tf.dropout`). */
  nextSeed(): number {
    return this.nextUint32() >>> 1;
  }
}

/**
 * Fills `out` with N(0, std²) samples; with `cutoff` set, values outside ±cutoff are redrawn
 * (the distribution of `torch.nn.init.trunc_normal_(mean=0, std, a=-cutoff, b=cutoff)`).
 * Uses the Marsaglia polar method on 32-bit uniforms, which is several times faster than
 * `Rng.normal` for the millions of draws a model initialisation needs.
 */
export function fillNormal(rng: Rng, out: Float32Array, std: number, cutoff: number | null): void {
  if (!(std >= 0)) throw new Error(`fillNormal: std must be >= 0, got ${std}`);
  if (std === 0) return void out.fill(0);
  if (cutoff !== null && !(cutoff > 0)) {
    throw new Error(`fillNormal: truncation bound must be > 0, got ${cutoff}`);
  }
  const bound = cutoff ?? Infinity;
  const scale = 2 / 4294967296;
  const bits = new Uint32Array(Math.min(65536, 2 * out.length + 2));
  let next = bits.length;
  let i = 0;
  while (i < out.length) {
    if (next === bits.length) {
      rng.fillUint32(bits);
      next = 0;
    }
    // (u, v) uniform in the open square (-1, 1)²; accept inside the unit circle.
    const u = (bits[next] + 0.5) * scale - 1;
    const v = (bits[next + 1] + 0.5) * scale - 1;
    next += 2;
    const r = u * u + v * v;
    if (r >= 1) continue;
    const f = std * Math.sqrt((-2 * Math.log(r)) / r);
    const a = u * f;
    if (a >= -bound && a <= bound) out[i++] = a;
    const b = v * f;
    if (i < out.length && b >= -bound && b <= bound) out[i++] = b;
  }
}
