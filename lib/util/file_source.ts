/**
 * A `ByteSource` over a file on disk (Deno), read with positioned reads so multi-GiB files are
 * never loaded whole.
 *
 * @module
 */
import { type ByteSource, checkReadRange } from "./byte_source.ts";

/**
 * Opens `path` for random access. Call `close()` when done.
 * @throws Error naming the file when it cannot be opened.
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new Error(`cannot open ${path}: ${(e as Error).message}`);
  }
  let size: number;
  try {
    size = (await file.stat()).size;
  } catch (e) {
    file.close();
    throw new Error(`cannot stat ${path}: ${(e as Error).message}`);
  }
  return {
    size,
    async read(offset, length) {
      checkReadRange(size, offset, length, path);
      const out = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < length) {
        const n = await file.read(out.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      if (filled < length) {
        throw new Error(`${path}: unexpected end of file at byte ${offset + filled}`);
      }
      return out;
    },
    close: () => file.close(),
  };
}
