/**
 * The safetensors format (hand-written: no maintained npm package exists), in memory only: no
 * file-system access here, so it also runs in a browser. `safetensors.ts` reads and writes files.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces to a
 * multiple of 8) mapping each tensor name to `{dtype, shape, data_offsets: [begin, end]}` with
 * offsets relative to the data section, an optional `__metadata__` string map, then the raw
 * little-endian data. Files are untrusted input: every offset, shape and dtype is validated.
 *
 * @module
 */
import type { HostDType, HostTensor, NamedHostTensors } from "../../util/host_tensor.ts";
import { ITEM_SIZE, numElements, typedArrayOf } from "../../util/host_tensor.ts";

const ST_TO_HOST: Record<string, HostDType> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F64: "float64",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  U16: "uint16",
  U32: "uint32",
  BOOL: "bool",
};
const HOST_TO_ST: Record<HostDType, string> = Object.fromEntries(
  Object.entries(ST_TO_HOST).map(([k, v]) => [v, k]),
) as Record<HostDType, string>;
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Contents of a safetensors file. */
export interface SafetensorsContents {
  /** Tensors in file (header) order. */
  tensors: NamedHostTensors;
  /** The `__metadata__` string map, empty when absent. */
  metadata: Record<string, string>;
}

/**
 * Parses safetensors bytes. `source` names the file in error messages.
 * @throws Error naming the file and tensor when the header or an entry is malformed.
 */
export function parseSafetensors(bytes: Uint8Array, source = "<bytes>"): SafetensorsContents {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file (shorter than 8 bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) {
    throw new Error(
      `${source}: corrupt or truncated safetensors file (header length ${headerLen}, file ${bytes.length} bytes)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${source}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new Error(`${source}: safetensors header must be a JSON object`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors: NamedHostTensors = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = ST_TO_HOST[String(e?.dtype)];
    if (!dtype) {
      throw new Error(
        `${source}: tensor "${name}" has unsupported dtype ${JSON.stringify(e?.dtype)}`,
      );
    }
    if (
      !Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw new Error(
        `${source}: tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`,
      );
    }
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o)) ||
      offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen
    ) {
      throw new Error(
        `${source}: tensor "${name}" has data offsets ${
          JSON.stringify(offs)
        } outside the ${dataLen}-byte data section (truncated file?)`,
      );
    }
    const shape = e.shape as number[];
    const expected = numElements(shape) * ITEM_SIZE[dtype];
    if (offs[1] - offs[0] !== expected) {
      throw new Error(
        `${source}: tensor "${name}" spans ${offs[1] - offs[0]} bytes but ${dtype}${
          JSON.stringify(shape)
        } needs ${expected}`,
      );
    }
    const raw = bytes.subarray(dataStart + offs[0], dataStart + offs[1]);
    // Copy into a fresh, aligned buffer so typed views are valid and independent of the file.
    const data = typedArrayOf(dtype, raw.slice().buffer);
    tensors.set(name, { dtype, shape: [...shape], data });
  }
  return { tensors, metadata };
}

/** Serialises tensors (in iteration order) and optional string metadata to safetensors bytes. */
export function serializeSafetensors(
  tensors: NamedHostTensors | Iterable<[string, HostTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = [...tensors];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const n = numElements(t.shape);
    if (t.data.length !== n) {
      throw new Error(
        `tensor "${name}": ${t.data.length} elements for shape ${JSON.stringify(t.shape)}`,
      );
    }
    const size = n * ITEM_SIZE[t.dtype];
    header[name] = {
      dtype: HOST_TO_ST[t.dtype],
      shape: t.shape,
      data_offsets: [offset, offset + size],
    };
    offset += size;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (new TextEncoder().encode(json).length % 8)) % 8;
  json += " ".repeat(pad);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}
