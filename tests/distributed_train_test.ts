/**
 * Multi-rank training (`deno task launch --nproc-per-node=2 cli/train.ts`, ZeRO sharding)
 * against single-process training of the same config: the same global batches and seed give the
 * same losses and final parameters; sharded checkpoints unshard to the unsharded checkpoint of
 * the same step; checkpoints restart across world sizes (unsharded) or refuse to (sharded); a
 * rank that fails stops the job and leaves the last checkpoint restorable. Every job runs under
 * a time bound; everything is skipped without MPICH (`apt install mpich`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../lib/checkpoint/trainer/load.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { type DataIndicesRecord, readDataIndices } from "../lib/train/data_indices.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { DENO, HAS_MPICH, HAS_OPENMPI, rankPid, run, type RunResult } from "./distributed/run.ts";
import {
  makeTinyEnv,
  patternTokens,
  type TinyEnv,
  tinyTrainConfig,
  writeTinyConfigYaml,
  writeTokenFile,
} from "./_train_fixture.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true } };
/** Losses of 1-rank and 2-rank runs of the same batches agree to this (float32 sum order). */
const LOSS_TOLERANCE = 1e-5;
/** Dropout masks are drawn per rank, so only a dropout-free model trains identically. */
const NO_DROPOUT = { model: { residual_dropout: 0 } };
/** Each job's time bound. */
const JOB_TIMEOUT_MS = 120_000;

/**
 * Runs `cli/train.ts CONFIG args` on `ranks` ranks through `cli/launch.ts`; with `failAt`,
 * the test entry script `tests/distributed/train_failing_rank.ts` instead, whose rank
 * `failAt.rank` throws in step `failAt.step`.
 */
function launchTrain(
  ranks: number,
  config: string,
  args: string[],
  options: { mpi?: "mpich" | "openmpi"; failAt?: { step: number; rank: number } } = {},
): Promise<RunResult> {
  const script = options.failAt === undefined ? ["cli/train.ts"] : [
    "tests/distributed/train_failing_rank.ts",
    String(options.failAt.step),
    String(options.failAt.rank),
  ];
  return run(DENO, [
    "run",
    "-A",
    "cli/launch.ts",
    `--nproc-per-node=${ranks}`,
    `--mpi=${options.mpi ?? "mpich"}`,
    ...script,
    config,
    "--console_log_interval=1000",
    ...args,
  ], { timeoutMs: JOB_TIMEOUT_MS });
}

function assertJobOk(result: RunResult): void {
  assert.equal(result.timedOut, false, "the job did not finish in time");
  assert.equal(result.code, 0, result.stdout + result.stderr);
}

/** A metric of every step of a run folder's `metrics.jsonl` (steps 1, 2, ... in order). */
async function metricOf(saveFolder: string, name: string): Promise<number[]> {
  const records = await readMetricsFile(join(saveFolder, "metrics.jsonl"));
  assert.deepEqual(records.map((r) => r.step), records.map((_, i) => i + 1));
  return records.map((r) => r[name] as number);
}

/** A rank's `data-indices` file of a run folder. */
function dataIndicesOf(saveFolder: string, rank: number): Promise<DataIndicesRecord[]> {
  return readDataIndices(join(saveFolder, "data-indices", `rank${rank}.tsv.gz`));
}

function lossesOf(saveFolder: string): Promise<number[]> {
  return metricOf(saveFolder, "train/CrossEntropyLoss");
}

function assertLossesClose(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} losses, expected ${want.length}`);
  got.forEach((v, i) => {
    assert.ok(
      Math.abs(v - want[i]) <= LOSS_TOLERANCE,
      `${what}: step ${i + 1}: ${v} vs ${want[i]}`,
    );
  });
}

/** Largest |a − b| over every tensor of two `model.safetensors` files (same names required). */
async function maxParamDiff(fileA: string, fileB: string): Promise<number> {
  const a = (await readSafetensors(fileA)).tensors;
  const b = (await readSafetensors(fileB)).tensors;
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let max = 0;
  for (const [name, t] of a) {
    const x = t.data as Float32Array;
    const y = b.get(name)!.data as Float32Array;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  }
  return max;
}

/** The shared runs: one 2-rank job and the same config in one process (6 steps each). */
interface Reference {
  env: TinyEnv;
  config: string;
  twoRanks: string;
  oneRank: string;
  losses: number[];
}

let reference: Promise<Reference> | null = null;

/** Builds the reference runs once (the first test that needs them pays for them). */
function referenceRuns(): Promise<Reference> {
  reference ??= (async () => {
    const env = await makeTinyEnv();
    // Removed when the test module ends, whichever tests ran.
    globalThis.addEventListener("unload", () => Deno.removeSync(env.dir, { recursive: true }));
    const config = join(env.dir, "tiny.yaml");
    const extra = { ...NO_DROPOUT, save_interval: 3, save_interval_unsharded: 3 };
    await writeTinyConfigYaml(env, config, join(env.dir, "unused"), extra);
    const twoRanks = join(env.dir, "two-ranks");
    assertJobOk(await launchTrain(2, config, [`--save_folder=${twoRanks}`]));
    const oneRank = join(env.dir, "one-rank");
    const single = await runTraining(await tinyTrainConfig(env, oneRank, extra), QUIET);
    assert.equal(single.fit?.step, 6);
    return { env, config, twoRanks, oneRank, losses: await lossesOf(oneRank) };
  })();
  return reference;
}

Deno.test({
  name: "2 ranks == 1 rank: the same losses at every step and the same final parameters",
  ignore: !HAS_MPICH,
  fn: async () => {
    const ref = await referenceRuns();
    assertLossesClose(await lossesOf(ref.twoRanks), ref.losses, "2 ranks vs 1 rank");
    // The global gradient norm (AdamW alone would hide a wrong gradient scale).
    const norms = await metricOf(ref.twoRanks, "optim/total_grad_norm");
    const want = await metricOf(ref.oneRank, "optim/total_grad_norm");
    norms.forEach((n, i) =>
      assert.ok(Math.abs(n / want[i] - 1) < 1e-5, `step ${i + 1}: ${n} vs ${want[i]}`)
    );
    const diff = await maxParamDiff(
      join(ref.twoRanks, "step6-unsharded", "model.safetensors"),
      join(ref.oneRank, "step6-unsharded", "model.safetensors"),
    );
    assert.ok(diff < 1e-5, `final parameters differ by up to ${diff}`);
    // Rank 0 alone writes the shared files; each rank its own shard.
    for (const f of ["config.yaml", "metrics.jsonl", "loss.svg", "train_data/global_indices.npy"]) {
      await Deno.stat(join(ref.twoRanks, f));
    }
    const sharded = await Array.fromAsync(Deno.readDir(join(ref.twoRanks, "step3")));
    assert.deepEqual(sharded.map((e) => e.name).sort(), [
      "config.yaml",
      "metadata.json",
      "rank0.json",
      "rank0.safetensors",
      "rank1.json",
      "rank1.safetensors",
    ]);
    assert.equal(await Deno.readLink(join(ref.twoRanks, "latest")), "step6");
    // Each rank lists its own instances of every step; together they are the 1-rank batch.
    const single = await dataIndicesOf(ref.oneRank, 0);
    const perRank = [await dataIndicesOf(ref.twoRanks, 0), await dataIndicesOf(ref.twoRanks, 1)];
    for (const rank of perRank) assert.deepEqual(rank.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
    single.forEach(({ indices }, i) => {
      const both = [...perRank[0][i].indices, ...perRank[1][i].indices];
      assert.equal(perRank[0][i].indices.length, 2);
      assert.deepEqual(both.sort((a, b) => a - b), [...indices].sort((a, b) => a - b));
    });
  },
});

Deno.test({
  name:
    "2-rank sharded step → cli/unshard.ts == the unsharded checkpoint of that step; it restarts at 1 rank",
  ignore: !HAS_MPICH,
  fn: async () => {
    const ref = await referenceRuns();
    const unsharded = join(ref.env.dir, "converted", "step3-unsharded");
    const cli = await run(DENO, [
      "run",
      "-A",
      "cli/unshard.ts",
      join(ref.twoRanks, "step3"),
      unsharded,
    ]);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    const want = await loadCheckpoint(join(ref.twoRanks, "step3-unsharded"));
    const got = await loadCheckpoint(unsharded);
    for (const part of ["model", "optim"] as const) {
      const w = part === "model" ? want.model! : want.optim!.state;
      const g = part === "model" ? got.model! : got.optim!.state;
      assert.deepEqual([...g.keys()].sort(), [...w.keys()].sort());
      for (const [name, t] of w) assert.deepEqual(g.get(name)!.data, t.data, `${part} ${name}`);
    }
    assert.deepEqual(got.optim!.paramGroups, want.optim!.paramGroups);
    assert.equal(got.trainer!.global_step, 3);
    assert.equal(got.trainer!.world_size, 2);

    const restarted = join(ref.env.dir, "restart-1-rank");
    const cfg = await tinyTrainConfig(ref.env, restarted, { ...NO_DROPOUT, load_path: unsharded });
    const result = await runTraining(cfg, QUIET);
    const twoRankLosses = await lossesOf(ref.twoRanks);
    assertLossesClose(result.fit!.losses, twoRankLosses.slice(3), "1-rank restart vs 2 ranks");
  },
});

Deno.test({
  name: "a sharded checkpoint restarts only at its own world size; an unsharded one at any",
  ignore: !HAS_MPICH,
  fn: async () => {
    const ref = await referenceRuns();
    const sharded = join(ref.twoRanks, "step3");
    const cfg = await tinyTrainConfig(ref.env, join(ref.env.dir, "wrong-size"), {
      ...NO_DROPOUT,
      load_path: sharded,
    });
    await assert.rejects(
      () => runTraining(cfg, QUIET),
      (e: Error) =>
        e.message.includes("written by 2 process(es) but this run has 1") &&
        e.message.includes(`cli/unshard.ts ${sharded}`),
    );
    // The 1-rank run's unsharded step 3, continued on 2 ranks, matches the 1-rank run.
    const restarted = join(ref.env.dir, "restart-2-ranks");
    const job = await launchTrain(2, ref.config, [
      `--save_folder=${restarted}`,
      `--load_path=${join(ref.oneRank, "step3-unsharded")}`,
    ]);
    assertJobOk(job);
    const losses = (await readMetricsFile(join(restarted, "metrics.jsonl")))
      .map((r) => r["train/CrossEntropyLoss"] as number);
    assertLossesClose(losses, ref.losses.slice(3), "2-rank restart vs 1 rank");
  },
});

Deno.test({
  name:
    "a rank that throws mid-step stops the job non-zero; the last checkpoint restores on 2 ranks",
  ignore: !HAS_MPICH,
  fn: async () => {
    const ref = await referenceRuns();
    const folder = join(ref.env.dir, "failing");
    const job = await launchTrain(2, ref.config, [`--save_folder=${folder}`, "--save_interval=2"], {
      failAt: { step: 3, rank: 1 },
    });
    assert.equal(job.timedOut, false, "the job did not stop by itself");
    assert.notEqual(job.code, 0);
    assert.match(
      job.stderr,
      /\[rank 1\/2\] train: InjectedTestFailure: injected test failure at step 3/,
    );
    assert.equal(await Deno.readLink(join(folder, "latest")), "step2");
    const names = (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name);
    assert.ok(!names.some((n) => n.startsWith("step3")), `no trace of step 3: ${names}`);
    assert.deepEqual(
      (await lossesOf(folder)).slice(0, 2),
      (await lossesOf(ref.twoRanks)).slice(0, 2),
    );

    // Restart the same 2-rank run from `latest` (its own shard per rank): it finishes like the
    // run that never failed.
    const resumed = await launchTrain(2, ref.config, [
      `--save_folder=${folder}`,
      `--load_path=${join(folder, "latest")}`,
    ]);
    assertJobOk(resumed);
    assertLossesClose(await lossesOf(folder), await lossesOf(ref.twoRanks), "resumed vs straight");
    // Lines written past step 2 before the failure were dropped: every step once per rank.
    for (const rank of [0, 1]) {
      assert.deepEqual(
        await dataIndicesOf(folder, rank),
        await dataIndicesOf(ref.twoRanks, rank),
        `rank ${rank}`,
      );
    }
  },
});

Deno.test({
  name: "Ctrl-C seen by one rank only: every rank stops at the next check step and saves its shard",
  ignore: !HAS_MPICH || Deno.build.os !== "linux",
  fn: async () => {
    const ref = await referenceRuns();
    const data = join(ref.env.dir, "long.npy");
    await writeTokenFile(data, patternTokens(16 * 40_000, 7));
    const folder = join(ref.env.dir, "interrupted");
    const job = launchTrain(2, ref.config, [
      `--save_folder=${folder}`,
      `--data.paths=[${data}]`,
      "--max_duration=10000",
      "--canceled_check_interval=5",
    ]);
    // Once training runs, interrupt rank 1 alone (not the launcher, which would kill the job).
    let pid: number | null = null;
    for (let tries = 0; tries < 600 && pid === null; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = (await readMetricsFile(join(folder, "metrics.jsonl"))).length > 0;
      if (started) pid = await rankPid(`--save_folder=${folder}`, 1);
    }
    assert.ok(pid !== null, "rank 1 did not start training");
    Deno.kill(pid, "SIGINT");
    const result = await job;
    assertJobOk(result);
    const stopped = /training stopped at step (\d+): canceled/.exec(result.stdout);
    assert.ok(stopped !== null, result.stdout);
    const step = Number(stopped[1]);
    assert.equal(step % 5, 0, "a multi-rank run acts on a cancel at canceled_check_interval");
    assert.equal(await Deno.readLink(join(folder, "latest")), `step${step}`);
    for (const r of [0, 1]) {
      const file = join(folder, `step${step}`, `rank${r}.json`);
      assert.equal(JSON.parse(await Deno.readTextFile(file)).trainer.global_step, step);
    }
  },
});

Deno.test({
  name: "Open MPI: 2-rank training gives the MPICH run's losses",
  ignore: !HAS_MPICH || !HAS_OPENMPI,
  fn: async () => {
    const ref = await referenceRuns();
    const folder = join(ref.env.dir, "openmpi");
    const job = await launchTrain(2, ref.config, [`--save_folder=${folder}`, "--stop_at=3"], {
      mpi: "openmpi",
    });
    assertJobOk(job);
    assertLossesClose(
      await lossesOf(folder),
      (await lossesOf(ref.twoRanks)).slice(0, 3),
      "Open MPI",
    );
  },
});
