/**
 * What a run does around a restart (spec §6.1, §6.3, §6.5, §6.7), checked against a finished
 * 6-step run: OLMo's exact metric names; `restore_dataloader: false` and
 * `fast_forward_batches` move the data position as OLMo's (checked on the instances each step
 * trained on, from `data-indices`, against `train_data/global_indices.npy`); `eval_on_load`;
 * `dry_run` and `--dry_run --force_save_unsharded` (the sharded → unsharded converter); the LR and
 * weight decay re-derived from the config; `reset_trainer_state`; `--load_path` as a URL; W&B
 * settings accepted; and a restart from an earlier checkpoint of the same folder, after which
 * `metrics.jsonl` and `data-indices` still list every step once and the result is bit-identical.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../lib/backend/mod.ts";
import { loadCheckpoint } from "../lib/checkpoint/mod.ts";
import { deriveTrainConfig, type TrainConfig } from "../lib/config/mod.ts";
import { readGlobalIndices } from "../lib/data/iterable_dataset.ts";
import { Olmo } from "../lib/model/mod.ts";
import { readDataIndices } from "../lib/train/data_indices.ts";
import { SILENT_LOGGER, type TrainLogger } from "../lib/train/log.ts";
import { lmTrainingLoss, nextTokenTargets } from "../lib/train/loss.ts";
import { type MetricsRecord, readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { buildTrainDataset } from "../lib/train/train_data.ts";
import { assertBitExact } from "./_cli.ts";
import { makeTinyEnv, tinyTrainConfig } from "./_train_fixture.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true } };
const BATCH = 4; // global_train_batch_size of the tiny config
const EVAL = { evaluators: [{ label: "held-out", data: { paths: [] as string[] } }] };

/** Instances of `step` (1-based) in a global order, for one rank. */
function instancesOf(global: Uint32Array, step: number): number[] {
  return [...global.subarray((step - 1) * BATCH, step * BATCH)];
}

async function trainRecords(folder: string): Promise<MetricsRecord[]> {
  return (await readMetricsFile(join(folder, "metrics.jsonl")))
    .filter((r) => "train/CrossEntropyLoss" in r);
}

async function indicesBySteps(folder: string): Promise<[number, number[]][]> {
  const records = await readDataIndices(join(folder, "data-indices", "rank0.tsv.gz"));
  return records.map((r) => [r.step, r.indices]);
}

/** Cosine with the tiny config's 2-step warmup and alpha_f 0.1. */
function cosine(lr: number, step: number, maxSteps: number): number {
  const eta = 0.1 * lr;
  return eta + (lr - eta) * (1 + Math.cos((Math.PI * (step - 2)) / (maxSteps - 2))) / 2;
}

Deno.test("restart options, metric names, dry runs and URLs around a finished run", async (t) => {
  await initBackend("cpu", { quiet: true });
  const env = await makeTinyEnv();
  EVAL.evaluators[0].data.paths = [env.validation];
  const cfg = (folder: string, extra: Record<string, unknown> = {}): Promise<TrainConfig> =>
    tinyTrainConfig(env, join(env.dir, folder), extra);
  try {
    // The reference: 6 steps, sharded checkpoints at 3 and 6, unsharded at 6, eval at 3 and 6.
    const tensorsBefore = tf.memory().numTensors;
    const ref = await runTraining(await cfg("base", { ...EVAL, eval_interval: 3 }), QUIET);
    assert.equal(tf.memory().numTensors, tensorsBefore, "a whole run leaves no tensor behind");
    const base = join(env.dir, "base");
    const global = readGlobalIndices(join(base, "train_data", "global_indices.npy"));
    const baseRecords = await trainRecords(base);
    const baseEval = (await readMetricsFile(join(base, "metrics.jsonl")))
      .filter((r) => "eval/held-out/CrossEntropyLoss" in r);

    await t.step("metric names are OLMo's (plus MFU and peak memory)", async () => {
      const keys = (step: number) => Object.keys(baseRecords[step - 1]).sort();
      const always = [
        "optim/learning_rate_group0",
        "optim/learning_rate_group1",
        "optim/total_grad_norm",
        "step",
        "throughput/total_tokens",
        "train/CrossEntropyLoss",
        "train/Perplexity",
      ];
      const rates = [
        "throughput/device/batches_per_second",
        "throughput/device/mfu",
        "throughput/device/tokens_per_second",
      ];
      // Step 1: no rates yet (the speed monitor skips the first batch); memory on steps < 3.
      assert.deepEqual(keys(1), [...always, "System/Peak Memory (MB)"].sort());
      assert.deepEqual(keys(2), [...always, ...rates, "System/Peak Memory (MB)"].sort());
      assert.deepEqual(keys(3), [...always, ...rates].sort());
      assert.deepEqual(Object.keys(baseEval[0]).sort(), [
        "eval/held-out/CrossEntropyLoss",
        "eval/held-out/Perplexity",
        "step",
      ]);
      const r = baseRecords[1];
      assert.equal(r["train/Perplexity"], Math.exp(r["train/CrossEntropyLoss"]));
      assert.equal(r["throughput/total_tokens"], 2 * BATCH * 16);
      const model = new Olmo(ref.cfg.model, { init: false });
      const flopsPerToken = model.trainFlopsPerToken();
      model.dispose();
      const mfu = (r["throughput/device/tokens_per_second"] * flopsPerToken) / 1e9;
      assert.ok(Math.abs(r["throughput/device/mfu"] - mfu) <= 1e-12 * mfu);
      assert.deepEqual((await indicesBySteps(base)).map(([s]) => s), [1, 2, 3, 4, 5, 6]);
    });

    await t.step("restore_dataloader: false and fast_forward_batches move the data", async () => {
      const load_path = join(base, "step3");
      const noRestore = await runTraining(
        await cfg("no-restore", { load_path, restore_dataloader: false, max_duration: 5 }),
        QUIET,
      );
      assert.deepEqual([noRestore.fit?.reason, noRestore.fit?.step], ["max_duration", 5]);
      const folder = join(env.dir, "no-restore");
      // Steps 4 and 5 train on the first two batches again; tokens seen restart from 0.
      assert.deepEqual(await indicesBySteps(folder), [
        [4, instancesOf(global, 1)],
        [5, instancesOf(global, 2)],
      ]);
      assert.equal((await trainRecords(folder))[0]["throughput/total_tokens"], BATCH * 16);

      const ff = await runTraining(
        await cfg("fast-forward", { load_path, fast_forward_batches: 1, max_duration: 6 }),
        QUIET,
      );
      const ffFolder = join(env.dir, "fast-forward");
      // Batch 4 is skipped: steps 4 and 5 take batches 5 and 6, the last of the 6 · 4 examples
      // OLMo's loader holds (max_examples = global batch · max_duration), so the data ends.
      assert.deepEqual([ff.fit?.reason, ff.fit?.step], ["data_exhausted", 5]);
      assert.deepEqual(await indicesBySteps(ffFolder), [
        [4, instancesOf(global, 5)],
        [5, instancesOf(global, 6)],
      ]);
      // Tokens seen are not fast-forwarded (OLMo): 3 restored steps + 1.
      assert.equal((await trainRecords(ffFolder))[0]["throughput/total_tokens"], 4 * BATCH * 16);
    });

    await t.step("eval_on_load evaluates the restored weights before the first step", async () => {
      const folder = join(env.dir, "eval-on-load");
      await runTraining(
        await cfg("eval-on-load", {
          ...EVAL,
          load_path: join(base, "step3"),
          eval_on_load: true,
          max_duration: 4,
        }),
        QUIET,
      );
      const records = await readMetricsFile(join(folder, "metrics.jsonl"));
      assert.deepEqual(records.map((r) => r.step), [3, 4]);
      // The same weights and evaluation data as the reference's evaluation at step 3.
      assert.deepEqual(records[0], baseEval[0]);
      // A new run has nothing to evaluate on load.
      await runTraining(
        await cfg("no-load", { ...EVAL, eval_on_load: true, max_duration: 1 }),
        QUIET,
      );
      const fresh = await readMetricsFile(join(env.dir, "no-load", "metrics.jsonl"));
      assert.deepEqual(fresh.map((r) => Object.keys(r).some((k) => k.startsWith("eval/"))), [
        false,
      ]);
    });

    await t.step(
      "dry_run trains and writes nothing; with force_save_unsharded it converts",
      async () => {
        const dry = await runTraining(await cfg("dry", { dry_run: true }), QUIET);
        assert.equal(dry.fit, null);
        await assert.rejects(() => Deno.stat(join(env.dir, "dry")), Deno.errors.NotFound);

        const folder = join(env.dir, "convert");
        const convert = await runTraining(
          await cfg("convert", {
            load_path: join(base, "step3"),
            dry_run: true,
            force_save_unsharded: true,
          }),
          QUIET,
        );
        assert.equal(convert.fit, null);
        const sharded = await loadCheckpoint(join(base, "step3"));
        const unsharded = await loadCheckpoint(join(folder, "step3-unsharded"));
        assertBitExact(unsharded.model, sharded.model!, "model");
        assertBitExact(unsharded.optim!.state, sharded.optim!.state, "optimizer state");
        assert.equal(unsharded.trainer!.global_step, 3);
        const names = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
        assert.deepEqual(names, ["latest-unsharded", "step3-unsharded"]);
      },
    );

    await t.step("the LR and weight decay come from the config after a restart", async () => {
      const folder = join(env.dir, "new-lr");
      await runTraining(
        await cfg("new-lr", {
          load_path: join(base, "step3"),
          optimizer: { learning_rate: 0.02, weight_decay: 0.2 },
        }),
        QUIET,
      );
      const records = await trainRecords(folder);
      assert.deepEqual(records.map((r) => r.step), [4, 5, 6]);
      for (const r of records) {
        const want = cosine(0.02, r.step, 6);
        assert.ok(Math.abs(r["optim/learning_rate_group0"] - want) < 1e-15, `step ${r.step}`);
      }
      const optim = JSON.parse(
        await Deno.readTextFile(join(folder, "step6-unsharded", "optim.json")),
      );
      const groups = optim.param_groups.map((g: Record<string, number>) => [
        g.initial_lr,
        g.weight_decay,
      ]);
      assert.deepEqual(groups, [[0.02, 0.2], [0.02, 0]]);
    });

    await t.step(
      "reset_trainer_state: the weights of a checkpoint, step 1 and example 0",
      async () => {
        const folder = join(env.dir, "reset");
        const run = await runTraining(
          await cfg("reset", {
            load_path: join(base, "step6-unsharded"),
            reset_trainer_state: true,
            reset_optimizer_state: true,
            model: { residual_dropout: 0 },
            max_duration: 4,
          }),
          QUIET,
        );
        assert.equal(run.fit?.step, 4);
        const records = await trainRecords(folder);
        assert.deepEqual(records.map((r) => r.step), [1, 2, 3, 4]);
        assert.deepEqual((await indicesBySteps(folder))[0], [1, instancesOf(global, 1)]);
        // Bolt-on warmup from step 0 to 2 over cosine(2) = lr: step 1 gets lr / 2.
        assert.ok(Math.abs(records[0]["optim/learning_rate_group0"] - 0.01 / 2) < 1e-15);
        // Step 1's loss is the step-6 weights' loss on the first batch, computed here directly.
        const c = deriveTrainConfig(run.cfg, 1);
        const model = new Olmo(c.model, { init: false });
        model.loadStateDict((await loadCheckpoint(join(base, "step6-unsharded"))).model!);
        const data = buildTrainDataset(c);
        const ids = instancesOf(global, 1).flatMap((i) => [...data.get(i).inputIds]);
        const ce = tf.tidy(() => {
          const x = tf.tensor2d(ids, [BATCH, 16], "int32");
          const { labels, weights } = nextTokenTargets(x);
          const logits = model.forward(x, { training: false }).logits;
          return lmTrainingLoss(logits, labels, weights, { zLoss: false, scale: 1 }).ce;
        });
        const want = (await ce.data())[0];
        tf.dispose(ce);
        model.dispose();
        const got = records[0]["train/CrossEntropyLoss"];
        assert.ok(Math.abs(got - want) <= 1e-6 * want, `${got} vs ${want}`);
      },
    );

    await t.step("--load_path as a URL restores like the same local folder", async () => {
      const served = join(base, "step6-unsharded");
      const hits: string[] = [];
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
        const name = new URL(req.url).pathname.split("/").at(-1)!;
        hits.push(name);
        return Deno.readFile(join(served, name)).then(
          (b) => new Response(b),
          () => new Response("no", { status: 404 }),
        );
      });
      try {
        const url = `http://127.0.0.1:${server.addr.port}/runs/base/step6-unsharded`;
        const remote = await runTraining(
          await cfg("url", { load_path: url, max_duration: 8 }),
          { ...QUIET, cacheDir: join(env.dir, "cache") },
        );
        const local = await runTraining(
          await cfg("local", { load_path: served, max_duration: 8 }),
          QUIET,
        );
        assert.deepEqual(remote.fit?.losses, local.fit?.losses);
        assert.equal(remote.fit?.step, 8);
        for (const f of ["model.safetensors", "optim.json", "optim.safetensors", "train.json"]) {
          assert.ok(hits.includes(f), `${f} downloaded`);
        }
      } finally {
        await server.shutdown();
      }
    });

    await t.step(
      "W&B settings are accepted: one warning, optim/* metrics on its interval",
      async () => {
        const warnings: string[] = [];
        const logger: TrainLogger = { info() {}, warn: (m) => warnings.push(m) };
        await runTraining(
          await cfg("wandb", {
            wandb: { project: "olmo-ts", entity: null, log_interval: 2 },
            max_duration: 4,
          }),
          { logger, progress: { silent: true } },
        );
        assert.equal(warnings.filter((w) => /wandb/i.test(w)).length, 1);
        const records = await trainRecords(join(env.dir, "wandb"));
        const name = "transformer.wte.weight";
        const perParam = [
          `optim/grad/${name}.norm`,
          `optim/grad/${name}.max`,
          `optim/param/${name}.avg`,
          `optim/exp_avg/${name}.min`,
          `optim/exp_avg_sq/${name}.norm`,
        ];
        for (const r of records) {
          for (const k of perParam) assert.equal(k in r, r.step % 2 === 0, `${k} at ${r.step}`);
        }
      },
    );

    await t.step("restarting from an earlier checkpoint lists every step once", async () => {
      const before = await loadCheckpoint(join(base, "step6-unsharded"));
      const indices = await indicesBySteps(base);
      const load_path = join(base, "step3");
      // OLMo's rule: step 6 exists, so saving it again needs --save_overwrite...
      await assert.rejects(
        async () => await runTraining(await cfg("base", { ...EVAL, load_path }), QUIET),
        /Checkpoint for step 6 already exists, use --save-overwrite/,
      );
      // ...and with it the run is redone from step 3, bit for bit.
      await runTraining(
        await cfg("base", { ...EVAL, eval_interval: 3, load_path, save_overwrite: true }),
        QUIET,
      );
      const records = await readMetricsFile(join(base, "metrics.jsonl"));
      assert.deepEqual(records.map((r) => r.step), [1, 2, 3, 3, 4, 5, 6, 6]);
      assert.deepEqual(await trainRecords(base).then((r) => r.map((x) => x.step)), [
        1,
        2,
        3,
        4,
        5,
        6,
      ]);
      assert.deepEqual(await indicesBySteps(base), indices);
      const after = await loadCheckpoint(join(base, "step6-unsharded"));
      assertBitExact(after.model, before.model!, "model after the redone steps");
    });
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});
