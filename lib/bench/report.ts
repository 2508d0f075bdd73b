/**
 * Benchmark records and their two output forms: one JSON object per line (`--json`) and
 * aligned text tables.
 *
 * @module
 */
import type { CollectiveBenchResult } from "./collectives.ts";
import type { BenchGenerateResult } from "./generate_bench.ts";
import type { DataBenchResult } from "./data_bench.ts";
import type { MatmulCeiling } from "../backend/matmul_ceiling.ts";
import type { InferenceBenchResult } from "./inference_bench.ts";
import { formatKernelTimes, type KernelProfile } from "./profile.ts";
import type { MachineInfo } from "./stats.ts";
import type { TrainBenchResult } from "./train_bench.ts";

/** The machine a run measured. */
export interface MachineRecord extends MachineInfo {
  /** Record type. */
  kind: "machine";
}

/** The matmul ceiling of one backend. */
export interface MatmulRecord extends MatmulCeiling {
  /** Record type. */
  kind: "matmul";
  /** Backend measured. */
  backend: string;
}

/** Training speed of one config on one backend. */
export interface TrainRecord extends TrainBenchResult {
  /** Record type. */
  kind: "train";
  /** Config name. */
  config: string;
  /** Backend measured. */
  backend: string;
  /** `gflops / ceilingGflops` of the same backend, or null when no ceiling was measured. */
  mfu: number | null;
  /** PyTorch OLMo's tokens/s on this config, or null for configs without a reference. */
  pytorchTokensPerSecond: number | null;
  /** `tokensPerSecond / pytorchTokensPerSecond`, or null. */
  ratioToPytorch: number | null;
}

/** Decode speed of one config at one context length. */
export interface GenerateRecord extends BenchGenerateResult {
  /** Record type. */
  kind: "generate";
  /** Config name. */
  config: string;
  /** Backend measured. */
  backend: string;
}

/** Data-loader throughput for one config's batch shape. */
export interface DataRecord extends DataBenchResult {
  /** Record type. */
  kind: "data";
  /** Config name. */
  config: string;
  /** Batch shape read. */
  batchSize: number;
  /** Tokens per instance. */
  seqLen: number;
}

/** Loading a large `model.pt` and decoding from it (inference-only configs). */
export interface InferenceRecord extends InferenceBenchResult {
  /** Record type. */
  kind: "inference";
  /** Config name. */
  config: string;
  /** Backend measured. */
  backend: string;
}

/** One collective's bandwidth (from an MPI run). */
export interface CollectiveRecord extends CollectiveBenchResult {
  /** Record type. */
  kind: "collective";
}

/** Data-parallel training throughput at a world size. */
export interface DistributedTrainRecord {
  /** Record type. */
  kind: "distributed-train";
  /** Config name. */
  config: string;
  /** Backend measured. */
  backend: string;
  /** Ranks. */
  worldSize: number;
  /** Median seconds per step (slowest rank). */
  medianStepSeconds: number;
  /** Tokens per second of all ranks together. */
  tokensPerSecond: number;
}

/** Per-kernel times of one profiled training step. */
export interface ProfileRecord extends KernelProfile {
  /** Record type. */
  kind: "profile";
  /** Config name. */
  config: string;
  /** Backend measured. */
  backend: string;
}

/** Something skipped or worth knowing about a run. */
export interface NoteRecord {
  /** Record type. */
  kind: "note";
  /** What happened. */
  message: string;
}

/** Any benchmark record. */
export type BenchRecord =
  | MachineRecord
  | MatmulRecord
  | TrainRecord
  | GenerateRecord
  | InferenceRecord
  | DataRecord
  | CollectiveRecord
  | DistributedTrainRecord
  | ProfileRecord
  | NoteRecord;

/** One JSON line (no trailing newline). */
export function toJsonLine(record: BenchRecord): string {
  return JSON.stringify(record);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const mib = (bytes: number | null) => bytes === null ? "-" : (bytes / 2 ** 20).toFixed(0);
const fixed = (x: number | null, digits: number) => x === null ? "-" : x.toFixed(digits);

/** Formats the records as text tables, one per kind present, in a fixed order. */
export function formatReport(records: readonly BenchRecord[]): string {
  const out: string[] = [];
  for (const m of records.filter((r): r is MachineRecord => r.kind === "machine")) {
    const load = m.loadAverage ? m.loadAverage.map((x) => x.toFixed(2)).join(" ") : "unknown";
    out.push(
      `machine: ${m.cpuModel}, ${m.cores} cores, ${mib(m.memoryBytes)} MiB RAM, ${m.os}, ` +
        `Deno ${m.deno}; load average ${load}`,
    );
  }
  const matmul = records.filter((r): r is MatmulRecord => r.kind === "matmul");
  if (matmul.length) {
    const sizes = [...new Set(matmul.flatMap((r) => r.sizes.map((s) => s.n)))];
    out.push(
      "\nmatmul ceiling (GFLOP/s, best of the repetitions)\n" + table(
        ["backend", ...sizes.map((n) => `n=${n}`), "ceiling"],
        matmul.map((r) => [
          r.backend,
          ...sizes.map((n) => fixed(r.sizes.find((s) => s.n === n)?.bestGflops ?? null, 1)),
          r.ceilingGflops.toFixed(1),
        ]),
      ),
    );
  }
  const train = records.filter((r): r is TrainRecord => r.kind === "train");
  if (train.length) {
    out.push(
      "\ntraining (median of timed steps: forward + backward + clipping + AdamW)\n" + table(
        [
          "config",
          "backend",
          "batch",
          "s/step",
          "cpu s/step",
          "tok/s",
          "GFLOP/s",
          "MFU",
          "vs PyTorch",
          "RSS MiB",
          "tensors MiB",
          "load",
        ],
        train.map((r) => [
          r.config,
          r.backend,
          `${r.batchSize}x${r.seqLen}`,
          r.medianStepSeconds.toFixed(3),
          r.cpuSecondsPerStep.toFixed(2),
          r.tokensPerSecond.toFixed(0),
          r.gflops.toFixed(1),
          r.mfu === null ? "-" : `${(r.mfu * 100).toFixed(0)}%`,
          r.ratioToPytorch === null ? "-" : `${r.ratioToPytorch.toFixed(2)}x`,
          mib(r.peakRssBytes),
          mib(r.tensorBytes),
          fixed(r.loadAverage, 2),
        ]),
      ),
    );
  }
  const gen = records.filter((r): r is GenerateRecord => r.kind === "generate");
  if (gen.length) {
    out.push(
      "\ngeneration (batch 1, greedy, KV cache)\n" + table(
        ["config", "backend", "context", "new tokens", "prefill s", "decode tok/s"],
        gen.map((r) => [
          r.config,
          r.backend,
          String(r.contextLength),
          String(r.newTokens),
          r.prefillSeconds.toFixed(3),
          r.decodeTokensPerSecond.toFixed(1),
        ]),
      ),
    );
  }
  const inference = records.filter((r): r is InferenceRecord => r.kind === "inference");
  if (inference.length) {
    out.push(
      "\ncheckpoint inference (model.pt load in a fresh process, then greedy decode, KV cache)\n" +
        table(
          [
            "config",
            "backend",
            "model.pt MiB",
            "load s",
            "peak RSS MiB",
            "context",
            "prefill tok/s",
            "decode tok/s",
          ],
          inference.flatMap((r) =>
            r.generation.map((g) => [
              r.config,
              r.backend,
              mib(r.checkpointBytes),
              r.loadSeconds.toFixed(1),
              mib(r.peakRssBytes),
              String(g.contextLength),
              g.prefillTokensPerSecond.toFixed(1),
              g.decodeTokensPerSecond.toFixed(2),
            ])
          ),
        ),
    );
  }
  const data = records.filter((r): r is DataRecord => r.kind === "data");
  if (data.length) {
    out.push(
      "\ndata loader (MemMapDataset + IterableDataset + DataCollator, random tokens)\n" + table(
        ["config", "batch", "dtype", "batches/s", "Mtok/s"],
        data.map((r) => [
          r.config,
          `${r.batchSize}x${r.seqLen}`,
          r.dtype,
          r.batchesPerSecond.toFixed(0),
          (r.tokensPerSecond / 1e6).toFixed(2),
        ]),
      ),
    );
  }
  const coll = records.filter((r): r is CollectiveRecord => r.kind === "collective");
  if (coll.length) {
    out.push(
      "\nMPI collectives (float32)\n" + table(
        ["op", "ranks", "MiB", "best ms", "algbw GB/s", "busbw GB/s"],
        coll.map((r) => [
          r.op,
          String(r.worldSize),
          r.sizeMB.toFixed(0),
          (r.bestSeconds * 1000).toFixed(2),
          r.algbwGBps.toFixed(2),
          r.busbwGBps.toFixed(2),
        ]),
      ),
    );
  }
  const dist = records.filter((r): r is DistributedTrainRecord => r.kind === "distributed-train");
  if (dist.length) {
    out.push(
      "\ndata-parallel training (all ranks together)\n" + table(
        ["config", "backend", "ranks", "s/step", "tok/s"],
        dist.map((r) => [
          r.config,
          r.backend,
          String(r.worldSize),
          r.medianStepSeconds.toFixed(3),
          r.tokensPerSecond.toFixed(0),
        ]),
      ),
    );
  }
  for (const p of records.filter((r): r is ProfileRecord => r.kind === "profile")) {
    out.push(
      `\nprofile of one step: ${p.config} on ${p.backend} (${p.kernelCalls} kernels, ` +
        `${p.kernelMs.toFixed(0)} ms in kernels of ${p.wallMs.toFixed(0)} ms wall, ` +
        `peak tensor memory ${mib(p.peakTensorBytes)} MiB)\n` +
        formatKernelTimes(p.byKernel, 15) + "\n\n" + formatKernelTimes(p.byShape, 20),
    );
  }
  const notes = records.filter((r): r is NoteRecord => r.kind === "note");
  if (notes.length) out.push("\nnotes:\n" + notes.map((n) => `- ${n.message}`).join("\n"));
  return out.join("\n");
}
