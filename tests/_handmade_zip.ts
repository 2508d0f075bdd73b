/**
 * Builds ZIP archives byte by byte for tests, independently of `lib/checkpoint/zip.ts`, so tests
 * can plant hostile entry names, forced zip64 records, deflated entries and malicious pickles.
 *
 * @module
 */

/** One entry of a hand-made archive. */
export interface HandmadeEntry {
  name: string;
  data: Uint8Array;
  /** Compress with raw deflate (method 8). */
  deflate?: boolean;
}

// CRC-32 (bitwise, deliberately not the table version of the library).
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

class Bytes {
  parts: number[] = [];
  u16(v: number) {
    this.parts.push(v & 0xff, (v >> 8) & 0xff);
    return this;
  }
  u32(v: number) {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  u64(v: number) {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  raw(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
    return this;
  }
}

/**
 * Returns the bytes of a ZIP holding `entries`. With `zip64`, every size and offset in the
 * central directory is 0xFFFFFFFF with the real value in a zip64 extra field, and the end of
 * the archive carries zip64 end records, as writers do for archives over 4 GiB.
 */
export async function makeZip(entries: HandmadeEntry[], zip64 = false): Promise<Uint8Array> {
  const out = new Bytes();
  const central = new Bytes();
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = e.deflate ? await deflateRaw(e.data) : e.data;
    const offset = out.parts.length;
    const crc = crc32(e.data);
    out.u32(0x04034b50).u16(20).u16(0).u16(e.deflate ? 8 : 0).u16(0).u16(0).u32(crc)
      .u32(body.length).u32(e.data.length).u16(name.length).u16(0).raw(name).raw(body);
    const big = zip64 ? 0xffffffff : -1;
    central.u32(0x02014b50).u16(45).u16(45).u16(0).u16(e.deflate ? 8 : 0).u16(0).u16(0)
      .u32(crc).u32(zip64 ? big : body.length).u32(zip64 ? big : e.data.length)
      .u16(name.length).u16(zip64 ? 28 : 0).u16(0).u16(0).u16(0).u32(0)
      .u32(zip64 ? big : offset).raw(name);
    if (zip64) central.u16(1).u16(24).u64(e.data.length).u64(body.length).u64(offset);
  }
  const cdOffset = out.parts.length;
  out.raw(new Uint8Array(central.parts));
  const cdSize = central.parts.length;
  if (zip64) {
    const z64 = out.parts.length;
    out.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(entries.length)
      .u64(entries.length).u64(cdSize).u64(cdOffset);
    out.u32(0x07064b50).u32(0).u64(z64).u32(1);
    out.u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff)
      .u16(0);
  } else {
    out.u32(0x06054b50).u16(0).u16(0).u16(entries.length).u16(entries.length).u32(cdSize)
      .u32(cdOffset).u16(0);
  }
  return new Uint8Array(out.parts);
}
