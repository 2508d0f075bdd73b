/**
 * Random access to the bytes of a file, whatever holds it: a file on disk (`file_source.ts`,
 * Deno only) or bytes in memory (a download or a dropped file in the browser). Readers of large
 * formats (`model.pt` ZIP archives) take a `ByteSource`, so the same reader runs in Deno and in a
 * browser.
 *
 * @module
 */

/** Random access to a sequence of bytes. */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (a copy the caller owns); rejects past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying handle; further reads fail. */
  close(): void;
}

/** Rejects a read that does not lie within `size` bytes. */
export function checkReadRange(size: number, offset: number, length: number, label: string): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0)) {
    throw new Error(`${label}: invalid read of ${length} bytes at ${offset}`);
  }
  if (length < 0 || offset + length > size) {
    throw new Error(
      `${label}: unexpected end of data at byte ${size} (read ${length} at ${offset})`,
    );
  }
}

/** A source over bytes already in memory. */
export function bytesSource(bytes: Uint8Array, label = "<bytes>"): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => {
      try {
        checkReadRange(bytes.length, offset, length, label);
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
    close: () => {},
  };
}
