/**
 * The MPI part of the benchmark: collective bandwidth and data-parallel training throughput.
 *
 * Under a launcher every rank runs {@link runDistributedWorker}; rank 0 emits the records.
 * Outside one, {@link spawnDistributedBench} starts `cli/launch.ts --nproc-per-node=N` on this
 * same script in worker mode, and the worker once more in one process (the 1-rank baseline of
 * the same global batch), and collects rank 0's JSON lines.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type BackendName, initBackend } from "../backend/mod.ts";
import { benchCollectives } from "./collectives.ts";
import { initWorld, rankPrefix } from "../distributed/world.ts";
import { benchDataParallelTraining } from "./distributed.ts";
import type { BenchRecord } from "./report.ts";
import { type BenchConfigRef, loadBenchConfig } from "./suite.ts";

/** Flag that puts `cli/bench.ts` in worker mode. */
export const DISTRIBUTED_WORKER_FLAG = "--distributed-worker";

/**
 * Worker mode (every rank): collective bandwidth (with several ranks), then training of `ref` on
 * `backend` as `deno task train` runs it: the config's global batch split over the ranks, ZeRO
 * sharding (`benchDataParallelTraining`). Rank 0 emits the records. A failing rank aborts the job.
 */
export async function runDistributedWorker(
  options: DistributedBenchOptions,
  emit: (record: BenchRecord) => void,
): Promise<void> {
  const { config: ref, backend, steps } = options;
  const world = await initWorld();
  try {
    if (world.size > 1) {
      const collectives = await benchCollectives(world);
      if (world.rank === 0) { for (const c of collectives) emit({ kind: "collective", ...c }); }
    }
    const active = await initBackend(backend, { quiet: true });
    const cfg = await loadBenchConfig(ref, options.overrides);
    const result = await benchDataParallelTraining(world, cfg, { steps });
    if (world.rank === 0) {
      emit({
        kind: "distributed-train",
        config: ref.name,
        backend: active,
        worldSize: world.size,
        medianStepSeconds: result.medianStepSeconds,
        tokensPerSecond: result.tokensPerSecond,
      });
    }
  } catch (e) {
    if (world.size === 1) throw e;
    console.error(`${rankPrefix(world)} bench: ${(e as Error).stack ?? e}`);
    world.abort(1); // the other ranks may wait in a collective: finalize would hang
  }
  await world.finalize();
}

/** What the distributed benchmark trains. */
export interface DistributedBenchOptions {
  /** Config to train. */
  config: BenchConfigRef;
  /** Backend of every rank. */
  backend: BackendName;
  /** Timed steps. */
  steps: number;
  /** Config overrides (`key=value`). */
  overrides?: string[];
}

/** Options of {@link spawnDistributedBench}. */
export interface SpawnDistributedOptions extends DistributedBenchOptions {
  /** Ranks (default 2). */
  ranks?: number;
  /** Seconds before the job is killed (default 1800). */
  timeoutSeconds?: number;
}

/**
 * Runs the worker mode in one process (the baseline) and under `cli/launch.ts` (MPICH) on
 * `ranks` ranks, and returns rank 0's records plus a note comparing the two throughputs on the
 * same global batch; a failed job gives a note instead of its records. Each rank's OpenBLAS gets
 * one thread so that N ranks use N cores.
 */
export async function spawnDistributedBench(
  options: SpawnDistributedOptions,
): Promise<BenchRecord[]> {
  const ranks = options.ranks ?? 2;
  const launch = fileURLToPath(new URL("../../cli/launch.ts", import.meta.url));
  const script = fileURLToPath(new URL("../../cli/bench.ts", import.meta.url));
  const worker = [
    script,
    DISTRIBUTED_WORKER_FLAG,
    "--config",
    options.config.path,
    "--backend",
    options.backend,
    "--steps",
    String(options.steps),
    ...(options.overrides ?? []).map((o) => `--${o}`),
  ];
  const timeoutSeconds = options.timeoutSeconds ?? 1800;
  const single = await runWorker(["run", "-A", ...worker], "1-rank baseline", timeoutSeconds);
  const multi = await runWorker(
    ["run", "-A", launch, `--nproc-per-node=${ranks}`, ...worker],
    `${ranks}-rank job`,
    timeoutSeconds,
  );
  const records = [...single, ...multi];
  const train = (n: number) =>
    records.find((r) => r.kind === "distributed-train" && r.worldSize === n);
  const one = train(1);
  const many = train(ranks);
  if (one?.kind === "distributed-train" && many?.kind === "distributed-train") {
    records.push({
      kind: "note",
      message: `${many.config} on ${many.backend}, same global batch: ${ranks} ranks (ZeRO) ` +
        `${many.tokensPerSecond.toFixed(0)} tokens/s vs 1 rank ${one.tokensPerSecond.toFixed(0)} ` +
        `tokens/s (${(many.tokensPerSecond / one.tokensPerSecond).toFixed(2)}x)`,
    });
  }
  return records;
}

/** Runs `deno ARGS` and returns the JSON records on its stdout, or a note when it fails. */
async function runWorker(
  args: string[],
  what: string,
  timeoutSeconds: number,
): Promise<BenchRecord[]> {
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env: { OPENBLAS_NUM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutSeconds * 1000);
    output = await child.output();
    clearTimeout(timer);
  } catch (e) {
    return [{ kind: "note", message: `distributed benchmark (${what}) skipped: ${e}` }];
  }
  if (output.code !== 0) {
    const err = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join(" | ");
    const why = output.code === 127 ? "MPICH (mpiexec.mpich) is not installed" : err;
    return [{
      kind: "note",
      message: `distributed benchmark (${what}) skipped (exit ${output.code}): ${why}`,
    }];
  }
  const text = new TextDecoder().decode(output.stdout);
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}
