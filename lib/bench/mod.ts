/**
 * The benchmark harness (`deno task bench`): training speed with MFU against a measured matmul
 * ceiling, kernel profiles, generation and data-loader speed, MPI collectives, and reporting as
 * tables or JSON lines.
 *
 * @module
 */
export { BENCH_CONFIG_NAMES } from "./reference.ts";
export { benchTraining } from "./train_bench.ts";
export type { TrainBenchOptions, TrainBenchResult } from "./train_bench.ts";
export { formatKernelTimes, profileKernels } from "./profile.ts";
export type { KernelProfile, KernelTime } from "./profile.ts";
export { benchDataLoader } from "./data_bench.ts";
export type { DataBenchOptions, DataBenchResult } from "./data_bench.ts";
export { formatReport, toJsonLine } from "./report.ts";
export type {
  BenchRecord,
  CollectiveRecord,
  DataRecord,
  DistributedTrainRecord,
  GenerateRecord,
  MachineRecord,
  MatmulRecord,
  NoteRecord,
  ProfileRecord,
  TrainRecord,
} from "./report.ts";
export { generationPlan, loadBenchConfig, runBenchSuite } from "./suite.ts";
export type { BenchConfigRef, BenchSuiteOptions } from "./suite.ts";
export { runDistributedWorker, spawnDistributedBench } from "./distributed_bench.ts";
export type { DistributedBenchOptions, SpawnDistributedOptions } from "./distributed_bench.ts";
export { benchDataParallelTraining } from "./distributed.ts";
export type { DataParallelBenchOptions, DataParallelBenchResult } from "./distributed.ts";
export { benchGenerate } from "./generate_bench.ts";
export type { BenchGenerateOptions, BenchGenerateResult } from "./generate_bench.ts";
export { benchCollectives } from "./collectives.ts";
export type { BenchedCollective, CollectiveBenchResult } from "./collectives.ts";
