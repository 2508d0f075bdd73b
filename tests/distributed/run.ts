/**
 * Helpers for the distributed tests: find MPI launchers on PATH and run a subprocess with a
 * time bound, so a hung job fails the test instead of hanging the suite.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../_shared.ts";

/** True when `name` is an executable file in a PATH directory. */
export function onPath(name: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  return dirs.some((dir) => existsSync(join(dir, name)));
}

/** True when MPICH's launcher is installed (`apt install mpich`). */
export const HAS_MPICH: boolean = onPath("mpiexec.mpich");
/** True when Open MPI's launcher is installed (`apt install openmpi-bin`). */
export const HAS_OPENMPI: boolean = onPath("mpiexec.openmpi");

/** The Deno executable running the tests. */
export const DENO: string = Deno.execPath();

/** A finished subprocess. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** True when the time bound killed it. */
  timedOut: boolean;
}

/**
 * Runs `command args` in the repository root. After `timeoutMs` it gets SIGTERM (mpiexec then
 * tears its ranks down), and SIGKILL 5 s later. `env` is added to the inherited environment.
 */
export async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args,
    cwd: REPO_ROOT,
    env: options.env,
    clearEnv: options.clearEnv,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGTERM");
    killTimer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  }, options.timeoutMs ?? 60_000);
  const output = await child.output();
  clearTimeout(timer);
  clearTimeout(killTimer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    timedOut,
  };
}

/** Runs `deno run -A script args` on `n` ranks under `mpiexec.mpich`. */
export function runMpich(
  n: number,
  script: string,
  args: string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run("mpiexec.mpich", ["-n", String(n), DENO, "run", "-A", script, ...args], options);
}

/** The PID of the rank-`rank` process whose command line mentions `marker` (Linux /proc). */
export async function rankPid(marker: string, rank: number): Promise<number | null> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
      if (args[0] !== DENO || !args.includes("cli/train.ts") || !args.includes(marker)) {
        continue;
      }
      const env = (await Deno.readTextFile(`/proc/${entry.name}/environ`)).split("\0");
      if (env.includes(`PMI_RANK=${rank}`)) return Number(entry.name);
    } catch {
      continue; // the process ended meanwhile
    }
  }
  return null;
}
