/**
 * Builds the `mpiexec` command line that `cli/launch.ts` runs: N Deno ranks per node, each
 * `deno run -A SCRIPT ARGS...`, with the MPI library the ranks must load passed as `MPI_LIB`
 * (loading the library that matches the launcher is what makes the ranks see each other).
 *
 * @module
 */
import { MPICH_SONAME, OPENMPI_SONAME } from "./mpi_library.ts";

/** The MPI implementations the launcher knows. */
export type MpiFlavor = "mpich" | "openmpi";

/** The launcher executable of each flavor (never the `mpiexec` alternative, which may be either). */
export const MPIEXEC_BY_FLAVOR: Readonly<Record<MpiFlavor, string>> = {
  mpich: "mpiexec.mpich",
  openmpi: "mpiexec.openmpi",
};

/** What to launch. */
export interface LaunchOptions {
  /** Ranks per node (≥ 1). */
  nprocPerNode: number;
  /** Which MPI runs the job. */
  mpi: MpiFlavor;
  /** Host names for a multi-node run (`--hosts`), or those read from `hostfile`. */
  hosts?: string[];
  /** Path of a hostfile in the flavor's format; `hosts` must then list its hosts. */
  hostfile?: string;
  /** The Deno executable every rank runs (the same path on every node). */
  denoPath: string;
  /** The script each rank runs, and its arguments, passed through untouched. */
  script: string;
  /** Arguments after the script. */
  scriptArgs: string[];
  /** The library the ranks load; default the flavor's soname. */
  mpiLib?: string;
  /** True when running as root (Open MPI then needs `--allow-run-as-root`). */
  isRoot?: boolean;
  /** Environment variables Open MPI must export to remote nodes (hydra forwards all). */
  forwardEnv?: string[];
}

/** An executable and its arguments. */
export interface CommandLine {
  /** The executable, looked up on PATH. */
  command: string;
  /** Its arguments. */
  args: string[];
}

/** Builds the `mpiexec.<flavor>` command line for `options`. */
export function buildLaunchCommand(options: LaunchOptions): CommandLine {
  const { nprocPerNode, mpi, hosts, hostfile } = options;
  if (!Number.isInteger(nprocPerNode) || nprocPerNode < 1) {
    throw new Error(`--nproc-per-node ${nprocPerNode}: expected a positive integer`);
  }
  if (hostfile !== undefined && (hosts === undefined || hosts.length === 0)) {
    throw new Error(`hostfile ${hostfile}: the list of its hosts is required to count ranks`);
  }
  const multiNode = hosts !== undefined && hosts.length > 0;
  const total = nprocPerNode * (multiNode ? hosts.length : 1);
  const rankCommand = [options.denoPath, "run", "-A", options.script, ...options.scriptArgs];
  const mpiLib = options.mpiLib ?? (mpi === "mpich" ? MPICH_SONAME : OPENMPI_SONAME);
  const args: string[] = [];
  if (mpi === "mpich") {
    args.push("-genv", "MPI_LIB", mpiLib);
    if (hostfile !== undefined) args.push("-f", hostfile, "-ppn", String(nprocPerNode));
    else if (multiNode) args.push("-hosts", hosts.join(","), "-ppn", String(nprocPerNode));
  } else {
    // Open MPI refuses more ranks than cores, and root, unless told otherwise.
    args.push("--oversubscribe");
    if (options.isRoot) args.push("--allow-run-as-root");
    args.push("-x", `MPI_LIB=${mpiLib}`);
    if (multiNode) { for (const name of options.forwardEnv ?? []) args.push("-x", name); }
    if (hostfile !== undefined) {
      args.push("--hostfile", hostfile, "--npernode", String(nprocPerNode));
    } else if (multiNode) args.push("--host", hosts.map((h) => `${h}:${nprocPerNode}`).join(","));
  }
  args.push("-n", String(total), ...rankCommand);
  return { command: MPIEXEC_BY_FLAVOR[mpi], args };
}

/**
 * The distinct host names of a hostfile, in order. Accepts MPICH (`host[:slots]`) and Open MPI
 * (`host [slots=N]`) lines; `#` starts a comment.
 */
export function parseHostfile(text: string, path: string): string[] {
  const hosts: string[] = [];
  for (const line of text.split("\n")) {
    const content = line.replace(/#.*/, "").trim();
    if (content === "") continue;
    const host = content.split(/[\s:]/)[0];
    if (!hosts.includes(host)) hosts.push(host);
  }
  if (hosts.length === 0) throw new Error(`hostfile ${path}: no host names found`);
  return hosts;
}
