/**
 * A minimal protocol-2 pickle emitter: just the opcodes needed to write a torch state dict
 * (`torch.save` layout) that Python's unpickler, including torch's `weights_only` one, accepts.
 *
 * @module
 */

/** Appends pickle opcodes to a growing byte buffer. Globals are memoised and reused. */
export class PickleWriter {
  #buf = new Uint8Array(1024);
  #len = 0;
  #memo = new Map<string, number>();
  #nextMemo = 0;

  constructor() {
    this.#bytes(0x80, 2); // PROTO 2
  }

  #bytes(...b: number[]): void {
    this.#raw(new Uint8Array(b));
  }

  #raw(b: Uint8Array): void {
    if (this.#len + b.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + b.length));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  #u32(v: number): number[] {
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  }

  #put(): number {
    const id = this.#nextMemo++;
    if (id < 256) this.#bytes(0x71, id); // BINPUT
    else this.#bytes(0x72, ...this.#u32(id)); // LONG_BINPUT
    return id;
  }

  /** Pushes the global `module.name` (GLOBAL the first time, BINGET afterwards). */
  global(module: string, name: string): this {
    const key = `${module}\n${name}\n`;
    const id = this.#memo.get(key);
    if (id !== undefined) {
      if (id < 256) this.#bytes(0x68, id); // BINGET
      else this.#bytes(0x6a, ...this.#u32(id)); // LONG_BINGET
      return this;
    }
    this.#bytes(0x63); // GLOBAL
    this.#raw(new TextEncoder().encode(key));
    this.#memo.set(key, this.#put());
    return this;
  }

  /** Pushes a str (BINUNICODE). */
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.#bytes(0x58, ...this.#u32(b.length));
    this.#raw(b);
    return this;
  }

  /** Pushes an int (BININT1/BININT2/BININT, or LONG1 beyond 32 bits). */
  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new Error(`cannot pickle ${v} as an int`);
    if (v >= 0 && v < 256) this.#bytes(0x4b, v);
    else if (v >= 0 && v < 65536) this.#bytes(0x4d, v & 0xff, v >>> 8);
    else if (v >= -(2 ** 31) && v < 2 ** 31) this.#bytes(0x4a, ...this.#u32(v));
    else {
      // LONG1: minimal little-endian two's complement.
      const out: number[] = [];
      let x = BigInt(v);
      do {
        out.push(Number(x & 0xffn));
        x >>= 8n;
      } while (!((x === 0n && !(out.at(-1)! & 0x80)) || (x === -1n && out.at(-1)! & 0x80)));
      this.#bytes(0x8a, out.length, ...out);
    }
    return this;
  }

  /** Pushes True/False. */
  bool(v: boolean): this {
    this.#bytes(v ? 0x88 : 0x89);
    return this;
  }

  /** Pushes a MARK. */
  mark(): this {
    this.#bytes(0x28);
    return this;
  }

  /** Pops everything down to the last MARK into a tuple (TUPLE). */
  tupleFromMark(): this {
    this.#bytes(0x74);
    return this;
  }

  /** Pushes a tuple of ints (EMPTY_TUPLE, TUPLE1..3, or MARK ... TUPLE). */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.#bytes(0x29), this;
    if (values.length > 3) this.mark();
    for (const v of values) this.int(v);
    this.#bytes(values.length > 3 ? 0x74 : 0x84 + values.length);
    return this;
  }

  /** Pushes an empty tuple. */
  emptyTuple(): this {
    this.#bytes(0x29);
    return this;
  }

  /** Pops (callable, args) and pushes callable(*args) (REDUCE). */
  reduce(): this {
    this.#bytes(0x52);
    return this;
  }

  /** Pops a persistent id and pushes what it refers to (BINPERSID). */
  persistentId(): this {
    this.#bytes(0x51);
    return this;
  }

  /** Pops key/value pairs down to the last MARK into the dict below them (SETITEMS). */
  setItems(): this {
    this.#bytes(0x75);
    return this;
  }

  /** Ends the pickle (STOP) and returns its bytes. */
  finish(): Uint8Array {
    this.#bytes(0x2e);
    return this.#buf.slice(0, this.#len);
  }
}
