/**
 * In-loop downstream evaluation on 2 MPICH ranks (`deno task launch`, skipped without MPICH):
 * a run restarted from an unsharded checkpoint with `eval_on_load` evaluates the same weights on
 * every rank count, and its `eval/downstream/*` metrics in `metrics.jsonl` are exactly those of
 * the same restart in one process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TASKS } from "../lib/eval/tasks.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { DENO, HAS_MPICH, run } from "./distributed/run.ts";
import { jsonLines, taskParquet } from "./_eval_fixture.ts";
import { makeTinyEnv, tinyTrainConfig, writeTinyConfigYaml } from "./_train_fixture.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true } };

Deno.test({
  name: "MPICH, 2 ranks: in-loop downstream metrics equal one process's",
  ignore: !HAS_MPICH,
  fn: async () => {
    const env = await makeTinyEnv();
    try {
      const tasks = join(env.dir, "tasks");
      await Deno.mkdir(join(tasks, "piqa", "none"), { recursive: true });
      const piqa = Array.from({ length: 7 }, (_, i) => ({
        goal: `w${i} w${i + 1}`,
        sol1: `w${i + 2} w${i + 3}`,
        sol2: `w${40 - i}`,
        label: i % 2,
      }));
      await Deno.writeFile(
        join(tasks, "piqa", "none", "validation.parquet"),
        new Uint8Array(taskParquet(TASKS.piqa, piqa)),
      );
      await Deno.mkdir(join(tasks, "boolq", "none"), { recursive: true });
      const boolq = Array.from({ length: 5 }, (_, i) => ({
        question: `w${i + 10}`,
        passage: `w${i} w${i + 20}`,
        answer: i % 3 === 0,
      }));
      await Deno.writeTextFile(join(tasks, "boolq", "none", "validation.jsonl"), jsonLines(boolq));
      // 7 requests: the rank split pads with a duplicate, which the gather must drop.
      const arith = join(env.dir, "arith.jsonl");
      await Deno.writeTextFile(
        arith,
        jsonLines([
          { context: "w1 w2", continuations: [" w3", " w7 w8", " w9"], label: 0 },
          { context: "w10 w11 w12", continuations: [" w13", " w2"], label: 0 },
          { context: "w20", continuations: [" w40", " w21"], label: 1 },
        ]),
      );
      const extra = {
        hf_datasets_cache_dir: tasks,
        max_duration: 3,
        save_interval_unsharded: 3,
        model: { residual_dropout: 0 },
        evaluators: [
          { label: "piqa", type: "downstream", device_eval_batch_size: 3 },
          { label: "boolq", type: "downstream", device_eval_batch_size: 2 },
          { label: "arith", type: "downstream", data: { paths: [arith] } },
        ],
      };
      // The weights both restarts evaluate.
      const first = join(env.dir, "first");
      await runTraining(await tinyTrainConfig(env, first, extra), QUIET);
      const restart = {
        ...extra,
        load_path: join(first, "step3-unsharded"),
        eval_on_load: true,
      };
      const one = join(env.dir, "one");
      await runTraining(await tinyTrainConfig(env, one, restart), QUIET);
      const two = join(env.dir, "two");
      const config = join(env.dir, "two.yaml");
      await writeTinyConfigYaml(env, config, two, restart);
      const job = await run(DENO, [
        "run",
        "-A",
        "cli/launch.ts",
        "--nproc-per-node=2",
        "--mpi=mpich",
        "cli/train.ts",
        config,
      ], { timeoutMs: 120_000 });
      assert.equal(job.timedOut, false);
      assert.equal(job.code, 0, job.stdout + job.stderr);

      const downstream = async (folder: string) => {
        const records = await readMetricsFile(join(folder, "metrics.jsonl"));
        const evals = records.filter((r) => "eval/downstream/piqa_len_norm" in r);
        assert.equal(evals.length, 1, folder);
        return evals[0];
      };
      const want = await downstream(one);
      assert.equal(want.step, 3);
      assert.deepEqual(Object.keys(want).sort(), [
        "eval/downstream/arith_acc",
        "eval/downstream/arith_len_norm",
        "eval/downstream/boolq_pmi_dc",
        "eval/downstream/piqa_len_norm",
        "step",
      ]);
      assert.deepEqual(await downstream(two), want);
    } finally {
      await Deno.remove(env.dir, { recursive: true });
    }
  },
});
