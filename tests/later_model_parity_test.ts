/**
 * Numerical parity with the later PyTorch OLMo (the code that trained OLMo 1.7 and OLMo 2) on
 * the shared `olmo-reference-v2` cases, which between them use every later model option
 * (grouped-query attention, `norm_after`, QK-norm sized for the kv heads, RMSNorm with
 * `layer_norm_eps`, `rope_theta`, `clip_qkv`, `embedding_layer_norm`, `n_kv_heads: 1`): logits
 * with and without a left-padding mask from `Olmo.fromCheckpoint` on OLMo's `model.pt`, the
 * KV-cache path, beam search and greedy decoding, on the cpu, wasm and native backends; and the
 * `Olmo2ForCausalLM` copy of `olmo2-gqa` (`hf/`) loads to the same logits.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { activeBackend } from "../lib/backend/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { generate } from "../lib/generate/mod.ts";
import { Olmo } from "../mod.ts";
import { type NamedHostTensors, toFloat32 } from "../lib/util/host_tensor.ts";
import { HAS_SHARED_V2, OLMO_REFERENCE_V2_CASES, referenceV2CaseDir } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";
import { PARITY_BACKENDS as BACKENDS } from "./_parity.ts";

const TOLERANCE = 1e-4;

interface GenerateRecord {
  prompt: number[][];
  max_steps: number;
  beam_size: number;
  token_ids: number[][][];
  scores: number[][];
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

async function forwardRecord(caseName: string): Promise<NamedHostTensors> {
  return (await readSafetensors(join(referenceV2CaseDir(caseName), "forward.safetensors")))
    .tensors;
}

/** Asserts the model reproduces the case's plain and left-padded reference logits. */
async function assertReferenceLogits(model: Olmo, caseName: string): Promise<void> {
  const forward = await forwardRecord(caseName);
  const ids = intTensor(forward, "input_ids");
  const padded = intTensor(forward, "padded_input_ids");
  const mask = tf.tensor2d(toFloat32(forward.get("attention_mask")!), padded.shape);
  const plain = model.forward(ids).logits;
  const masked = model.forward(padded, { attentionMask: mask }).logits;
  try {
    assert.deepEqual(plain.shape, forward.get("logits")!.shape);
    const d1 = await maxAbsDiff(plain, toFloat32(forward.get("logits")!));
    assert.ok(d1 < TOLERANCE, `logits differ by ${d1}`);
    // Includes the fully masked pad rows, where OLMo attends uniformly.
    const d2 = await maxAbsDiff(masked, toFloat32(forward.get("padded_logits")!));
    assert.ok(d2 < TOLERANCE, `padded logits differ by ${d2}`);
  } finally {
    tf.dispose([ids, padded, mask, plain, masked]);
  }
}

/** A folder holding the case's `config.yaml` and OLMo's `model.pt` only. */
async function modelPtFolder(caseName: string, dir: string): Promise<void> {
  for (const f of ["config.yaml", "model.pt"]) {
    await Deno.copyFile(join(referenceV2CaseDir(caseName), f), join(dir, f));
  }
}

function assertClose(actual: number[], expected: number[], atol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]) <= atol, `${what}[${i}]: ${a} vs ${expected[i]}`)
  );
}

for (const backend of BACKENDS) {
  for (const caseName of OLMO_REFERENCE_V2_CASES) {
    Deno.test({
      name: `later OLMo ${caseName} on ${backend}: model.pt logits, padded logits, cache`,
      ignore: !HAS_SHARED_V2,
      fn: () =>
        withTempDir(async (dir) => {
          await modelPtFolder(caseName, dir);
          const model = await Olmo.fromCheckpoint(dir, { backend });
          try {
            assert.equal(activeBackend(), backend);
            await assertReferenceLogits(model, caseName);
            // The first 10 positions with the cache, then the rest.
            const forward = await forwardRecord(caseName);
            const ids = intTensor(forward, "input_ids");
            const head = tf.slice(ids, [0, 0], [-1, 10]);
            const tail = tf.slice(ids, [0, 10], [-1, 6]);
            const first = model.forward(head, { useCache: true });
            const kv = first.attnKeyValues!;
            assert.equal(kv[0][0].shape[1], model.dims.kvHeads, "cache holds the kv heads");
            const second = model.forward(tail, { pastKeyValues: kv });
            const expected = toFloat32(forward.get("logits")!); // (2, 16, 256)
            const got = await second.logits.data(); // (2, 6, 256)
            let worst = 0;
            for (let b = 0; b < 2; b++) {
              for (let i = 0; i < 6 * 256; i++) {
                const e = expected[(b * 16 + 10) * 256 + i];
                worst = Math.max(worst, Math.abs(got[b * 6 * 256 + i] - e));
              }
            }
            assert.ok(worst < TOLERANCE, `cached logits differ by ${worst}`);
            tf.dispose([ids, head, tail, first.logits, second.logits, ...kv.flat()]);
          } finally {
            model.dispose();
          }
        }),
    });

    Deno.test({
      name: `later OLMo ${caseName} on ${backend}: generate.json beams and greedy`,
      ignore: !HAS_SHARED_V2,
      fn: () =>
        withTempDir(async (dir) => {
          const caseDir = referenceV2CaseDir(caseName);
          const record = JSON.parse(
            await Deno.readTextFile(join(caseDir, "generate.json")),
          ) as GenerateRecord & { weights: string; greedy: GenerateRecord };
          assert.match(record.weights, /initial/);
          await modelPtFolder(caseName, dir);
          const model = await Olmo.fromCheckpoint(dir, { backend });
          try {
            const prompt = tf.tensor2d(record.prompt, undefined, "int32");
            const beam = await generate(model, prompt, {
              maxSteps: record.max_steps,
              beamSize: record.beam_size,
            });
            assert.deepEqual(await beam.tokenIds.array(), record.token_ids);
            assertClose((await beam.scores.array()).flat(), record.scores.flat(), 1e-3, "scores");
            const greedyPrompt = tf.tensor2d(record.greedy.prompt, undefined, "int32");
            const greedy = await model.generate(greedyPrompt, {
              maxSteps: record.greedy.max_steps,
              beamSize: record.greedy.beam_size,
            });
            assert.deepEqual(await greedy.tokenIds.array(), record.greedy.token_ids);
            assertClose(
              (await greedy.scores.array()).flat(),
              record.greedy.scores.flat(),
              1e-3,
              "greedy scores",
            );
            tf.dispose([prompt, greedyPrompt, beam.tokenIds, beam.scores]);
            tf.dispose([greedy.tokenIds, greedy.scores]);
          } finally {
            model.dispose();
          }
        }),
    });
  }

  Deno.test({
    name: `later OLMo olmo2-gqa on ${backend}: the Olmo2ForCausalLM folder (hf/) gives the logits`,
    ignore: !HAS_SHARED_V2,
    fn: async () => {
      const caseDir = referenceV2CaseDir("olmo2-gqa");
      const model = await Olmo.fromCheckpoint(join(caseDir, "hf"), { backend });
      try {
        assert.equal(model.config.norm_after, true);
        assert.equal(model.dims.kvHeads, 2);
        await assertReferenceLogits(model, "olmo2-gqa");
        // The same tensors as OLMo's own checkpoint, under OLMo's names.
        const own = (await readSafetensors(join(caseDir, "model.safetensors"))).tensors;
        const mine = await model.stateDict();
        assert.deepEqual([...mine.keys()].sort(), [...own.keys()].sort());
        for (const [name, t] of own) {
          assert.deepEqual(mine.get(name)!.data, toFloat32(t), name);
        }
      } finally {
        model.dispose();
      }
    },
  });
}
