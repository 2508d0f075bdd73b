/**
 * The ZIP reader's and writer's CRC-32 (slicing-by-8): the standard check value, the empty
 * input, and every length around the 8-byte blocks against a byte-at-a-time reference here.
 */
import assert from "node:assert/strict";
import { crc32 } from "../lib/checkpoint/formats/zip.ts";

/** The textbook bit-by-bit CRC-32 (reflected, polynomial 0xEDB88320). */
function referenceCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

Deno.test("crc32: check value, empty input, and lengths 0..40 against a bit-wise reference", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  let seed = 12345;
  const bytes = Uint8Array.from({ length: 40 }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed >>> 24;
  });
  for (let n = 0; n <= bytes.length; n++) {
    for (const start of [0, 3]) {
      const view = bytes.subarray(start, Math.min(bytes.length, start + n));
      assert.equal(crc32(view), referenceCrc32(view), `length ${view.length} at offset ${start}`);
    }
  }
});
