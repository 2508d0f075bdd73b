/**
 * What the parity tests share: the CPU backends they run on, and the two-training-step check
 * against a reference case's `train_step.safetensors` (losses, gradient norms, parameters).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type BackendName, initBackend, nativeEngineAvailable } from "../lib/backend/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { loadTrainConfig } from "../lib/config/mod.ts";
import { LocalDataParallel } from "../lib/distributed/data_parallel.ts";
import { Olmo } from "../lib/model/mod.ts";
import { createOptimizer } from "../lib/optim/mod.ts";
import { runTrainStep } from "../lib/train/train_step.ts";
import { toFloat32 } from "../lib/util/host_tensor.ts";
import type { HostTensor } from "../lib/util/host_tensor.ts";

/** cpu and wasm, and native where its libraries load: the backends every parity test covers. */
export const PARITY_BACKENDS: BackendName[] = [
  "cpu",
  "wasm",
  ...(nativeEngineAvailable() ? ["native" as const] : []),
];

/** A parameter element that differs from the reference by more than 1e-5. */
export interface ParamDifference {
  /** Absolute difference from the reference value. */
  diff: number;
  /** The case's optimizer (`adamw`, `lionw`, ...). */
  optimizer: string;
  /** The case's (constant) learning rate. */
  lr: number;
}

function scalar(t: HostTensor | undefined, what: string): number {
  assert.ok(t, `fixture has no ${what}`);
  return toFloat32(t)[0];
}

function int32Ids(t: HostTensor | undefined): Int32Array {
  assert.ok(t && t.data instanceof BigInt64Array, "input_ids must be int64");
  return Int32Array.from(t.data as BigInt64Array, (v) => Number(v));
}

/**
 * Loads the case in `caseDir` on `backend`, runs its two recorded steps through `runTrainStep`
 * and checks losses and gradient norms within 1e-5 (relative) and every parameter within 1e-5,
 * except elements that `allowed` explains, at most 1e-3 of them.
 */
export async function checkTwoStepParity(
  caseDir: string,
  backend: BackendName,
  allowed: (d: ParamDifference) => boolean,
): Promise<void> {
  await initBackend(backend, { quiet: true });
  const cfg = await loadTrainConfig(join(caseDir, "config.yaml"), { validatePaths: false });
  const weights = await readSafetensors(join(caseDir, "model.safetensors"));
  const ref = (await readSafetensors(join(caseDir, "train_step.safetensors"))).tensors;
  const model = new Olmo(cfg.model, { init: false });
  model.loadStateDict(weights.tensors);
  const optimizer = createOptimizer(cfg.optimizer, model.params, cfg);
  const ctx = {
    model,
    dataParallel: new LocalDataParallel(model, optimizer),
    microBatchSize: 4,
    zLoss: false,
    dropoutSeed: () => 0,
  };
  const lr = cfg.optimizer.learning_rate;
  try {
    for (const k of [1, 2]) {
      const ids = ref.get(`step${k}.input_ids`)!;
      const batch = {
        inputIds: { dtype: "int32" as const, shape: [...ids.shape], data: int32Ids(ids) },
      };
      // The fixture's steps use a constant LR (no scheduler).
      const r = await runTrainStep(ctx, batch, k, lr);
      const loss = scalar(ref.get(`step${k}.loss`), "loss");
      const norm = scalar(ref.get(`step${k}.grad_norm`), "grad_norm");
      assert.ok(
        Math.abs(r.ce - loss) <= 1e-5 * Math.abs(loss),
        `step ${k}: loss ${r.ce} vs OLMo ${loss}`,
      );
      assert.ok(
        Math.abs(r.gradNorm - norm) <= 1e-5 * Math.abs(norm),
        `step ${k}: grad norm ${r.gradNorm} vs OLMo ${norm}`,
      );
    }
    let elements = 0, beyond = 0; // elements beyond 1e-5
    for (const [pname, v] of model.params) {
      const want = ref.get(`after.${pname}`);
      assert.ok(want, `fixture has no after.${pname}`);
      const expected = toFloat32(want);
      const got = await v.data();
      assert.equal(got.length, expected.length, pname);
      for (let i = 0; i < got.length; i++) {
        const diff = Math.abs(got[i] - expected[i]);
        elements++;
        if (diff <= 1e-5) continue;
        assert.ok(
          allowed({ diff, optimizer: cfg.optimizer.name, lr }),
          `after.${pname}[${i}]: ${got[i]} vs ${expected[i]}`,
        );
        beyond++;
      }
    }
    assert.ok(beyond <= elements * 1e-3, `${beyond} of ${elements} elements differ`);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
