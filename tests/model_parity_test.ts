/**
 * Numerical parity with the original PyTorch OLMo on the shared reference cases: logits with
 * and without a left-padding mask, on the cpu and wasm backends, plus the KV-cache path.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { activeBackend, initBackend } from "../lib/backend/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { Olmo } from "../lib/facade/mod.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";
import { loadCaseModelConfig } from "./_model_fixture.ts";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir } from "./_shared.ts";
import { PARITY_BACKENDS as BACKENDS } from "./_parity.ts";

const TOLERANCE = 1e-4;

async function loadCase(name: string): Promise<{ model: Olmo; forward: NamedHostTensors }> {
  const dir = referenceCaseDir(name);
  const model = new Olmo(await loadCaseModelConfig(dir), { init: false });
  model.loadStateDict((await readSafetensors(join(dir, "model.safetensors"))).tensors);
  const forward = (await readSafetensors(join(dir, "forward.safetensors"))).tensors;
  return { model, forward };
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

/** The backends checked: the pure-JS reference, wasm, and native where a CBLAS library loads. */

for (const backend of BACKENDS) {
  for (const name of OLMO_REFERENCE_CASES) {
    Deno.test({
      name: `parity ${name} on ${backend}: logits and padded logits within ${TOLERANCE}`,
      ignore: !HAS_SHARED,
      fn: async () => {
        await initBackend(backend, { quiet: true });
        assert.equal(activeBackend(), backend);
        const { model, forward } = await loadCase(name);
        const ids = intTensor(forward, "input_ids");
        const out = model.forward(ids);
        assert.deepEqual(out.logits.shape, forward.get("logits")!.shape);
        const plain = await maxAbsDiff(out.logits, toFloat32(forward.get("logits")!));
        assert.ok(plain < TOLERANCE, `logits differ by ${plain}`);

        const padded = intTensor(forward, "padded_input_ids");
        const mask = tf.tensor2d(toFloat32(forward.get("attention_mask")!), [2, 16]);
        const outPadded = model.forward(padded, { attentionMask: mask });
        // Includes the fully masked pad rows, where OLMo attends uniformly.
        const diff = await maxAbsDiff(outPadded.logits, toFloat32(forward.get("padded_logits")!));
        assert.ok(diff < TOLERANCE, `padded logits differ by ${diff}`);
        tf.dispose([ids, out.logits, padded, mask, outPadded.logits]);
        model.dispose();
      },
    });
  }
}

for (const name of OLMO_REFERENCE_CASES) {
  Deno.test({
    name: `parity ${name}: prefix with cache, then the rest, matches OLMo's logits`,
    ignore: !HAS_SHARED,
    fn: async () => {
      await initBackend("cpu", { quiet: true });
      const { model, forward } = await loadCase(name);
      const ids = intTensor(forward, "input_ids");
      const head = tf.slice(ids, [0, 0], [-1, 10]);
      const tail = tf.slice(ids, [0, 10], [-1, 6]);
      const first = model.forward(head, { useCache: true });
      const second = model.forward(tail, { pastKeyValues: first.attnKeyValues! });
      const expected = toFloat32(forward.get("logits")!); // (2, 16, 256)
      const got = await second.logits.data(); // (2, 6, 256)
      let worst = 0;
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < 6; t++) {
          for (let v = 0; v < 256; v++) {
            const e = expected[(b * 16 + 10 + t) * 256 + v];
            worst = Math.max(worst, Math.abs(got[(b * 6 + t) * 256 + v] - e));
          }
        }
      }
      assert.ok(worst < TOLERANCE, `cached logits differ by ${worst}`);
      tf.dispose([ids, head, tail, first.logits, second.logits, ...first.attnKeyValues!.flat()]);
      model.dispose();
    },
  });
}

for (const name of OLMO_REFERENCE_CASES) {
  Deno.test({
    name: `parity ${name}: Olmo.fromCheckpoint loads the folder and reproduces OLMo's logits`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const dir = referenceCaseDir(name);
      const model = await Olmo.fromCheckpoint(dir, { backend: "cpu" });
      const forward = (await readSafetensors(join(dir, "forward.safetensors"))).tensors;
      const ids = intTensor(forward, "input_ids");
      const out = model.forward(ids);
      const diff = await maxAbsDiff(out.logits, toFloat32(forward.get("logits")!));
      assert.ok(diff < TOLERANCE, `logits differ by ${diff}`);
      tf.dispose([ids, out.logits]);
      model.dispose();
    },
  });
}

/** Token-mean next-token cross-entropy over all embedding_size columns, as OLMo's trainer. */
function nextTokenLoss(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Scalar {
  const [b, s] = ids.shape;
  const width = logits.shape[2];
  const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [b, s - 1, -1]), [-1, width]);
  const target = tf.reshape(tf.slice(ids, [0, 1], [b, s - 1]), [-1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(pred), tf.oneHot(target, width)), -1)));
}

for (const backend of BACKENDS) {
  for (const name of OLMO_REFERENCE_CASES) {
    Deno.test({
      name: `parity ${name} on ${backend}: first training step's loss and gradient norm`,
      ignore: !HAS_SHARED,
      fn: async () => {
        await initBackend(backend, { quiet: true });
        const { model } = await loadCase(name);
        const dir = referenceCaseDir(name);
        const steps = (await readSafetensors(join(dir, "train_step.safetensors"))).tensors;
        const ids = intTensor(steps, "step1.input_ids");
        const { value, grads } = tf.variableGrads(
          () => nextTokenLoss(model.forward(ids, { training: true }).logits, ids),
          [...model.params.values()],
        );
        const loss = (await value.data())[0];
        const expectedLoss = toFloat32(steps.get("step1.loss")!)[0];
        assert.ok(Math.abs(loss / expectedLoss - 1) < 1e-5, `loss ${loss} vs ${expectedLoss}`);
        const sq = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
        const norm = Math.sqrt((await sq.data())[0]);
        const expectedNorm = toFloat32(steps.get("step1.grad_norm")!)[0];
        assert.ok(
          Math.abs(norm / expectedNorm - 1) < 1e-4,
          `grad norm ${norm} vs ${expectedNorm}`,
        );
        tf.dispose([ids, value, sq, ...Object.values(grads)]);
        model.dispose();
      },
    });
  }
}
