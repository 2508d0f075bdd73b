/**
 * One rank of a 2-rank job killed with SIGKILL in the middle of training (issue 15): the job
 * stops non-zero within seconds, no rank is left running (the other was waiting in a
 * collective), `latest` names a complete checkpoint, and the run restarts from it at the same
 * world size. Skipped without MPICH (`apt install mpich`) or off Linux (ranks are found in /proc).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../lib/checkpoint/trainer/load.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { HAS_MPICH, rankPid, run, type RunResult } from "./distributed/run.ts";
import {
  makeTinyEnv,
  patternTokens,
  writeTinyConfigYaml,
  writeTokenFile,
} from "./_train_fixture.ts";

/** How soon after the kill the job must be gone. */
const STOP_WITHIN_MS = 10_000;

/** `cli/train.ts CONFIG args` on 2 ranks through `cli/launch.ts`, bounded at 2 minutes. */
function launch2(config: string, args: string[]): Promise<RunResult> {
  return run(Deno.execPath(), [
    ...["run", "-A", "cli/launch.ts", "--nproc-per-node=2", "--mpi=mpich"],
    ...["cli/train.ts", config, "--console_log_interval=1000", ...args],
  ], { timeoutMs: 120_000 });
}

Deno.test({
  name: "SIGKILL of one rank mid-training: the job stops non-zero at once, latest restarts on 2",
  ignore: !HAS_MPICH || Deno.build.os !== "linux",
  fn: async () => {
    const env = await makeTinyEnv();
    try {
      const data = join(env.dir, "long.npy");
      await writeTokenFile(data, patternTokens(16 * 40_000, 7));
      const config = join(env.dir, "tiny.yaml");
      const folder = join(env.dir, "run");
      await writeTinyConfigYaml(env, config, folder, {
        data: { paths: [data] },
        max_duration: 10_000,
        save_interval: 2,
        save_interval_unsharded: null,
      });
      const marker = `--save_folder=${folder}`;
      const job = launch2(config, [marker]);
      // Once a few steps are done, kill rank 1 (not the launcher) at no particular moment.
      let pid: number | null = null;
      for (let tries = 0; tries < 1200 && pid === null; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const steps = (await readMetricsFile(join(folder, "metrics.jsonl"))).length;
        if (steps >= 3) pid = await rankPid(marker, 1);
      }
      assert.ok(pid !== null, "rank 1 did not start training");
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 100)));
      const killedAt = Date.now();
      Deno.kill(pid, "SIGKILL");
      const result = await job;
      const stoppedAfter = Date.now() - killedAt;
      assert.equal(result.timedOut, false, "the job hung after the kill");
      assert.notEqual(result.code, 0, "the job must fail");
      assert.ok(stoppedAfter < STOP_WITHIN_MS, `the job took ${stoppedAfter} ms to stop`);
      assert.equal(await rankPid(marker, 0), null, "rank 0 is still running");
      assert.equal(await rankPid(marker, 1), null, "rank 1 is still running");

      // `latest` names a complete 2-rank checkpoint, which restarts on 2 ranks.
      const latest = await Deno.readLink(join(folder, "latest"));
      const step = Number(/^step(\d+)$/.exec(latest)?.[1]);
      assert.ok(step >= 2 && step % 2 === 0, latest);
      for (const rank of [0, 1]) {
        const ckpt = await loadCheckpoint(join(folder, "latest"), { rank, worldSize: 2 });
        assert.equal(ckpt.trainer?.global_step, step, `rank ${rank}`);
      }
      const resumed = await launch2(config, [
        marker,
        `--load_path=${join(folder, "latest")}`,
        `--max_duration=${step + 2}`,
      ]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.match(resumed.stdout + resumed.stderr, new RegExp(`at step ${step}\\b`));
      assert.equal(await Deno.readLink(join(folder, "latest")), `step${step + 2}`);
      const records = await readMetricsFile(join(folder, "metrics.jsonl"));
      assert.deepEqual(records.map((r) => r.step), [...Array(step + 2).keys()].map((i) => i + 1));
    } finally {
      await Deno.remove(env.dir, { recursive: true });
    }
  },
});
