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
import yargs from "yargs";
import {
  buildLaunchCommand,
  type CommandLine,
  MPIEXEC_BY_FLAVOR,
  type MpiFlavor,
  parseHostfile,
} from "../lib/distributed/launch_command.ts";
import { parseStrictArgs } from "../lib/util/command.ts";

/** Exit code of a shell for "command not found". */
const EXIT_NOT_FOUND = 127;
/** Environment variable prefixes exported to remote Open MPI ranks (hydra forwards everything). */
const FORWARDED_ENV_PREFIXES = ["OLMO_", "DENO_", "WANDB_", "SCRATCH_DIR"];

/** The parsed options (yargs ships no type declarations). */
interface LaunchArgv {
  _: (string | number)[];
  nprocPerNode: number;
  mpi: MpiFlavor;
  hostfile?: string;
  hosts?: string;
  dryRun: boolean;
  help?: boolean;
}

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
  const argv = await parseStrictArgs<LaunchArgv>(
    yargs(args)
      .scriptName("deno task launch")
      .usage("$0 [options] SCRIPT [args...]\n\nRuns SCRIPT on N ranks per node under mpiexec.")
      .parserConfiguration({ "halt-at-non-option": true, "parse-positional-numbers": false })
      .option("nproc-per-node", {
        alias: "nproc_per_node",
        type: "number",
        default: 1,
        describe: "ranks per node",
      })
      .option("mpi", {
        choices: ["mpich", "openmpi"] as const,
        default: "mpich" as MpiFlavor,
        describe: "MPI implementation (launcher and library)",
      })
      .option("hostfile", { type: "string", describe: "hostfile of a multi-node run" })
      .option("hosts", { type: "string", describe: "comma-separated hosts of a multi-node run" })
      .option("dry-run", { type: "boolean", default: false, describe: "print the command only" })
      .conflicts("hostfile", "hosts")
      .demandCommand(1, "SCRIPT is required"),
  );
  if (argv.help) return null;
  const [script, ...scriptArgs] = argv._.map(String);
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
    ),
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

async function main(): Promise<number> {
  let command;
  try {
    command = await parseLaunchArgs(Deno.args);
  } catch (error) {
    console.error(`launch: ${(error as Error).message}`);
    return 2;
  }
  if (command === null) return 0; // --help was printed
  if (command.dryRun) {
    console.log([command.command, ...command.args].join(" "));
    return 0;
  }
  return await runLaunch(command);
}

if (import.meta.main) Deno.exit(await main());
