/**
 * Checkpoints are untrusted input: hostile ZIP entry names, malicious pickles (arbitrary
 * globals), unsupported opcodes, cyclic pickles, plus ZIP features torch archives may use
 * (zip64, deflate) — all on hand-made archives (`_handmade_zip.ts`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipReader } from "../lib/checkpoint/formats/zip.ts";
import { unpickle } from "../lib/checkpoint/formats/pickle.ts";
import { PickleWriter } from "../lib/checkpoint/formats/pickle_writer.ts";
import { readTorchStateDict } from "../lib/checkpoint/formats/torch_pt.ts";
import { makeZip } from "./_handmade_zip.ts";

const enc = (s: string) => new TextEncoder().encode(s);
/** Concatenates pickle pieces given as byte arrays or latin-1 strings. */
function pkl(...parts: (string | number[])[]): Uint8Array {
  const bytes: number[] = [];
  for (const p of parts) {
    if (typeof p === "string") { for (const ch of p) bytes.push(ch.charCodeAt(0)); }
    else bytes.push(...p);
  }
  return new Uint8Array(bytes);
}
/** A model.pt-shaped archive whose data.pkl is `pickle`. */
async function writeFakePt(dir: string, pickle: Uint8Array): Promise<string> {
  const path = join(dir, "model.pt");
  await Deno.writeFile(
    path,
    await makeZip([
      { name: "archive/data.pkl", data: pickle },
      { name: "archive/version", data: enc("3\n") },
    ]),
  );
  return path;
}

Deno.test("malicious pickles naming os.system / builtins.eval / posix.system are refused", async () => {
  const dir = await Deno.makeTempDir();
  const marker = join(dir, "pwned");
  try {
    const payloads: [string, Uint8Array][] = [
      // GLOBAL 'os system' ; MARK ; BINUNICODE cmd ; TUPLE ; REDUCE ; STOP
      [
        "os.system",
        pkl([0x80, 2], "cos\nsystem\n(X", [marker.length + 6, 0, 0, 0], `touch ${marker}`, "tR."),
      ],
      ["posix.system", pkl([0x80, 2], "cposix\nsystem\n(X", [4, 0, 0, 0], "true", "tR.")],
      // SHORT_BINUNICODE 'builtins' ; SHORT_BINUNICODE 'eval' ; STACK_GLOBAL ; ... ; REDUCE
      [
        "builtins.eval",
        pkl(
          [0x80, 4, 0x8c, 8],
          "builtins",
          [0x8c, 4],
          "eval",
          [0x93],
          "(X",
          [3, 0, 0, 0],
          "1+1",
          "tR.",
        ),
      ],
      // A harmless-looking torch name outside the allow-list.
      ["torch.load", pkl([0x80, 2], "ctorch\nload\n)R.")],
    ];
    for (const [global, pickle] of payloads) {
      const path = await writeFakePt(dir, pickle);
      await assert.rejects(
        readTorchStateDict(path),
        (e: Error) => {
          assert.match(
            e.message,
            new RegExp(`refusing to load global "${global.replace(".", "\\.")}"`),
          );
          assert.ok(e.message.includes(path), e.message);
          return true;
        },
      );
    }
    assert.equal(await Deno.stat(marker).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unsupported opcodes are reported with their offset", () => {
  const globals = new Map<string, unknown>();
  // NEWOBJ (0x81) at offset 2; INST ('i') at offset 2.
  assert.throws(
    () => unpickle(pkl([0x80, 2, 0x81]), { source: "t.pkl", globals }),
    /t\.pkl: pickle opcode 0x81 at offset 2/,
  );
  assert.throws(
    () => unpickle(pkl([0x80, 2], "ios\nsystem\n"), { source: "t.pkl", globals }),
    /opcode 0x69 'i' at offset 2/,
  );
  // Truncated: BINUNICODE claims 100 bytes; no STOP at the end.
  assert.throws(
    () => unpickle(pkl([0x80, 2, 0x58, 100, 0, 0, 0], "ab"), { source: "t", globals }),
    /truncated/,
  );
  assert.throws(() => unpickle(pkl([0x80, 2, 0x4b, 1]), { source: "t", globals }), /without STOP/);
  // BINPERSID without a persistent loader.
  assert.throws(
    () => unpickle(pkl([0x80, 2, 0x4b, 1, 0x51], "."), { source: "t", globals }),
    /persistent/,
  );
});

Deno.test("unpickle builds Python values; cyclic containers do not hang the torch reader", async () => {
  const globals = new Map<string, unknown>();
  // {"a": [1, -2, 3.5, True, None, (7, 2**40)], "b": b"\x01"}
  const p = pkl(
    [0x80, 2, 0x7d, 0x28, 0x58, 1, 0, 0, 0],
    "a",
    [0x5d, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff],
    [
      0x47,
      0x40,
      0x0c,
      0,
      0,
      0,
      0,
      0,
      0,
      0x88,
      0x4e,
      0x4b,
      7,
      0x8a,
      6,
      0,
      0,
      0,
      0,
      0,
      1,
      0x86,
      0x65,
    ],
    [0x58, 1, 0, 0, 0],
    "b",
    [0x43, 1, 1, 0x75, 0x2e],
  );
  const v = unpickle(p, { source: "t", globals }) as Map<string, unknown>;
  assert.deepEqual(v.get("a"), [1, -2, 3.5, true, null, [7, 2 ** 40]]);
  assert.deepEqual(v.get("b"), new Uint8Array([1]));
  // A dict containing a list that contains itself: EMPTY_DICT, 'x', EMPTY_LIST, BINPUT 0,
  // BINGET 0, APPEND, SETITEM, STOP.
  const dir = await Deno.makeTempDir();
  try {
    const cyclic = pkl([0x80, 2, 0x7d, 0x58, 1, 0, 0, 0], "x", [
      0x5d,
      0x71,
      0,
      0x68,
      0,
      0x61,
      0x73,
      0x2e,
    ]);
    const path = await writeFakePt(dir, cyclic);
    await assert.rejects(readTorchStateDict(path), /entry "x" is not a tensor \(got list\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ZIP entries that could escape a directory are refused, naming the entry", async () => {
  const hostile = ["../evil", "archive/../../evil", "/etc/passwd", "archive\\..\\evil", "C:evil"];
  for (const name of hostile) {
    const bytes = await makeZip([{ name: "archive/data.pkl", data: enc("x") }, {
      name,
      data: enc("pwned"),
    }]);
    await assert.rejects(ZipReader.fromBytes(bytes, "evil.pt"), (e: Error) => {
      assert.ok(e.message.startsWith("evil.pt: refusing ZIP entry"), e.message);
      assert.ok(e.message.includes(`"${name}"`), e.message);
      return true;
    });
  }
  const dup = await makeZip([{ name: "a", data: enc("1") }, { name: "a", data: enc("2") }]);
  await assert.rejects(ZipReader.fromBytes(dup, "dup.zip"), /dup\.zip: duplicate ZIP entry "a"/);
});

Deno.test("ZIP reader: zip64 records, deflate, CRC and truncation", async () => {
  const payload = enc("hello zip64 ".repeat(50));
  for (const zip64 of [false, true]) {
    const bytes = await makeZip([
      { name: "d/stored", data: payload },
      { name: "d/deflated", data: payload, deflate: true },
    ], zip64);
    const zip = await ZipReader.fromBytes(bytes, "x.zip");
    assert.deepEqual(zip.entries.map((e) => e.name), ["d/stored", "d/deflated"]);
    assert.deepEqual(await zip.read("d/stored"), payload);
    assert.deepEqual(await zip.read("d/deflated"), payload);
    assert.ok(zip.entry("d/deflated")!.compressedSize < payload.length);
  }
  const bytes = await makeZip([{ name: "f", data: payload }]);
  const flipped = bytes.slice();
  flipped[40] ^= 0xff; // inside the data of "f" (30-byte header + 1-byte name)
  const zip = await ZipReader.fromBytes(flipped, "flip.zip");
  await assert.rejects(zip.read("f"), /flip\.zip: ZIP entry "f" fails its CRC-32 check/);
  await assert.rejects(zip.read("g"), /flip\.zip: ZIP entry "g" not found/);
  for (const cut of [10, bytes.length - 30, bytes.length - 1]) {
    await assert.rejects(
      ZipReader.fromBytes(bytes.subarray(0, cut), "cut.zip"),
      /cut\.zip: not a valid ZIP archive/,
    );
  }
});

Deno.test("PickleWriter encodes ints exactly as Python's pickle (protocol 2)", () => {
  // Bytes between PROTO 2 and STOP of pickle.dumps(v, protocol=2), from CPython 3.11.
  const python: [number, number[]][] = [
    [255, [75, 255]],
    [256, [77, 0, 1]],
    [65536, [74, 0, 0, 1, 0]],
    [-1, [74, 255, 255, 255, 255]],
    [-(2 ** 31), [74, 0, 0, 0, 128]],
    [2 ** 31, [138, 5, 0, 0, 0, 128, 0]],
    [2 ** 40, [138, 6, 0, 0, 0, 0, 0, 1]],
    [-(2 ** 40), [138, 6, 0, 0, 0, 0, 0, 255]],
    [2 ** 53 - 1, [138, 7, 255, 255, 255, 255, 255, 255, 31]],
    [-129, [74, 127, 255, 255, 255]],
  ];
  for (const [v, body] of python) {
    const bytes = new PickleWriter().int(v).finish();
    assert.deepEqual([...bytes], [0x80, 2, ...body, 0x2e], String(v));
    assert.equal(unpickle(bytes, { source: "t", globals: new Map() }), v);
  }
});

Deno.test("tensor views reaching past their storage, and legacy torch files, are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // {"t": _rebuild_tensor_v2(FloatStorage key "0" of 2 elements, offset 1, size (4,), stride (1,))}
    const p = new PickleWriter();
    p.global("collections", "OrderedDict").emptyTuple().reduce().mark().str("t");
    p.global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(2)
      .tupleFromMark().persistentId();
    p.int(1).intTuple([4]).intTuple([1]).bool(false);
    p.global("collections", "OrderedDict").emptyTuple().reduce().tupleFromMark().reduce();
    const path = join(dir, "view.pt");
    await Deno.writeFile(
      path,
      await makeZip([
        { name: "archive/data.pkl", data: p.setItems().finish() },
        { name: "archive/data/0", data: new Uint8Array(8) },
      ]),
    );
    await assert.rejects(
      readTorchStateDict(path),
      /view\.pt: tensor \.t: view .*reaches element 4 of a 2-element storage/,
    );
    const legacy = join(dir, "legacy.pt");
    await Deno.writeFile(legacy, pkl([0x80, 2, 0x8a, 10], "j\xa8P\x19\xc6\xf9F\x9c\xfcl", "."));
    await assert.rejects(
      readTorchStateDict(legacy),
      /legacy\.pt: legacy \(torch < 1\.6, non-ZIP\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
