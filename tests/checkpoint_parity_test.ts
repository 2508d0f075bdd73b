/**
 * `Olmo.fromCheckpoint` end to end against the original PyTorch OLMo: each reference case
 * loaded from a folder holding only OLMo's `model.pt`, or only `model.safetensors`, on every
 * backend (cpu, wasm, and native where a CBLAS library loads), reproduces `forward.safetensors`
 * logits, plain and left-padded; the same over HTTP from a local server; and bad folders fail
 * with errors naming the file and the tensor or key.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { activeBackend } from "../lib/backend/mod.ts";
import { readSafetensors, writeSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { Olmo } from "../mod.ts";
import { type NamedHostTensors, toFloat32 } from "../lib/util/host_tensor.ts";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";
import { PARITY_BACKENDS as BACKENDS } from "./_parity.ts";

const TOLERANCE = 1e-4;
const WEIGHT_FILES = ["model.pt", "model.safetensors"] as const;

/** A checkpoint folder holding the case's `config.yaml` and only `weights`. */
async function singleWeightsFolder(caseName: string, weights: string, dir: string) {
  for (const f of ["config.yaml", weights]) {
    await Deno.copyFile(join(referenceCaseDir(caseName), f), join(dir, f));
  }
}

function intTensor(forward: NamedHostTensors, key: string): tf.Tensor2D {
  const t = forward.get(key)!;
  return tf.tensor2d(Int32Array.from(toFloat32(t)), t.shape as [number, number], "int32");
}

async function maxAbsDiff(actual: tf.Tensor, expected: Float32Array): Promise<number> {
  const got = await actual.data();
  assert.equal(got.length, expected.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
  return worst;
}

/** Asserts the model reproduces the case's plain and left-padded reference logits. */
async function assertReferenceLogits(model: Olmo, caseName: string): Promise<void> {
  const forward =
    (await readSafetensors(join(referenceCaseDir(caseName), "forward.safetensors"))).tensors;
  const ids = intTensor(forward, "input_ids");
  const padded = intTensor(forward, "padded_input_ids");
  const mask = tf.tensor2d(toFloat32(forward.get("attention_mask")!), padded.shape);
  const plain = model.forward(ids).logits;
  const masked = model.forward(padded, { attentionMask: mask }).logits;
  try {
    assert.deepEqual(plain.shape, forward.get("logits")!.shape);
    const d1 = await maxAbsDiff(plain, toFloat32(forward.get("logits")!));
    assert.ok(d1 < TOLERANCE, `logits differ by ${d1}`);
    const d2 = await maxAbsDiff(masked, toFloat32(forward.get("padded_logits")!));
    assert.ok(d2 < TOLERANCE, `padded logits differ by ${d2}`);
  } finally {
    tf.dispose([ids, padded, mask, plain, masked]);
  }
}

for (const backend of BACKENDS) {
  for (const caseName of OLMO_REFERENCE_CASES) {
    for (const weights of WEIGHT_FILES) {
      Deno.test({
        name: `fromCheckpoint ${caseName} from ${weights} on ${backend}: OLMo's logits`,
        ignore: !HAS_SHARED,
        fn: () =>
          withTempDir(async (dir) => {
            await singleWeightsFolder(caseName, weights, dir);
            const model = await Olmo.fromCheckpoint(dir, { backend });
            try {
              assert.equal(activeBackend(), backend);
              await assertReferenceLogits(model, caseName);
            } finally {
              model.dispose();
            }
          }),
      });
    }
  }
}

Deno.test({
  name:
    "fromCheckpoint over HTTP (127.0.0.1): model.pt-only folder, progress, cache, OLMo's logits",
  ignore: !HAS_SHARED,
  fn: async () => {
    const caseName = OLMO_REFERENCE_CASES[1];
    const hits: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const file = new URL(req.url).pathname.split("/").pop()!;
      hits.push(file);
      if (file !== "config.yaml" && file !== "model.pt") {
        return new Response("no", { status: 404 });
      }
      return Deno.readFile(join(referenceCaseDir(caseName), file)).then((b) => new Response(b));
    });
    // Download progress goes to stderr: plain lines when it is not a terminal.
    const stderrLines: string[] = [];
    const originalError = console.error;
    const originalIsTerminal = Deno.stderr.isTerminal;
    console.error = (...args: unknown[]) => stderrLines.push(args.join(" "));
    Deno.stderr.isTerminal = () => false;
    try {
      await withTempDir(async (cacheDir) => {
        const url = `http://127.0.0.1:${server.addr.port}/runs/${caseName}/step2-unsharded`;
        const model = await Olmo.fromCheckpoint(url, { backend: "cpu", cacheDir });
        try {
          assert.deepEqual(hits, ["config.yaml", "model.safetensors", "model.pt"]);
          assert.ok(
            stderrLines.some((l) => l.startsWith(`downloading ${url}/model.pt`)),
            stderrLines.join("\n"),
          );
          await assertReferenceLogits(model, caseName);
        } finally {
          model.dispose();
        }
        hits.length = 0;
        (await Olmo.fromCheckpoint(url, { backend: "cpu", cacheDir })).dispose();
        assert.deepEqual(hits, [], "the second load must come from the cache");
      });
    } finally {
      console.error = originalError;
      Deno.stderr.isTerminal = originalIsTerminal;
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "fromCheckpoint errors name the file and the tensor or key",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (root) => {
      const caseName = OLMO_REFERENCE_CASES[0];
      const src = referenceCaseDir(caseName);
      const state = (await readSafetensors(join(src, "model.safetensors"))).tensors;
      const folder = async (name: string, tensors: NamedHostTensors, config?: string) => {
        const dir = join(root, name);
        await Deno.mkdir(dir);
        await Deno.writeTextFile(
          join(dir, "config.yaml"),
          config ?? await Deno.readTextFile(join(src, "config.yaml")),
        );
        await writeSafetensors(join(dir, "model.safetensors"), tensors);
        return dir;
      };
      const missingName = "transformer.blocks.1.ff_proj.weight";
      const missing = new Map(state);
      missing.delete(missingName);
      const missingDir = await folder("missing", missing);
      await assert.rejects(Olmo.fromCheckpoint(missingDir, { backend: "cpu" }), (e: Error) => {
        assert.ok(e.message.includes(join(missingDir, "model.safetensors")), e.message);
        assert.ok(e.message.includes(missingName), e.message);
        return true;
      });

      const shapeName = "transformer.ln_f.weight";
      const d = state.get(shapeName)!.shape[0];
      const reshaped = new Map(state).set(shapeName, {
        dtype: "float32",
        shape: [d + 1],
        data: new Float32Array(d + 1),
      });
      const shapeDir = await folder("shape", reshaped);
      await assert.rejects(Olmo.fromCheckpoint(shapeDir, { backend: "cpu" }), (e: Error) => {
        assert.ok(e.message.includes(join(shapeDir, "model.safetensors")), e.message);
        assert.match(e.message, new RegExp(`${shapeName.replaceAll(".", "\\.")}.*\\[${d + 1}\\]`));
        return true;
      });

      const yaml = await Deno.readTextFile(join(src, "config.yaml"));
      assert.match(yaml, /^model:\n/m);
      const unknownDir = await folder(
        "unknown",
        state,
        yaml.replace(/^model:\n/m, "model:\n  rotary_style: interleaved\n"),
      );
      await assert.rejects(Olmo.fromCheckpoint(unknownDir, { backend: "cpu" }), (e: Error) => {
        assert.ok(e.message.includes(join(unknownDir, "config.yaml")), e.message);
        assert.match(e.message, /rotary_style/);
        return true;
      });
    }),
});
