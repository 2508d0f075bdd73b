/**
 * kill -9 at random moments of a training run with `save_interval: 1` (issue 15): after each
 * kill `latest` names a complete checkpoint, and restarting from it 20 times gives exactly the
 * losses (every step's, from `metrics.jsonl`) and final weights of one uninterrupted run.
 * The kill comes a random 0–20 ms after the run has saved 1 or 2 new checkpoints (a step and its
 * save take milliseconds), so it lands in steps, saves and metric writes alike, and every
 * restart makes progress.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../lib/checkpoint/trainer/load.ts";
import { loadTrainConfig } from "../lib/config/mod.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { Rng } from "../lib/model/random.ts";
import { assertBitExact } from "./_cli.ts";
import { REPO_ROOT } from "./_shared.ts";
import {
  makeTinyEnv,
  patternTokens,
  writeTinyConfigYaml,
  writeTokenFile,
} from "./_train_fixture.ts";

const KILLS = 20;
const STEPS = 100;

/** The step `latest` names, or -1 when there is no link yet. */
async function latestStep(run: string): Promise<number> {
  try {
    return Number(/^step(\d+)$/.exec(await Deno.readLink(join(run, "latest")))![1]);
  } catch {
    return -1;
  }
}

/** `cli/train.ts CONFIG ...args` as a child process, its output discarded. */
function startTraining(config: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "cli/train.ts"), config, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

Deno.test("kill -9 at random moments: latest stays complete, 20 restarts continue bit for bit", async () => {
  const env = await makeTinyEnv();
  try {
    await writeTokenFile(env.train[0], patternTokens(16 * 400, 1)); // 424 instances: 106 batches
    const run = join(env.dir, "run");
    const config = join(env.dir, "run.yaml");
    await writeTinyConfigYaml(env, config, run, {
      max_duration: STEPS,
      save_interval: 1,
      save_interval_unsharded: null,
      save_num_checkpoints_to_keep: 2,
    });
    const rng = new Rng(15);
    const resume = ["--load_path", join(run, "latest")];
    let killed = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const before = await latestStep(run);
      assert.ok(before < STEPS, `the run finished after ${kill} kills; give it more steps`);
      const child = startTraining(config, before < 0 ? [] : resume);
      const stderr = new Response(child.stderr).text();
      // Wait for 1 or 2 new checkpoints (or the child's end), then kill a random moment later.
      const target = before + 1 + Math.floor(rng.next() * 2);
      let exited = false;
      child.status.then(() => (exited = true));
      while (!exited && (await latestStep(run)) < target) {
        await new Promise((r) => setTimeout(r, 2));
      }
      if (exited) assert.fail(`training exited before kill ${kill}: ${await stderr}`);
      await new Promise((r) => setTimeout(r, Math.floor(rng.next() * 20)));
      if (!exited) child.kill("SIGKILL");
      const status = await child.status;
      const text = await stderr;
      assert.ok(status.signal === "SIGKILL" || status.code === 0, `run ${kill} failed: ${text}`);
      const at = await latestStep(run);
      assert.ok(at > before, `kill ${kill}: latest moved from step${before} to step${at}`);
      if (status.signal !== "SIGKILL") continue; // it finished first: nothing was interrupted
      killed++;
      // `latest` names a complete checkpoint: every file reads, and its step is the folder's.
      const loaded = await loadCheckpoint(join(run, "latest"));
      assert.equal(loaded.trainer?.global_step, at, `kill ${kill}`);
      assert.ok(loaded.model !== null && loaded.optim !== null, `kill ${kill}: incomplete`);
    }
    assert.ok(killed >= KILLS - 2, `only ${killed} of ${KILLS} runs were killed`);
    const last = startTraining(config, resume);
    const [status, stderr] = await Promise.all([last.status, new Response(last.stderr).text()]);
    assert.equal(status.code, 0, stderr);
    assert.equal(await latestStep(run), STEPS);

    const reference = join(env.dir, "reference");
    const uninterrupted = await runTraining(
      await loadTrainConfig(config, { overrides: [`save_folder=${reference}`] }),
      { logger: SILENT_LOGGER, progress: { silent: true } },
    );
    const records = await readMetricsFile(join(run, "metrics.jsonl"));
    assert.deepEqual(records.map((r) => r["train/CrossEntropyLoss"]), uninterrupted.fit?.losses);
    assert.deepEqual(records.map((r) => r.step), [...Array(STEPS).keys()].map((i) => i + 1));
    const [got, want] = await Promise.all([
      loadCheckpoint(join(run, `step${STEPS}`)),
      loadCheckpoint(join(reference, `step${STEPS}`)),
    ]);
    assertBitExact(got.model, want.model!, "final model");
    assertBitExact(got.optim?.state ?? null, want.optim!.state, "final optimizer state");
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});
