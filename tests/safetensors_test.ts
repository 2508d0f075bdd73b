/**
 * safetensors: a hand-assembled file parses to the values written into it, every dtype
 * round-trips with metadata, and malformed files (header length, JSON, dtype, shape,
 * offsets) are refused with errors naming the file and tensor.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "../lib/checkpoint/formats/safetensors.ts";
import type { HostTensor, NamedHostTensors } from "../lib/util/host_tensor.ts";

/** Builds safetensors bytes from a header object and raw data, by the format's definition. */
function assemble(header: unknown, data: Uint8Array, lengthOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("parses a hand-assembled file", () => {
  // a: F32 [2] = [1.5, -2]; b: I64 [1] = [-5]; little-endian.
  const data = new Uint8Array(16);
  const v = new DataView(data.buffer);
  v.setFloat32(0, 1.5, true);
  v.setFloat32(4, -2, true);
  v.setBigInt64(8, -5n, true);
  const bytes = assemble({
    __metadata__: { format: "pt" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "I64", shape: [1], data_offsets: [8, 16] },
  }, data);
  const { tensors, metadata } = parseSafetensors(bytes, "hand.safetensors");
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual(tensors.get("a"), {
    dtype: "float32",
    shape: [2],
    data: new Float32Array([1.5, -2]),
  });
  assert.deepEqual(tensors.get("b")!.data, new BigInt64Array([-5n]));
});

Deno.test("round-trips every dtype, scalars, empty tensors and metadata", async () => {
  const state: NamedHostTensors = new Map<string, HostTensor>([
    ["f32", { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, -4.25]) }],
    ["f16", { dtype: "float16", shape: [3], data: new Uint16Array([0x3c00, 0, 0xfc00]) }],
    ["bf16", { dtype: "bfloat16", shape: [1], data: new Uint16Array([0x3f80]) }],
    ["f64", { dtype: "float64", shape: [1], data: new Float64Array([Math.E]) }],
    ["i64", { dtype: "int64", shape: [2], data: new BigInt64Array([2n ** 62n, -1n]) }],
    ["i32", { dtype: "int32", shape: [1], data: new Int32Array([-(2 ** 31)]) }],
    ["i16", { dtype: "int16", shape: [1], data: new Int16Array([-2]) }],
    ["i8", { dtype: "int8", shape: [1], data: new Int8Array([-1]) }],
    ["u8", { dtype: "uint8", shape: [1], data: new Uint8Array([255]) }],
    ["u16", { dtype: "uint16", shape: [1], data: new Uint16Array([65535]) }],
    ["u32", { dtype: "uint32", shape: [1], data: new Uint32Array([2 ** 32 - 1]) }],
    ["bool", { dtype: "bool", shape: [2], data: new Uint8Array([1, 0]) }],
    ["scalar", { dtype: "float32", shape: [], data: new Float32Array([7]) }],
    ["empty", { dtype: "float32", shape: [0, 5], data: new Float32Array(0) }],
  ]);
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "x.safetensors");
    await writeSafetensors(path, state, { step: "3" });
    const { tensors, metadata } = await readSafetensors(path);
    assert.deepEqual(metadata, { step: "3" });
    assert.deepEqual([...tensors.keys()], [...state.keys()]);
    for (const [k, t] of state) assert.deepEqual(tensors.get(k), t, k);
    // The header is padded so the data starts 8-byte aligned.
    const raw = await Deno.readFile(path);
    assert.equal(Number(new DataView(raw.buffer).getBigUint64(0, true)) % 8, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed files are refused, naming the file and tensor", async () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const cases: [string, Uint8Array, RegExp][] = [
    ["short", new Uint8Array(4), /short\.st: not a safetensors file/],
    ["hugeHeader", assemble({}, f32(0), 1e12), /hugeHeader\.st: corrupt or truncated/],
    ["pastEnd", assemble({}, f32(0), 1000), /pastEnd\.st: corrupt or truncated/],
    [
      "json",
      assemble("x", f32(0)).map((b, i) => (i === 8 ? 0x7b : b)),
      /json\.st: .*not valid JSON/,
    ],
    ["array", assemble([1], f32(0)), /array\.st: safetensors header must be a JSON object/],
    [
      "dtype",
      assemble({ t: { dtype: "F8", shape: [1], data_offsets: [0, 1] } }, f32(1)),
      /dtype\.st: tensor "t" has unsupported dtype "F8"/,
    ],
    [
      "shape",
      assemble({ t: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32(1)),
      /shape\.st: tensor "t" has an invalid shape/,
    ],
    [
      "range",
      assemble({ t: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(2)),
      /range\.st: tensor "t" has data offsets \[0,16\] outside the 8-byte data section/,
    ],
    [
      "negative",
      assemble({ t: { dtype: "F32", shape: [1], data_offsets: [-4, 0] } }, f32(2)),
      /negative\.st: tensor "t" has data offsets/,
    ],
    [
      "size",
      assemble({ t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(2)),
      /size\.st: tensor "t" spans 8 bytes but float32\[3\] needs 12/,
    ],
  ];
  for (const [name, bytes, why] of cases) {
    assert.throws(() => parseSafetensors(bytes, `${name}.st`), why, name);
  }
  await assert.rejects(
    readSafetensors("/nonexistent/x.safetensors"),
    /nonexistent\/x\.safetensors/,
  );
  assert.throws(
    () => serializeSafetensors(new Map([["bad", { dtype: "float32", shape: [3], data: f32(1) }]])),
    /tensor "bad": 4 elements for shape \[3\]/,
  );
});
