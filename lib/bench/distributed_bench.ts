/**
 * The MPI part of the benchmark: collective bandwidth and data-parallel training throughput.
 *
 * Under a launcher every rank runs {@link runDistributedWorker}; rank 0 emits the records.
 * Outside one, {@link spawnDistributedBench} starts `cli/launch.ts --nproc-per-node=N` on this
 * same script in worker mode and collects rank 0's JSON lines.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fileURLToPath } from "node:url";
import { type BackendName, initBackend } from "../backend/mod.ts";
import { benchCollectives } from "../distributed/bench.ts";
import { initWorld } from "../distributed/world.ts";
import type { Communicator } from "../distributed/world.ts";
import type { BenchRecord } from "./report.ts";
import { type BenchConfigRef, loadBenchConfig } from "./suite.ts";
import { benchTraining } from "./train_bench.ts";
import type { GradientSync } from "../train/gradient_sync.ts";

/** Flag that puts `scripts/bench.ts` in worker mode. */
export const DISTRIBUTED_WORKER_FLAG = "--distributed-worker";

/** Averages gradients over the ranks with one flat all-reduce (plain data parallelism). */
export function allReduceMeanSync(world: Communicator): GradientSync {
  return {
    name: "bench all-reduce mean",
    async syncGradients(grads) {
      const names = [...grads.keys()];
      const sizes = names.map((n) => grads.get(n)!.size);
      const flat = new Float32Array(sizes.reduce((a, b) => a + b, 0));
      let offset = 0;
      for (const [i, n] of names.entries()) {
        flat.set(await grads.get(n)!.data() as Float32Array, offset);
        offset += sizes[i];
      }
      await world.allReduceSum(flat);
      const out = new Map<string, tf.Tensor>();
      offset = 0;
      for (const [i, n] of names.entries()) {
        const part = flat.subarray(offset, offset + sizes[i]);
        for (let j = 0; j < part.length; j++) part[j] /= world.size;
        out.set(n, tf.tensor(part, grads.get(n)!.shape, "float32"));
        offset += sizes[i];
      }
      tf.dispose([...grads.values()]);
      return out;
    },
  };
}

/**
 * Worker mode (every rank): collective bandwidth, then data-parallel training of `ref` on
 * `backend` (every rank trains its own batch; gradients are averaged before clipping). Rank 0
 * emits the records; the world is finalized at the end.
 */
export async function runDistributedWorker(
  options: DistributedBenchOptions,
  emit: (record: BenchRecord) => void,
): Promise<void> {
  const { config: ref, backend, steps } = options;
  const world = await initWorld();
  try {
    const collectives = await benchCollectives(world);
    if (world.rank === 0) { for (const c of collectives) emit({ kind: "collective", ...c }); }
    const active = await initBackend(backend, { quiet: true });
    const cfg = await loadBenchConfig(ref, options.overrides);
    const result = await benchTraining(cfg, { steps, gradientSync: allReduceMeanSync(world) });
    const slowest = Float64Array.of(result.medianStepSeconds);
    await world.allReduceMax(slowest);
    if (world.rank === 0) {
      emit({
        kind: "distributed-train",
        config: ref.name,
        backend: active,
        worldSize: world.size,
        medianStepSeconds: slowest[0],
        tokensPerSecond: (world.size * result.batchSize * result.seqLen) / slowest[0],
      });
    }
  } finally {
    await world.finalize();
  }
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
 * Runs the worker mode under `cli/launch.ts` (MPICH) and returns rank 0's records, or a single
 * note when MPICH is not installed or the job fails. Each rank's OpenBLAS gets one thread so
 * that N ranks use N cores.
 */
export async function spawnDistributedBench(
  options: SpawnDistributedOptions,
): Promise<BenchRecord[]> {
  const ranks = options.ranks ?? 2;
  const launch = fileURLToPath(new URL("../../cli/launch.ts", import.meta.url));
  const script = fileURLToPath(new URL("../../scripts/bench.ts", import.meta.url));
  const args = [
    "run",
    "-A",
    launch,
    `--nproc-per-node=${ranks}`,
    script,
    DISTRIBUTED_WORKER_FLAG,
    "--config",
    options.config.path,
    "--backend",
    options.backend,
    "--steps",
    String(options.steps),
    ...(options.overrides ?? []).map((o) => `--override=${o}`),
  ];
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env: { OPENBLAS_NUM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(
      () => child.kill("SIGTERM"),
      (options.timeoutSeconds ?? 1800) * 1000,
    );
    output = await child.output();
    clearTimeout(timer);
  } catch (e) {
    return [{ kind: "note", message: `distributed benchmark skipped: ${(e as Error).message}` }];
  }
  const text = new TextDecoder().decode(output.stdout);
  if (output.code !== 0) {
    const err = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join(" | ");
    const why = output.code === 127 ? "MPICH (mpiexec.mpich) is not installed" : err;
    return [{
      kind: "note",
      message: `distributed benchmark skipped (launcher exit ${output.code}): ${why}`,
    }];
  }
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}
