/**
 * Trainer behaviour: exact stopping (`max_duration` in tokens, `stop_at`), evaluation metric
 * names and values (and `subset_num_batches`), the NaN-loss error, a stable tensor count across
 * steps, micro-batch loss averaging and gradient accumulation against plain autodiff, and
 * fine-tuning from OLMo's own `model.pt` checkpoint with a fresh optimizer and the bolt-on
 * warmup.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { initBackend } from "../lib/backend/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { deriveTrainConfig, loadTrainConfig } from "../lib/config/mod.ts";
import { Olmo } from "../lib/model/mod.ts";
import { createOptimizer } from "../lib/optim/mod.ts";
import { buildEvaluators } from "../lib/train/evaluator.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { NonFiniteLossError, runTrainStep } from "../lib/train/train_step.ts";
import { SingleProcessWorld } from "../lib/distributed/world.ts";
import { LocalDataParallel } from "../lib/distributed/data_parallel.ts";
import {
  makeTinyEnv,
  patternTokens,
  TINY_VOCAB,
  tinyTrainConfig,
  wordLevelTokenizerJson,
  writeTokenFile,
} from "./_train_fixture.ts";
import { HAS_SHARED, referenceCaseDir } from "./_shared.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true } };

Deno.test("max_duration as tokens, stop_at, time_limit and early stopping stop exactly there", async () => {
  const env = await makeTinyEnv();
  try {
    // 4 instances x 16 tokens = 64 tokens per step: "200T" is 3 whole steps.
    const tokens = join(env.dir, "tokens");
    const t = await runTraining(
      await tinyTrainConfig(env, tokens, { max_duration: "200T", save_interval_unsharded: null }),
      QUIET,
    );
    assert.equal(t.fit?.reason, "max_duration");
    assert.equal(t.fit?.step, 3);
    const records = await readMetricsFile(join(tokens, "metrics.jsonl"));
    assert.deepEqual(records.map((r) => r.step), [1, 2, 3]);
    assert.equal(records[2]["throughput/total_tokens"], 192);

    const stop = join(env.dir, "stop");
    const s = await runTraining(
      await tinyTrainConfig(env, stop, { max_duration: 10, stop_at: 4, save_interval: 1000 }),
      QUIET,
    );
    assert.equal(s.fit?.reason, "stop_at");
    assert.equal(s.fit?.step, 4);
    // stop_at saves a sharded checkpoint (and no final unsharded one), as OLMo.
    assert.equal(await Deno.readLink(join(stop, "latest")), "step4");
    await assert.rejects(() => Deno.stat(join(stop, "step4-unsharded")));
    // The schedule still runs to max_duration: step 4 of 10 is past the 2-step warmup.
    const last = (await readMetricsFile(join(stop, "metrics.jsonl"))).at(-1)!;
    const lr = 0.01, etaMin = 0.001;
    const cosine = etaMin + (lr - etaMin) * (1 + Math.cos((Math.PI * (4 - 2)) / (10 - 2))) / 2;
    assert.ok(Math.abs(last["optim/learning_rate_group0"] - cosine) < 1e-12);

    // time_limit and early stopping are checked every canceled_check_interval steps.
    const timed = await runTraining(
      await tinyTrainConfig(env, join(env.dir, "time"), {
        time_limit: 0,
        canceled_check_interval: 2,
        save_interval: 1000,
      }),
      QUIET,
    );
    assert.deepEqual([timed.fit?.reason, timed.fit?.step], ["time_limit", 2]);
    const early = await runTraining(
      await tinyTrainConfig(env, join(env.dir, "early"), {
        early_stopping_factor: 0.5, // any loss exceeds half the minimum: stop after warmup
        canceled_check_interval: 1,
        save_interval: 1000,
      }),
      QUIET,
    );
    assert.deepEqual([early.fit?.reason, early.fit?.step], ["early_stopping", 3]);
    assert.equal(await Deno.readLink(join(env.dir, "early", "latest")), "step3");
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("eval metrics: names per label, per-sequence mean, exp for perplexity", async () => {
  const env = await makeTinyEnv();
  const warnings: string[] = [];
  try {
    const cfg = deriveTrainConfig(
      await tinyTrainConfig(env, join(env.dir, "run"), {
        evaluators: [
          { label: "held-out", data: { paths: [env.validation] } },
          { label: "mix", data: { datasets: { a: [env.validation], b: [env.train[1]] } } },
        ],
      }),
      1,
    );
    const evaluators = await buildEvaluators(
      cfg,
      new SingleProcessWorld(),
      (m) => warnings.push(m),
    );
    assert.equal(evaluators.length, 2);
    assert.deepEqual(warnings, []);
    // All-zero weights give uniform logits: every position's loss is ln(embedding_size).
    const model = new Olmo(cfg.model, { init: false });
    try {
      const metrics: Record<string, number> = {};
      for (const e of evaluators) Object.assign(metrics, await e.evaluate(model));
      assert.deepEqual(Object.keys(metrics).sort(), [
        "eval/a/CrossEntropyLoss",
        "eval/a/Perplexity",
        "eval/b/CrossEntropyLoss",
        "eval/b/Perplexity",
        "eval/held-out/CrossEntropyLoss",
        "eval/held-out/Perplexity",
      ]);
      for (const label of ["held-out", "a", "b"]) {
        const ce = metrics[`eval/${label}/CrossEntropyLoss`];
        assert.ok(Math.abs(ce - Math.log(TINY_VOCAB)) < 1e-5, `${label}: ${ce}`);
        assert.ok(Math.abs(metrics[`eval/${label}/Perplexity`] - Math.exp(ce)) < 1e-9);
      }
    } finally {
      model.dispose();
    }
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("eval subset_num_batches: the evaluator's, else eval_subset_num_batches, else all", async () => {
  const env = await makeTinyEnv();
  try {
    const cfg = deriveTrainConfig(
      await tinyTrainConfig(env, join(env.dir, "run"), {
        eval_subset_num_batches: 2,
        evaluators: [
          { label: "all", data: { paths: [env.validation] }, subset_num_batches: -1 },
          { label: "one", data: { paths: [env.validation] }, subset_num_batches: 1 },
          { label: "default", data: { paths: [env.validation] } },
        ],
      }),
      1,
    );
    // 12 validation instances in batches of device_eval_batch_size 4: 3 batches in all.
    const evaluators = await buildEvaluators(cfg, new SingleProcessWorld(), () => {});
    assert.deepEqual(evaluators.map((e) => e.numBatches), [3, 1, 2]);
    const model = new Olmo(cfg.model, { seed: 2 });
    try {
      for (const e of evaluators) {
        const seen: string[] = [];
        const m = await e.evaluate(model, (i, n) => seen.push(`${i}/${n}`));
        assert.deepEqual(
          seen,
          Array.from({ length: e.numBatches }, (_, i) => `${i + 1}/${e.numBatches}`),
        );
        assert.ok(Number.isFinite(m[`eval/${e.label}/CrossEntropyLoss`]));
      }
    } finally {
      model.dispose();
    }
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("a NaN loss stops training with an error naming the step", async () => {
  const env = await makeTinyEnv();
  try {
    const cfg = await tinyTrainConfig(env, join(env.dir, "nan"), {
      optimizer: { learning_rate: 1e30 },
      scheduler: { t_warmup: 0 },
      max_grad_norm: null,
      no_pre_train_checkpoint: true,
    });
    await assert.rejects(
      () => runTraining(cfg, QUIET),
      (e: Error) =>
        e instanceof NonFiniteLossError && e.step >= 2 &&
        e.message.includes(`loss encountered at step ${e.step}`),
    );
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("the number of live tensors is stable across training steps", async () => {
  await initBackend("cpu", { quiet: true });
  const env = await makeTinyEnv();
  try {
    const cfg = await tinyTrainConfig(env, join(env.dir, "mem"), {
      softmax_auxiliary_loss: true,
      max_grad_norm_ratio: 2.0,
    });
    const model = new Olmo(cfg.model, { seed: 1 });
    const optimizer = createOptimizer(cfg.optimizer, model.params, cfg);
    const ctx = {
      model,
      dataParallel: new LocalDataParallel(model, optimizer),
      microBatchSize: 2,
      zLoss: true,
      dropoutSeed: (m: number) => m,
    };
    const tokens = patternTokens(4 * 16, 9);
    const batch = {
      inputIds: { dtype: "int32" as const, shape: [4, 16], data: Int32Array.from(tokens) },
      attentionMask: {
        dtype: "float32" as const,
        shape: [4, 16],
        data: new Float32Array(64).fill(1).fill(0, 60),
      },
    };
    const counts: number[] = [];
    try {
      for (let step = 1; step <= 5; step++) {
        const r = await runTrainStep(ctx, batch, step, 1e-3, step === 4);
        assert.ok(r.z !== null && r.z > 0);
        counts.push(tf.memory().numTensors);
      }
    } finally {
      optimizer.dispose();
      model.dispose();
    }
    // Optimizer moments appear at step 1 and the adaptive-clipping EMAs at step 2; then nothing.
    assert.deepEqual(counts.slice(2), [counts[1], counts[1], counts[1]]);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("micro-batches: the loss is the mean of each one's token-mean CE, gradients summed", async () => {
  await initBackend("cpu", { quiet: true });
  const env = await makeTinyEnv();
  try {
    // Large initial weights make per-token losses differ, so the weighting shows in the loss.
    const cfg = await tinyTrainConfig(env, join(env.dir, "micro"), {
      model: { residual_dropout: 0, init_std: 0.5 },
    });
    const model = new Olmo(cfg.model, { seed: 3 });
    const optimizer = createOptimizer(cfg.optimizer, model.params, cfg);
    const [B, S, V] = [4, 16, TINY_VOCAB];
    const ids = Int32Array.from(patternTokens(B * S, 11));
    // Rows 0-1 (micro-batch 1) are fully attended: 2 x 15 labels. Rows 2-3 (micro-batch 2) mask
    // their last 10 positions: labels only where the next token is attended, 2 x 5 labels.
    const mask = new Float32Array(B * S).fill(1);
    for (const row of [2, 3]) mask.fill(0, row * S + 6, (row + 1) * S);
    try {
      // The reference, by plain autodiff: mean over the two micro-batches of each one's
      // token-mean next-token CE, with the mask also given to attention (OLMo's forward).
      const perToken: number[][] = [];
      const { value, grads } = tf.variableGrads(() => {
        let total = tf.scalar(0);
        for (const start of [0, 2]) {
          const x = tf.tensor2d(ids.subarray(start * S, (start + 2) * S), [2, S], "int32");
          const m = tf.tensor2d(mask.subarray(start * S, (start + 2) * S), [2, S]);
          const logits = model.forward(x, { attentionMask: m }).logits; // (2, S, V)
          const lp = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [2, S - 1, V]));
          const next = tf.oneHot(tf.slice(x, [0, 1], [2, S - 1]), V); // (2, S-1, V)
          const nll = tf.neg(tf.sum(tf.mul(lp, next), -1)); // (2, S-1)
          const w = tf.slice(m, [0, 1], [2, S - 1]); // label t+1 counts iff attended
          perToken.push([...tf.mul(nll, w).dataSync()].filter((_, i) => w.dataSync()[i] > 0));
          total = tf.add(total, tf.div(tf.div(tf.sum(tf.mul(nll, w)), tf.sum(w)), 2));
        }
        return total as tf.Scalar;
      }, [...model.params.values()]);
      const wantLoss = (await value.data())[0];
      let sq = 0;
      for (const g of Object.values(grads)) for (const v of await g.data()) sq += v * v;
      tf.dispose([value, ...Object.values(grads)]);
      const ctx = {
        model,
        dataParallel: new LocalDataParallel(model, optimizer),
        microBatchSize: 2,
        zLoss: false,
        dropoutSeed: (m: number) => m,
      };
      const batch = {
        inputIds: { dtype: "int32" as const, shape: [B, S], data: ids },
        attentionMask: { dtype: "float32" as const, shape: [B, S], data: mask },
      };
      const r = await runTrainStep(ctx, batch, 1, 1e-3);
      assert.equal(perToken[0].length, 30);
      assert.equal(perToken[1].length, 10);
      assert.ok(Math.abs(r.ce - wantLoss) <= 1e-5 * wantLoss, `${r.ce} vs ${wantLoss}`);
      assert.ok(Math.abs(r.gradNorm - Math.sqrt(sq)) <= 1e-4 * Math.sqrt(sq));
      // Token-weighting across micro-batches (not OLMo's) would be visibly different.
      const weighted = perToken.flat().reduce((a, b) => a + b, 0) / 40;
      assert.ok(Math.abs(weighted - wantLoss) > 100 * 1e-5 * wantLoss, `${weighted}`);
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test({
  name: "fine-tune from OLMo's model.pt: fresh optimizer, bolt-on warmup, OLMo's step-1 loss",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo-ts-finetune-" });
    try {
      const caseDir = referenceCaseDir("rope-swiglu-seq");
      // An OLMo unsharded checkpoint folder: config.yaml + model.pt only.
      const olmoCkpt = join(dir, "step1000-unsharded");
      await Deno.mkdir(olmoCkpt);
      await Deno.copyFile(join(caseDir, "model.pt"), join(olmoCkpt, "model.pt"));
      await Deno.copyFile(join(caseDir, "config.yaml"), join(olmoCkpt, "config.yaml"));
      // Training data = OLMo's recorded step-1 batch (4 x 32), so step 1's loss is OLMo's.
      const ref = (await readSafetensors(join(caseDir, "train_step.safetensors"))).tensors;
      const ids = ref.get("step1.input_ids")!;
      const tokens = join(dir, "tokens.npy");
      await writeTokenFile(tokens, Uint16Array.from(ids.data as BigInt64Array, (v) => Number(v)));
      const tokenizer = join(dir, "tokenizer.json");
      await Deno.writeTextFile(tokenizer, wordLevelTokenizerJson(250));
      const olmo = await loadTrainConfig(join(caseDir, "config.yaml"), { validatePaths: false });
      const configPath = join(dir, "finetune.yaml");
      await Deno.writeTextFile(
        configPath,
        stringifyYaml({
          run_name: "finetune",
          model: olmo.model,
          optimizer: { name: "adamw", learning_rate: 1e-3 },
          scheduler: { name: "cosine_with_warmup", t_warmup: 4 },
          tokenizer: { identifier: tokenizer },
          data: { paths: [tokens] },
          save_folder: join(dir, "run"),
          load_path: olmoCkpt,
          reset_optimizer_state: true,
          max_duration: 10, // the 4 instances are one batch: the data runs out after step 1
          global_train_batch_size: 4,
          device_train_microbatch_size: 4,
          speed_monitor: { gpu_flops_available: 1e9 },
          backend: "cpu",
        }),
      );
      const result = await runTraining(await loadTrainConfig(configPath), QUIET);
      assert.equal(result.fit?.step, 1);
      assert.equal(result.fit?.reason, "data_exhausted");
      const [m] = await readMetricsFile(join(dir, "run", "metrics.jsonl"));
      const loss = toNumber(ref.get("step1.loss")!.data);
      assert.ok(Math.abs(m["train/CrossEntropyLoss"] - loss) <= 1e-5 * loss);
      // Bolt-on warmup from step 0 to 4 over cosine(4) = lr: step 1 gets lr / 4.
      assert.ok(Math.abs(m["optim/learning_rate_group0"] - 1e-3 / 4) < 1e-15);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function toNumber(data: ArrayLike<number | bigint>): number {
  return Number(data[0]);
}
