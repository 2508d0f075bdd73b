/**
 * Writes uncompressed ("stored") ZIP archives laid out like torch's: entry data aligned to 64
 * bytes (padding in a local extra field "FB" filled with "Z"), no data descriptors, zip64 fields
 * only where a size or offset passes 4 GiB. Streams to a temporary sibling, then renames.
 *
 * @module
 */
import { dirname } from "node:path";
import {
  crc32,
  SIG_CENTRAL,
  SIG_EOCD,
  SIG_LOCAL,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
  U16_MAX,
  U32_MAX,
  unsafeEntryNameReason,
} from "./zip.ts";

const DATA_ALIGNMENT = 64;
const FLAG_UTF8 = 0x0800;

/** A file to store in an archive. */
export interface ZipInputEntry {
  /** Path inside the archive, `/`-separated, relative. */
  name: string;
  /** Contents, stored uncompressed. */
  data: Uint8Array;
}

/** Little-endian record builder. */
class Record {
  readonly bytes: number[] = [];
  u16(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]);
    return this;
  }
  build(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}

/**
 * Writes `entries` as a stored ZIP archive at `path` (atomically: temporary name, then rename).
 * @throws Error naming an entry whose name is not a safe relative path.
 */
export async function writeZipStored(
  path: string,
  entries: Iterable<ZipInputEntry>,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  let offset = 0;
  const write = async (b: Uint8Array) => {
    for (let done = 0; done < b.length;) done += await file.write(b.subarray(done));
    offset += b.length;
  };
  try {
    const central = new Record();
    let count = 0;
    for (const { name, data } of entries) {
      const unsafe = unsafeEntryNameReason(name);
      if (unsafe) throw new Error(`cannot write ZIP entry "${name}": ${unsafe}`);
      const nameBytes = new TextEncoder().encode(name);
      const crc = crc32(data);
      const bigData = data.length >= U32_MAX;
      const bigOffset = offset >= U32_MAX;
      const version = bigData || bigOffset ? 45 : 20;
      const size32 = bigData ? U32_MAX : data.length;
      // Local header: zip64 sizes when needed, then alignment padding for the data.
      const extra = new Record();
      if (bigData) extra.u16(1).u16(16).u64(data.length).u64(data.length);
      const unpadded = offset + 30 + nameBytes.length + extra.bytes.length + 4;
      const pad = (DATA_ALIGNMENT - (unpadded % DATA_ALIGNMENT)) % DATA_ALIGNMENT;
      extra.u16(0x4246).u16(pad).raw(new Uint8Array(pad).fill(0x5a));
      const headerOffset = offset;
      await write(
        new Record().u32(SIG_LOCAL).u16(version).u16(FLAG_UTF8).u16(0).u16(0).u16(0).u32(crc)
          .u32(size32).u32(size32).u16(nameBytes.length).u16(extra.bytes.length).raw(nameBytes)
          .raw(extra.bytes).build(),
      );
      await write(data);
      // Central entry: zip64 extra holds exactly the fields that are 0xFFFFFFFF.
      const z64 = new Record();
      if (bigData) z64.u64(data.length).u64(data.length);
      if (bigOffset) z64.u64(headerOffset);
      central.u32(SIG_CENTRAL).u16(version).u16(version).u16(FLAG_UTF8).u16(0).u16(0).u16(0)
        .u32(crc).u32(size32).u32(size32).u16(nameBytes.length)
        .u16(z64.bytes.length ? 4 + z64.bytes.length : 0).u16(0).u16(0).u16(0).u32(0)
        .u32(bigOffset ? U32_MAX : headerOffset).raw(nameBytes);
      if (z64.bytes.length) central.u16(1).u16(z64.bytes.length).raw(z64.bytes);
      count++;
    }
    const cdOffset = offset;
    const cdSize = central.bytes.length;
    await write(central.build());
    const end = new Record();
    if (count >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX) {
      end.u32(SIG_ZIP64_EOCD).u64(44).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count)
        .u64(cdSize).u64(cdOffset).u32(SIG_ZIP64_LOCATOR).u32(0).u64(offset).u32(1);
    }
    const count16 = Math.min(count, U16_MAX);
    end.u32(SIG_EOCD).u16(0).u16(0).u16(count16).u16(count16).u32(Math.min(cdSize, U32_MAX))
      .u32(Math.min(cdOffset, U32_MAX)).u16(0);
    await write(end.build());
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  await Deno.rename(tmp, path);
}
