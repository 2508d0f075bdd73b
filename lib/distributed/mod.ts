/**
 * Distributed training over MPI (MPICH or Open MPI through Deno FFI): the communicator, the
 * single-process fallback, the data-parallel strategies a training step runs with
 * (`LocalDataParallel`, and ZeRO sharding in `zero/`) and the launcher's command builder.
 *
 * @module
 */
export type { Communicator, FloatArray, InitWorldOptions } from "./world.ts";
export { initWorld, rankPrefix, SingleProcessWorld } from "./world.ts";
export type { MpiCommunicatorOptions } from "./mpi.ts";

export type { MpiAbi } from "./mpi_library.ts";
export { mpiLibraryCandidates } from "./mpi_library.ts";
export type { EnvReader, LauncherInfo } from "./launcher_env.ts";
export { detectLauncher } from "./launcher_env.ts";
export type {
  AccumulatedGradients,
  CheckpointState,
  DataParallel,
  ReducedStep,
  StepResult,
} from "./data_parallel.ts";
export { LocalDataParallel } from "./data_parallel.ts";
export * from "./zero/mod.ts";
export type { CommandLine, LaunchOptions, MpiFlavor } from "./launch_command.ts";
export { buildLaunchCommand, MPIEXEC_BY_FLAVOR, parseHostfile } from "./launch_command.ts";
