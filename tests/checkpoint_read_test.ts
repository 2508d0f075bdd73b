/**
 * Model checkpoint reading: OLMo's `model.pt` against the same tensors in `model.safetensors`
 * (both fixture cases), a real `torch.save` file with views and every dtype
 * (`testdata/torch_views.pt`, made by PyTorch 1.13), the `model.pt` writer, corrupt files, and
 * `loadModelCheckpoint` from local folders and from a local HTTP server (cache reuse, 404s,
 * cache paths that must not escape).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { readTorchStateDict, writeTorchStateDict } from "../lib/checkpoint/formats/torch_pt.ts";
import { ZipReader } from "../lib/checkpoint/formats/zip.ts";
import { openFileSource } from "../lib/util/file_source.ts";
import { loadModelCheckpoint } from "../lib/checkpoint/load_model.ts";
import { cachePathFor, resolveResource, ResourceNotFoundError } from "../lib/checkpoint/remote.ts";
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  type HostTensor,
  type NamedHostTensors,
} from "../lib/util/host_tensor.ts";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";

const TORCH_VIEWS = fileURLToPath(new URL("./testdata/torch_views.pt", import.meta.url));

function assertSameTensors(actual: NamedHostTensors, expected: NamedHostTensors): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assert.equal(a.dtype, e.dtype, name);
    assert.deepEqual(a.shape, e.shape, name);
    assert.deepEqual(a.data, e.data, name);
  }
}

const values = (t: HostTensor) => Array.from(t.data as ArrayLike<number>);

Deno.test({
  name: "OLMo model.pt has the same names, shapes and values as model.safetensors",
  ignore: !HAS_SHARED,
  fn: async () => {
    for (const c of OLMO_REFERENCE_CASES) {
      const pt = await readTorchStateDict(join(referenceCaseDir(c), "model.pt"));
      const st = (await readSafetensors(join(referenceCaseDir(c), "model.safetensors"))).tensors;
      assert.ok(pt.size >= 10, c);
      assertSameTensors(pt, st);
    }
  },
});

Deno.test("reads a real torch.save file: views, shared storages, every dtype", async () => {
  const sd = await readTorchStateDict(TORCH_VIEWS);
  const base = (i: number, j: number) => 6 * i + j; // base = arange(24).reshape(4, 6)
  const grid = (rows: number, cols: number, f: (i: number, j: number) => number) =>
    Array.from({ length: rows * cols }, (_, k) => f(Math.floor(k / cols), k % cols));
  const expect: Record<string, [number[], number[]]> = {
    f32_base: [[4, 6], grid(4, 6, base)],
    f32_t: [[6, 4], grid(6, 4, (i, j) => base(j, i))],
    f32_slice: [[2, 3], grid(2, 3, (i, j) => base(1 + i, 2 + j))],
    f32_row: [[6], grid(1, 6, (_, j) => base(2, j))],
    f32_step: [[4, 3], grid(4, 3, (i, j) => base(i, 2 * j))],
    f32_expand: [[2, 3], grid(2, 3, (_, j) => j)],
    // arange(24).reshape(2, 3, 4).permute(2, 0, 1)[a, b, c] = 12 b + 4 c + a
    f32_3d_permuted: [
      [4, 2, 3],
      Array.from({ length: 24 }, (_, k) => {
        const [a, b, c] = [Math.floor(k / 6), Math.floor(k / 3) % 2, k % 3];
        return 12 * b + 4 * c + a;
      }),
    ],
    f64: [[4], [0, 1 / 3, 2 / 3, 1]],
    i32: [[3], [-1, 2, 2 ** 31 - 1]],
    i16: [[2], [-300, 300]],
    i8: [[2], [-128, 127]],
    u8: [[2], [0, 255]],
    bool: [[3], [1, 0, 1]],
    scalar: [[], [3.5]],
    empty: [[0, 3], []],
    param: [[4], [0, 1, 2, 3]],
  };
  for (const [name, [shape, data]] of Object.entries(expect)) {
    const t = sd.get(name)!;
    assert.deepEqual(t.shape, shape, name);
    assert.deepEqual(values(t), data, name);
  }
  assert.equal(sd.get("f64")!.dtype, "float64");
  assert.equal(sd.get("bool")!.dtype, "bool");
  assert.deepEqual(sd.get("i64")!.data, new BigInt64Array([-3n, 2n ** 40n, 7n]));
  assert.equal(sd.get("f16")!.dtype, "float16");
  assert.deepEqual([...float16ToFloat32(sd.get("f16")!.data as Uint16Array)], [0, 0.5, 1, 1.5, 2]);
  assert.equal(sd.get("bf16")!.dtype, "bfloat16");
  assert.deepEqual([...bfloat16ToFloat32(sd.get("bf16")!.data as Uint16Array)], [
    0,
    0.25,
    0.5,
    0.75,
    1,
  ]);
  assert.equal(sd.size, Object.keys(expect).length + 3);
});

Deno.test("writeTorchStateDict round-trips every torch dtype in a torch-shaped archive", async () => {
  await withTempDir(async (dir) => {
    const state: NamedHostTensors = new Map<string, HostTensor>([
      ["w", { dtype: "float32", shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-7, 9]) }],
      ["h", { dtype: "float16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }],
      ["b", { dtype: "bfloat16", shape: [1, 2], data: new Uint16Array([0x3f80, 0x4040]) }],
      ["d", { dtype: "float64", shape: [2], data: new Float64Array([Math.PI, -0]) }],
      ["l", { dtype: "int64", shape: [2], data: new BigInt64Array([-(2n ** 40n), 5n]) }],
      ["i", { dtype: "int32", shape: [1, 1, 1, 1, 2], data: new Int32Array([-7, 70000]) }],
      ["s", { dtype: "int16", shape: [1], data: new Int16Array([-3]) }],
      ["c", { dtype: "int8", shape: [1], data: new Int8Array([-128]) }],
      ["u", { dtype: "uint8", shape: [1], data: new Uint8Array([200]) }],
      ["q", { dtype: "bool", shape: [2], data: new Uint8Array([1, 0]) }],
      ["scalar", { dtype: "float32", shape: [], data: new Float32Array([2.5]) }],
      ["empty", { dtype: "float32", shape: [0, 4], data: new Float32Array(0) }],
      ["big", { dtype: "float32", shape: [70000], data: new Float32Array(70000).fill(0.25) }],
    ]);
    const path = join(dir, "out.pt");
    await writeTorchStateDict(path, state);
    const back = await readTorchStateDict(path);
    assert.deepEqual([...back.keys()], [...state.keys()]);
    assertSameTensors(back, state);
    // torch's layout: archive/{data.pkl, byteorder, data/<key>, version}, data 64-byte aligned.
    const zip = await ZipReader.fromSource(await openFileSource(path), path);
    const raw = await Deno.readFile(path);
    const view = new DataView(raw.buffer);
    try {
      assert.equal(zip.entries[0].name, "archive/data.pkl");
      assert.ok(zip.entry("archive/version") && zip.entry("archive/data/0"));
      assert.equal(new TextDecoder().decode(await zip.read("archive/byteorder")), "little");
      for (const e of zip.entries) {
        assert.equal(e.method, 0);
        const o = e.localHeaderOffset;
        const start = o + 30 + view.getUint16(o + 26, true) + view.getUint16(o + 28, true);
        assert.equal(start % 64, 0, e.name);
      }
    } finally {
      zip.close();
    }
    const bad = new Map([["x", {
      dtype: "uint16" as const,
      shape: [1],
      data: new Uint16Array(1),
    }]]);
    await assert.rejects(writeTorchStateDict(join(dir, "bad.pt"), bad), /tensor "x".*uint16/);
  });
});

Deno.test({
  name: "corrupt or truncated model.pt / model.safetensors: errors name the file",
  ignore: !HAS_SHARED,
  fn: async () => {
    await withTempDir(async (dir) => {
      const src = referenceCaseDir(OLMO_REFERENCE_CASES[0]);
      const pt = await Deno.readFile(join(src, "model.pt"));
      const st = await Deno.readFile(join(src, "model.safetensors"));
      const cases: [string, Uint8Array, RegExp, (p: string) => Promise<unknown>][] = [
        ["cut.pt", pt.subarray(0, pt.length >> 1), /not a valid ZIP archive/, readTorchStateDict],
        ["empty.pt", new Uint8Array(0), /not a valid ZIP archive/, readTorchStateDict],
        ["flip.pt", flip(pt, pt.length >> 1), /fails its CRC-32 check/, readTorchStateDict],
        ["cut.safetensors", st.subarray(0, st.length - 100), /truncated/, readSafetensors],
      ];
      for (const [name, bytes, why, read] of cases) {
        const path = join(dir, name);
        await Deno.writeFile(path, bytes);
        await assert.rejects(read(path), (e: Error) => {
          assert.match(e.message, why);
          assert.ok(e.message.includes(path), e.message);
          return true;
        });
      }
    });
  },
});

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= 0x55;
  return out;
}

async function copyCase(name: string, dir: string, files: string[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of files) await Deno.copyFile(join(referenceCaseDir(name), f), join(dir, f));
}

Deno.test({
  name: "loadModelCheckpoint: olmo-ts (safetensors) and OLMo (model.pt) folders, missing files",
  ignore: !HAS_SHARED,
  fn: async () => {
    await withTempDir(async (dir) => {
      const [seq, alibi] = OLMO_REFERENCE_CASES;
      const expected = (await readSafetensors(join(referenceCaseDir(alibi), "model.safetensors")))
        .tensors;
      const ptOnly = join(dir, "olmo");
      await copyCase(alibi, ptOnly, ["config.yaml", "model.pt"]);
      const a = await loadModelCheckpoint(ptOnly);
      assert.equal(a.weightsPath, join(ptOnly, "model.pt"));
      assert.equal(a.dir, ptOnly);
      assert.equal(a.config.alibi, true);
      assert.equal(a.config.d_model, 64);
      assertSameTensors(a.state, expected);
      const both = await loadModelCheckpoint(referenceCaseDir(seq));
      assert.equal(both.weightsPath, join(referenceCaseDir(seq), "model.safetensors"));
      assert.equal(both.config.rope, true);

      const noConfig = join(dir, "no-config");
      await copyCase(alibi, noConfig, ["model.pt"]);
      await assert.rejects(loadModelCheckpoint(noConfig), /no-config.*config\.yaml not found/);
      const noWeights = join(dir, "no-weights");
      await copyCase(alibi, noWeights, ["config.yaml"]);
      await assert.rejects(
        loadModelCheckpoint(noWeights),
        /no-weights: no model weights: neither model\.safetensors nor model\.pt/,
      );
      const corrupt = join(dir, "corrupt");
      await copyCase(alibi, corrupt, ["config.yaml"]);
      await Deno.writeFile(join(corrupt, "model.pt"), new Uint8Array(100));
      await assert.rejects(loadModelCheckpoint(corrupt), /corrupt[/\\]model\.pt: not a valid ZIP/);
    });
  },
});

Deno.test({
  name: "loadModelCheckpoint over HTTP: download, cache reuse, pt fallback, 404, no cache escape",
  ignore: !HAS_SHARED,
  fn: async () => {
    const hits: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const path = new URL(req.url).pathname;
      hits.push(path);
      // /full/<case>/<file>: the fixture folder; /ptonly/<case>/<file>: no model.safetensors;
      // /missing/...: 404; any other path: a tiny body.
      if (path.startsWith("/missing/")) return new Response("no", { status: 404 });
      const m = /^\/(full|ptonly)\/([a-z-]+)\/([a-z.]+)$/.exec(path);
      if (!m) return new Response("raw");
      if (!OLMO_REFERENCE_CASES.includes(m[2])) return new Response("no", { status: 404 });
      if (m[1] === "ptonly" && m[3] === "model.safetensors") {
        return new Response("no", { status: 404 });
      }
      return Deno.readFile(join(referenceCaseDir(m[2]), m[3])).then(
        (b) => new Response(b),
        () => new Response("no", { status: 404 }),
      );
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      await withTempDir(async (cacheDir) => {
        const [seq, alibi] = OLMO_REFERENCE_CASES;
        const url = `${base}/full/${seq}/`;
        const first = await loadModelCheckpoint(url, { cacheDir });
        assert.deepEqual(hits, [`/full/${seq}/config.yaml`, `/full/${seq}/model.safetensors`]);
        assert.ok(first.dir.startsWith(cacheDir));
        const expected = (await readSafetensors(join(referenceCaseDir(seq), "model.safetensors")))
          .tensors;
        assertSameTensors(first.state, expected);
        hits.length = 0;
        const second = await loadModelCheckpoint(url, { cacheDir });
        assert.equal(hits.length, 0, "second load must come from the cache");
        assert.equal(second.weightsPath, first.weightsPath);

        const ptUrl = `${base}/ptonly/${alibi}`;
        hits.length = 0;
        const pt = await loadModelCheckpoint(ptUrl, { cacheDir, progress: true });
        assert.ok(pt.weightsPath.endsWith("model.pt"));
        assert.deepEqual(hits.map((h) => h.split("/").pop()), [
          "config.yaml",
          "model.safetensors",
          "model.pt",
        ]);
        hits.length = 0;
        await loadModelCheckpoint(ptUrl, { cacheDir });
        assert.equal(hits.length, 0);

        await assert.rejects(
          resolveResource(`${base}/missing`, "config.yaml", { cacheDir }),
          (e: Error) =>
            e instanceof ResourceNotFoundError && e.message.includes(`${base}/missing/config.yaml`),
        );
        await assert.rejects(
          loadModelCheckpoint(`${base}/missing`, { cacheDir }),
          /missing.*not found/,
        );

        // Path tricks in URLs stay inside the cache dir.
        for (
          const tricky of [
            "raw/..%2F..%2F..%2Fescape",
            "raw/%2e%2e/%2e%2e/%2e%2e/escape",
            "raw/a/../../..",
          ]
        ) {
          const got = await resolveResource(`${base}/${tricky}`, "config.yaml", { cacheDir });
          assert.ok(got.startsWith(join(cacheDir, "127.0.0.1_")), got);
          assert.equal(await Deno.readTextFile(got), "raw");
        }
        for (const u of ["s3://b/../../x", "gs://../../x", "https://h/%2F..%2F..%2F..%2Fetc"]) {
          assert.ok((await cachePathFor(u, "model.pt", cacheDir)).startsWith(cacheDir + "/"), u);
        }
        assert.equal(
          await cachePathFor("s3://bucket/run/step5-unsharded", "model.pt", "/c"),
          "/c/bucket.s3.amazonaws.com/run/step5-unsharded/model.pt",
        );
        assert.equal(
          await cachePathFor("gs://bucket/run/step5", "config.yaml", "/c"),
          "/c/storage.googleapis.com/bucket/run/step5/config.yaml",
        );
      });
    } finally {
      await server.shutdown();
    }
  },
});
