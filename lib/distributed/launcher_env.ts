/**
 * Reads what the process launcher (MPICH hydra, Open MPI, Slurm srun) put in the environment.
 * Used before MPI init to decide whether to use MPI at all, and after init to cross-check the
 * world size: a launcher/library mismatch makes every rank a silent singleton of size 1.
 *
 * @module
 */

/** Reads one environment variable; `Deno.env.get` in production, a map in tests. */
export type EnvReader = (name: string) => string | undefined;

/** Which launcher started this process and the world size it announced. */
export interface LauncherInfo {
  /** `openmpi` (mpiexec.openmpi), `pmi` (MPICH hydra or srun --mpi=pmi2), `slurm` (srun). */
  kind: "openmpi" | "pmi" | "slurm";
  /** The variable that holds the size, for error messages. */
  sizeVariable: string;
  /** The world size the launcher started. */
  size: number;
}

/** Reads the process environment (requires `--allow-env`). */
export function processEnv(name: string): string | undefined {
  return Deno.env.get(name);
}

/**
 * The launcher that started this process, or null when it was started directly.
 * Priority: Open MPI, then PMI (hydra sets `PMI_SIZE` even inside a Slurm allocation), then a
 * Slurm srun step (`SLURM_STEP_NUM_TASKS`). A bare `sbatch` script sets `SLURM_NTASKS` for the
 * whole allocation but starts one process, so it does not count as a launch.
 */
export function detectLauncher(env: EnvReader): LauncherInfo | null {
  const candidates: [LauncherInfo["kind"], string][] = [
    ["openmpi", "OMPI_COMM_WORLD_SIZE"],
    ["pmi", "PMI_SIZE"],
    ["slurm", "SLURM_STEP_NUM_TASKS"],
  ];
  for (const [kind, sizeVariable] of candidates) {
    const text = env(sizeVariable);
    if (text === undefined) continue;
    const size = Number(text);
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`Environment variable ${sizeVariable}=${text}: expected a positive integer`);
    }
    return { kind, sizeVariable, size };
  }
  return null;
}

/** Reads an optional non-negative integer variable; throws a clear error when malformed. */
export function envInteger(env: EnvReader, name: string): number | undefined {
  const text = env(name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`Environment variable ${name}=${text}: expected a non-negative integer`);
  }
  return value;
}
