/**
 * Distributed training over MPI (MPICH or Open MPI through Deno FFI): the communicator, the
 * single-process fallback, ZeRO-style flat gradient buckets, the launcher's command builder and a
 * collective bandwidth benchmark.
 *
 * @module
 */
export type { Communicator, FloatArray, InitWorldOptions } from "./world.ts";
export { exposeWorldEnv, initWorld, rankPrefix, SingleProcessWorld } from "./world.ts";
export type { MpiCommunicatorOptions } from "./mpi.ts";
export { MpiCommunicator } from "./mpi.ts";
export type { MpiAbi } from "./mpi_library.ts";
export { MPI_LIB_ENV, MPICH_SONAME, mpiLibraryCandidates, OPENMPI_SONAME } from "./mpi_library.ts";
export type { EnvReader, LauncherInfo } from "./launcher_env.ts";
export { detectLauncher } from "./launcher_env.ts";
export type { FlatEntry, FlatLayout, ShardRange, ShardSegment } from "./flat_layout.ts";
export { flatLayout, shardSegments } from "./flat_layout.ts";
export { allGatherFlat, DEFAULT_BUCKET_BYTES, reduceScatterFlat } from "./zero_flat.ts";
export type { CommandLine, LaunchOptions, MpiFlavor } from "./launch_command.ts";
export { buildLaunchCommand, MPIEXEC_BY_FLAVOR, parseHostfile } from "./launch_command.ts";
export type { BenchedCollective, CollectiveBenchResult } from "./bench.ts";
export { benchCollectives } from "./bench.ts";
