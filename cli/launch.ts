/**
 * A torchrun-like launcher over MPI:
 *
 *   deno task launch --nproc-per-node=N [--mpi=mpich|openmpi] [--hostfile F | --hosts a,b]
 *     SCRIPT [args...]
 *
 * runs `mpiexec.<mpi> ... -n N deno run -A SCRIPT args...`. Option parsing stops at SCRIPT, so
 * the script's own options pass through untouched. SIGINT/SIGTERM are forwarded to mpiexec and
 * its exit code becomes ours; a missing mpiexec exits 127 with an install hint.
 *
 * @module
 */
import {
  buildLaunchCommand,
  type CommandLine,
  MPIEXEC_BY_FLAVOR,
  parseHostfile,
} from "../lib/distributed/launch_command.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";

/** Exit code of a shell for "command not found". */
const EXIT_NOT_FOUND = 127;
/** Environment variable prefixes exported to remote Open MPI ranks (hydra forwards everything). */
const FORWARDED_ENV_PREFIXES = ["OLMO_", "DENO_", "WANDB_", "SCRATCH_DIR"];

const SPEC = {
  name: "deno task launch",
  usage: "[options] SCRIPT [args...]",
  description: "Runs SCRIPT on N ranks per node under mpiexec.",
  options: {
    "nproc-per-node": {
      type: "number",
      default: 1,
      rule: "integer ≥ 1",
      placeholder: "N",
      describe: "ranks per node",
    },
    mpi: {
      type: "string",
      choices: ["mpich", "openmpi"],
      default: "mpich",
      describe: "MPI implementation (launcher and library)",
    },
    hostfile: { type: "string", placeholder: "FILE", describe: "hostfile of a multi-node run" },
    hosts: {
      type: "string",
      placeholder: "A,B",
      describe: "comma-separated hosts of a multi-node run",
    },
    "dry-run": { type: "boolean", default: false, describe: "print the command only" },
  },
  minPositionals: [1, "SCRIPT is required"],
  stopAtPositional: true,
  conflicts: [["hostfile", "hosts"]],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** A parsed launch: the mpiexec command line and whether to only print it. */
export interface ParsedLaunch extends CommandLine {
  /** `--dry-run`: print the command instead of running it. */
  dryRun: boolean;
}

/**
 * Parses the launcher options. Returns null after printing `--help`; throws on bad options.
 * Everything from SCRIPT on is passed to the script untouched.
 */
export async function parseLaunchArgs(args: string[]): Promise<ParsedLaunch | null> {
  const line = parseCommandLine(args, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return null;
  }
  const argv = {
    nprocPerNode: line.options["nproc-per-node"],
    mpi: line.options.mpi,
    hostfile: line.options.hostfile,
    hosts: line.options.hosts,
    dryRun: line.options["dry-run"],
  };
  const [script, ...scriptArgs] = line.positionals;
  let hosts = argv.hosts?.split(",").map((h: string) => h.trim()).filter((h: string) => h !== "");
  if (argv.hostfile !== undefined) {
    hosts = parseHostfile(await Deno.readTextFile(argv.hostfile), argv.hostfile);
  }
  const command = buildLaunchCommand({
    nprocPerNode: argv.nprocPerNode,
    mpi: argv.mpi,
    hosts,
    hostfile: argv.hostfile,
    denoPath: Deno.execPath(),
    script,
    scriptArgs,
    mpiLib: Deno.env.get("MPI_LIB"),
    isRoot: Deno.uid() === 0,
    forwardEnv: Object.keys(Deno.env.toObject()).filter((name) =>
      FORWARDED_ENV_PREFIXES.some((prefix) => name.startsWith(prefix))
    ).sort(),
  });
  return { ...command, dryRun: argv.dryRun };
}

/** Runs mpiexec, forwarding SIGINT/SIGTERM; resolves to the exit code to exit with. */
export async function runLaunch(command: CommandLine): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command.command, { args: command.args }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const [install, other] = command.command === MPIEXEC_BY_FLAVOR.openmpi
      ? ["Open MPI (apt install openmpi-bin)", "mpich"]
      : ["MPICH (apt install mpich)", "openmpi"];
    console.error(
      `launch: '${command.command}' was not found on PATH. Install ${install}, ` +
        `or choose the other implementation with --mpi=${other}.`,
    );
    return EXIT_NOT_FOUND;
  }
  // mpiexec.mpich sometimes exits 0 after a forwarded SIGTERM; a stopped job must not look
  // successful, so a forwarded signal turns exit code 0 into the shell's 128 + signal number.
  const signalNumbers = { SIGINT: 2, SIGTERM: 15 } as const;
  let received: keyof typeof signalNumbers | null = null;
  const forward = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => {
      received = signal;
      child.kill(signal);
    };
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  const status = await child.status;
  for (const remove of forward) remove();
  if (received !== null && status.code === 0) return 128 + signalNumbers[received];
  return status.code;
}

async function main(args: string[]): Promise<number> {
  let command;
  try {
    command = await parseLaunchArgs(args);
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
  if (command === null) return 0; // --help was printed
  if (command.dryRun) {
    console.log([command.command, ...command.args].join(" "));
    return 0;
  }
  return await runLaunch(command);
}

if (import.meta.main) await runCommand("launch", main);
