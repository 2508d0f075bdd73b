/**
 * The training settings of OLMo's later `TrainConfig` that olmo-ts implements:
 * `auxiliary_loss_multiplier` (the z-loss coefficient; value against a plain-JS log-sum-exp and
 * gradient against finite differences), `scheduler.warmup_min_lr`, `units: tokens` and
 * `grad_clip_warmup_*`,
 * `save_interval_ephemeral` (one extra sharded checkpoint,
 * replaced by the next and removed by a regular one), `stop_after`, and `try_load_latest_save`
 * (a restarted job resumes from the newest checkpoint of its `save_folder`). Also: the config of
 * the later code saves and loads back unchanged, its unimplemented settings are warned about, and
 * the OLMo 2 1B and OLMo-1B-0724 configs load with their models' shapes; `data.seed` seeds the
 * data order; a transformers folder as `load_path` trains exactly as OLMo's own `model.pt`.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../lib/backend/mod.ts";
import {
  deriveTrainConfig,
  loadTrainConfig,
  saveTrainConfig,
  tfjsCompatibilityWarnings,
} from "../lib/config/mod.ts";
import type { TrainLogger } from "../lib/train/log.ts";
import { lmTrainingLoss, nextTokenTargets } from "../lib/train/loss.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { buildTrainDataset, TrainBatches } from "../lib/train/train_data.ts";
import { hfConfigFromModel } from "../lib/checkpoint/hf_transformers/config.ts";
import { countParams } from "../lib/model/mod.ts";
import { buildScheduler } from "../lib/optim/scheduler.ts";
import { clipThresholdAt } from "../lib/optim/clip_warmup.ts";
import {
  HAS_SHARED_V2,
  OLMO_REFERENCE_V2_CASES,
  referenceV2CaseDir,
  REPO_ROOT,
} from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";
import { makeTinyEnv, tinyTrainConfig, wordLevelTokenizerJson } from "./_train_fixture.ts";
import { parse as parseYaml } from "yaml";

const QUIET = { logger: { info() {}, warn() {} }, progress: { silent: true } };

Deno.test("auxiliary_loss_multiplier scales the z-loss: value and gradient", async () => {
  await initBackend("cpu", { quiet: true });
  const values = [0.3, -1.2, 2.0, 0.5, 1.5, -0.7, 0.1, 0.9, -2.2, 0.4, 1.1, -0.3];
  const logits = tf.tensor3d(values, [1, 3, 4]);
  const ids = tf.tensor2d([[1, 3, 0]], undefined, "int32");
  const { labels, weights } = nextTokenTargets(ids);
  const lossOf = (x: tf.Tensor3D, m: number) => {
    const out = lmTrainingLoss(x, labels, weights, { zLoss: true, scale: 1, zLossMultiplier: m });
    const z = out.z!;
    tf.dispose([out.ce]);
    return { loss: out.loss, z };
  };
  // z = m · mean over the 3 positions of logsumexp(row)².
  const lse = [0, 1, 2].map((r) =>
    Math.log(values.slice(4 * r, 4 * r + 4).reduce((a, v) => a + Math.exp(v), 0))
  );
  const expectedZ = 0.5 * lse.reduce((a, v) => a + v * v, 0) / 3;
  const { loss, z } = lossOf(logits, 0.5);
  assert.ok(Math.abs((await z.data())[0] - expectedZ) < 1e-6, `z ${(await z.data())[0]}`);
  // The gradient of the total loss against central differences.
  const grad = tf.grad((x: tf.Tensor) => lossOf(x as tf.Tensor3D, 0.5).loss)(logits);
  const g = await grad.data();
  const h = 1e-2;
  for (const i of [0, 5, 11]) {
    const at = (d: number) => {
      const v = values.slice();
      v[i] += d;
      const t = tf.tensor3d(v, [1, 3, 4]);
      const r = lossOf(t, 0.5);
      const out = r.loss.dataSync()[0];
      tf.dispose([t, r.loss, r.z]);
      return out;
    };
    const numeric = (at(h) - at(-h)) / (2 * h);
    assert.ok(Math.abs(g[i] - numeric) < 1e-3, `d/dx[${i}]: ${g[i]} vs ${numeric}`);
  }
  tf.dispose([logits, ids, labels, weights, loss, z, grad]);
});

async function stepDirs(folder: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(folder)) if (/^step\d+/.test(e.name)) out.push(e.name);
  return out.sort((a, b) => parseInt(a.slice(4)) - parseInt(b.slice(4)) || a.localeCompare(b));
}

Deno.test("save_interval_ephemeral, stop_after and try_load_latest_save", async (t) => {
  await initBackend("cpu", { quiet: true });
  const env = await makeTinyEnv();
  try {
    const folder = join(env.dir, "run");
    const base = { save_interval: 4, save_interval_unsharded: null, save_interval_ephemeral: 1 };

    await t.step(
      "ephemeral checkpoints: only the newest kept, removed by a regular save",
      async () => {
        const run = await runTraining(await tinyTrainConfig(env, folder, base), QUIET);
        assert.deepEqual([run.fit?.reason, run.fit?.step], ["max_duration", 6]);
        // step0 and step4 are regular; 1-3 were ephemeral (removed at 4), 5 was replaced by 6.
        assert.deepEqual(await stepDirs(folder), ["step0", "step4", "step6"]);
        assert.equal(await Deno.readLink(join(folder, "latest")), "step6");
        const state = JSON.parse(await Deno.readTextFile(join(folder, "step6", "rank0.json")));
        assert.deepEqual(state.trainer.checkpoints, [join(folder, "step0"), join(folder, "step4")]);
        // As in OLMo, the lists are written before the previous ephemeral one is deleted.
        assert.deepEqual(state.trainer.ephemeral_checkpoints, [
          join(folder, "step5"),
          join(folder, "step6"),
        ]);
      },
    );

    await t.step("try_load_latest_save resumes from the newest checkpoint", async () => {
      const lines: string[] = [];
      const logger: TrainLogger = { info: (m) => lines.push(m), warn: () => {} };
      const cfg = await tinyTrainConfig(env, folder, {
        ...base,
        try_load_latest_save: true,
        restore_dataloader: false,
        max_duration: 8,
      });
      const run = await runTraining(cfg, { logger, progress: { silent: true } });
      assert.deepEqual([run.fit?.reason, run.fit?.step], ["max_duration", 8]);
      assert.ok(
        lines.some((l) => l.includes(`resuming from ${join(folder, "step6")}`)),
        lines.join("\n"),
      );
      assert.ok(lines.some((l) => l.includes("restore_dataloader=true")));
      const steps = (await readMetricsFile(join(folder, "metrics.jsonl"))).map((r) => r.step);
      assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], "the run's history continues");
      // Step 8 is a regular save (8 % 4): the ephemeral step 7 is gone, and so is step 6.
      assert.deepEqual(await stepDirs(folder), ["step0", "step4", "step8"]);
    });

    await t.step("stop_after stops that many steps after the start, before stop_at", async () => {
      const fresh = join(env.dir, "stop-after");
      const run = await runTraining(
        await tinyTrainConfig(env, fresh, { stop_after: 2, max_duration: 6 }),
        QUIET,
      );
      assert.deepEqual([run.fit?.reason, run.fit?.step], ["stop_at", 2]);
      const both = await runTraining(
        await tinyTrainConfig(env, join(env.dir, "both"), { stop_after: 3, stop_at: 1 }),
        QUIET,
      );
      assert.deepEqual([both.fit?.reason, both.fit?.step], ["stop_at", 1]);
      // After a restart stop_after counts from the restored step.
      const resumed = await runTraining(
        await tinyTrainConfig(env, fresh, { load_path: join(fresh, "step2"), stop_after: 1 }),
        QUIET,
      );
      assert.deepEqual([resumed.fit?.reason, resumed.fit?.step], ["stop_at", 3]);
    });
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

for (const name of OLMO_REFERENCE_V2_CASES) {
  Deno.test({
    name: `the later TrainConfig of ${name} saves and loads back; nothing set there is warned`,
    ignore: !HAS_SHARED_V2,
    fn: () =>
      withTempDir(async (dir) => {
        const cfg = await loadTrainConfig(join(referenceV2CaseDir(name), "config.yaml"), {
          validatePaths: false,
        });
        assert.equal(cfg.auxiliary_loss_multiplier, 1e-4);
        assert.equal(cfg.distributed_strategy, "fsdp");
        assert.deepEqual(cfg.single, { device: "auto" });
        assert.deepEqual(tfjsCompatibilityWarnings(cfg), []);
        await saveTrainConfig(cfg, join(dir, "config.yaml"));
        assert.deepEqual(await loadTrainConfig(join(dir, "config.yaml")), cfg);
        const set = {
          ...cfg,
          distributed_strategy: "ddp" as const,
          ddp: { grad_sync_mode: "micro_batch" as const, find_unused_params: true },
          fused_loss: true,
          optimizer: { ...cfg.optimizer, record_update_metrics: true },
          data: { ...cfg.data, generate_doc_lengths: true },
        };
        const warnings = tfjsCompatibilityWarnings(set).join("\n");
        for (
          const key of ["distributed_strategy=ddp", "ddp:", "fused_loss", "record_update_metrics"]
        ) {
          assert.ok(warnings.includes(key), `${key} in\n${warnings}`);
        }
        assert.match(warnings, /data\.generate_doc_lengths/);
      }),
  });
}

Deno.test("configs/olmo2-1b.yaml and configs/olmo-1b-0724.yaml load with their models' shapes", async () => {
  const load = (name: string) =>
    loadTrainConfig(join(REPO_ROOT, "configs", name), { validatePaths: false });
  const olmo2 = await load("olmo2-1b.yaml");
  const m2 = olmo2.model;
  assert.deepEqual(
    [m2.norm_after, m2.attention_layer_norm, m2.layer_norm_type, m2.layer_norm_eps, m2.rope_theta],
    [true, true, "rms", 1e-6, 500000],
  );
  assert.deepEqual([olmo2.auxiliary_loss_multiplier, olmo2.optimizer.eps], [1e-5, 1e-8]);
  // By hand: 2 untied 100352 x 2048 tables, ln_f, and per layer q/k/v 3·2048², attn_out 2048²,
  // ff_proj 16384·2048, ff_out 8192·2048 and four 2048 norms.
  const perLayer2 = 3 * 2048 ** 2 + 2048 ** 2 + 16384 * 2048 + 8192 * 2048 + 4 * 2048;
  assert.equal(countParams(m2), 2 * 100352 * 2048 + 2048 + 16 * perLayer2); // 1,484,916,736
  const olmo1 = await load("olmo-1b-0724.yaml");
  const m1 = olmo1.model;
  assert.deepEqual([m1.layer_norm_with_affine, m1.weight_tying, m1.norm_after], [
    false,
    true,
    false,
  ]);
  const perLayer1 = 3 * 2048 ** 2 + 2048 ** 2 + 16384 * 2048 + 8192 * 2048;
  assert.equal(countParams(m1), 50304 * 2048 + 16 * perLayer1); // 1,176,764,416
  // Both can be written in their transformers layout.
  assert.equal(hfConfigFromModel(m2, "hf-olmo2").intermediate_size, 8192);
  assert.equal(hfConfigFromModel(m1, "hf-olmo").tie_word_embeddings, true);
});

Deno.test("OLMo later's schedulers, warmup_min_lr and units: tokens", async () => {
  const schedule = buildScheduler({
    name: "cosine_with_warmup",
    t_warmup: 100,
    alpha_f: 0.1,
    warmup_min_lr: 0,
  });
  // m + (lr − m)·s/w with m = 0, then the cosine from lr.
  assert.equal(schedule.getLr(1e-3, 25, 1000), 2.5e-4);
  assert.equal(schedule.getLr(1e-3, 100, 1000), 1e-3);
  assert.throws(() => schedule.getLr(0, 5, 1000), /warmup_min_lr/);
  // OLMo later's other schedules, by hand: lr 1, alpha_f 0.1 (eta_min 0.1), warmup 10 of 110.
  const lr = (name: string, step: number) =>
    buildScheduler({ name, t_warmup: 10, alpha_f: 0.1 }).getLr(1, step, 110);
  assert.equal(lr("constant", 3), 1);
  assert.equal(lr("constant_with_warmup", 5), 0.1 + 0.9 * 5 / 10);
  assert.equal(lr("constant_with_warmup", 50), 1);
  // Halfway through the decay: envelope 1/2, cosine part 0.9·(1 + cos(π/2))/2 = 0.45.
  assert.ok(Math.abs(lr("cosine_linear_envelope", 60) - (0.1 + 0.5 * 0.45)) < 1e-15);
  assert.equal(lr("cosine_linear_envelope", 110), 0.1);

  // A run on tokens: 64 tokens per step (4 x 16), 6 steps = 384 tokens, warmup 128 tokens.
  await initBackend("cpu", { quiet: true });
  const env = await makeTinyEnv();
  try {
    const folder = join(env.dir, "tokens");
    const cfg = await tinyTrainConfig(env, folder, {
      scheduler: { name: "cosine_with_warmup", units: "tokens", t_warmup: 128, warmup_min_lr: 0 },
    });
    await runTraining(cfg, QUIET);
    const lrs = (await readMetricsFile(join(folder, "metrics.jsonl")))
      .map((r) => r["optim/learning_rate_group0"]);
    const lr = 0.01;
    const etaMin = 0.1 * lr;
    const expected = [1, 2, 3, 4, 5, 6].map((k) => {
      const tokens = 64 * k;
      if (tokens < 128) return lr * tokens / 128;
      return etaMin + (lr - etaMin) * (1 + Math.cos(Math.PI * (tokens - 128) / (384 - 128))) / 2;
    });
    lrs.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `step ${i + 1}: ${v}`));
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("data.seed seeds the data order instead of the run's seed", async () => {
  const env = await makeTinyEnv();
  try {
    const orderOf = async (extra: Record<string, unknown>) => {
      const cfg = deriveTrainConfig(await tinyTrainConfig(env, join(env.dir, "x"), extra), 1);
      const world = { size: 1, rank: 0, fsLocalRank: 0 };
      const batches = new TrainBatches(buildTrainDataset(cfg), cfg, {
        startIndex: 0,
        maxExamples: 24,
        world,
        writeGlobalIndices: false,
      });
      return Array.from(batches.order.globalIndices());
    };
    const bySeed7 = await orderOf({ seed: 7 });
    assert.deepEqual(await orderOf({ seed: 5, data: { seed: 7 } }), bySeed7);
    assert.notDeepEqual(await orderOf({ seed: 5 }), bySeed7);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test({
  name: "load_path: a transformers OLMo 2 folder fine-tunes like OLMo's own model.pt",
  ignore: !HAS_SHARED_V2,
  fn: async () => {
    await initBackend("cpu", { quiet: true });
    const env = await makeTinyEnv();
    try {
      const caseDir = referenceV2CaseDir("olmo2-gqa");
      const model = (parseYaml(await Deno.readTextFile(join(caseDir, "config.yaml"))) as {
        model: Record<string, unknown>;
      }).model;
      const tokenizer = join(env.dir, "tokenizer-250.json");
      await Deno.writeTextFile(tokenizer, wordLevelTokenizerJson(250));
      const olmoDir = join(env.dir, "olmo");
      await Deno.mkdir(olmoDir);
      for (const f of ["config.yaml", "model.pt"]) {
        await Deno.copyFile(join(caseDir, f), join(olmoDir, f));
      }
      const losses = async (name: string, loadPath: string) => {
        const cfg = await tinyTrainConfig(env, join(env.dir, name), {
          model,
          tokenizer: { identifier: tokenizer },
          load_path: loadPath,
          reset_optimizer_state: true,
          max_duration: 2,
        });
        return (await runTraining(cfg, QUIET)).fit!.losses;
      };
      const fromHf = await losses("from-hf", join(caseDir, "hf"));
      const fromPt = await losses("from-pt", olmoDir);
      assert.equal(fromHf.length, 2);
      assert.deepEqual(fromHf, fromPt);
      const withOptim = await tinyTrainConfig(env, join(env.dir, "optim"), {
        model,
        tokenizer: { identifier: tokenizer },
        load_path: join(caseDir, "hf"),
      });
      await assert.rejects(runTraining(withOptim, QUIET), /weights only.*--reset_optimizer_state/);
    } finally {
      await Deno.remove(env.dir, { recursive: true });
    }
  },
});

Deno.test("scheduler.grad_clip_warmup_*: thresholds scaled until the warmup ends, as OLMo", async () => {
  // By hand (OLMo's `_get_max_grad_norm_coeff`, set after each step's clipping).
  const warmup = { grad_clip_warmup_steps: 2, grad_clip_warmup_factor: 0.5 };
  assert.deepEqual([1, 2, 3].map((s) => clipThresholdAt(1.0, s, warmup)), [0.5, 0.5, 1.0]);
  assert.equal(clipThresholdAt(null, 1, warmup), null);
  assert.equal(clipThresholdAt(1.0, 1, { ...warmup, grad_clip_warmup_factor: null }), 1.0);
  await initBackend("cpu", { quiet: true });
  const env = await makeTinyEnv();
  try {
    const folder = join(env.dir, "clip");
    await runTraining(
      await tinyTrainConfig(env, folder, { save_interval: 1, max_duration: 3, scheduler: warmup }),
      QUIET,
    );
    // The groups saved after steps 1, 2, 3 carry the threshold for the next step.
    const saved = await Promise.all([1, 2, 3].map(async (s) => {
      const json = JSON.parse(await Deno.readTextFile(join(folder, `step${s}`, "rank0.json")));
      return json.optim.param_groups.map((g: { max_grad_norm: number }) => g.max_grad_norm);
    }));
    assert.deepEqual(saved, [[0.5, 0.5], [0.5, 0.5], [1, 1]]);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});
