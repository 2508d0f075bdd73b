/**
 * Sharded → unsharded checkpoint, in one process and without MPI (OLMo's `scripts/unshard.py`):
 *
 *   deno task unshard INPUT_DIR [OUTPUT_DIR] [--overwrite] [--model-only]
 *
 * Reads every rank file of the sharded checkpoint INPUT_DIR (`step{N}/`, written at any world
 * size) and writes the equivalent unsharded checkpoint: `model.safetensors`, `optim.safetensors`
 * + `optim.json` (not with `--model-only`), `train.json` (rank 0's trainer state without its
 * RNG state) and a copy of `config.yaml`. OUTPUT_DIR defaults to `step{N}-unsharded` next to
 * INPUT_DIR, the name restore and `${path.last_checkpoint:...}` recognise. The output is written
 * to `OUTPUT_DIR-tmp` and renamed when complete; an existing OUTPUT_DIR is only replaced with
 * `--overwrite`.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import {
  defaultUnshardedDir,
  isNonEmptyDir,
  parseCheckpointDirName,
} from "../lib/checkpoint/trainer/run_folder.ts";
import {
  checkShardedCheckpointFiles,
  unshardCheckpoint,
} from "../lib/checkpoint/trainer/unshard.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";

const SPEC = {
  name: "deno task unshard",
  usage: "INPUT_DIR [OUTPUT_DIR] [--overwrite] [--model-only]",
  description: "Joins the rank files of a sharded checkpoint (step{N}/, any world size) into an " +
    "unsharded one.\n  OUTPUT_DIR     default: step{N}-unsharded next to INPUT_DIR",
  options: {
    overwrite: { type: "boolean", default: false, describe: "replace an existing OUTPUT_DIR" },
    "model-only": { type: "boolean", default: false, describe: "leave the optimizer state out" },
  },
  minPositionals: [1, "expected INPUT_DIR [OUTPUT_DIR]"],
  maxPositionals: [2, "expected INPUT_DIR [OUTPUT_DIR], got more arguments"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** Runs the command; returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  if (line.positionals.some((p) => p.trim() === "")) {
    throw new UsageError("INPUT_DIR and OUTPUT_DIR must be non-empty paths");
  }
  const args = {
    input: line.positionals[0],
    output: line.positionals[1] as string | undefined,
    overwrite: line.options.overwrite,
    modelOnly: line.options["model-only"],
  };
  // Resolve symlinks (`latest`) so the default output is named after the real step folder.
  let input: string;
  try {
    input = await Deno.realPath(args.input);
  } catch (e) {
    throw new Error(`checkpoint folder ${args.input} cannot be opened: ${(e as Error).message}`);
  }
  const meta = await checkShardedCheckpointFiles(input);
  const output = args.output ?? defaultUnshardedDir(input);
  if (output === null) {
    throw new UsageError(
      `cannot name the output after ${
        basename(input)
      } (expected a step{N} folder); give OUTPUT_DIR`,
    );
  }
  if (resolve(output) === input) {
    throw new UsageError(`OUTPUT_DIR ${output} is the input folder`);
  }
  if (!args.overwrite && (await isNonEmptyDir(output))) {
    throw new Error(`${output} already exists; pass --overwrite to replace it`);
  }
  const name = parseCheckpointDirName(basename(resolve(output)));
  if (name === null || name.sharded) {
    console.error(
      `unshard: note: ${basename(output)} is not named step{N}-unsharded, so restore dispatch ` +
        `and \${path.last_checkpoint:...} will not find it in a run folder`,
    );
  }
  await unshardCheckpoint(input, output, args.overwrite, { modelOnly: args.modelOnly });
  const elements = meta.layout.ranks[meta.layout.ranks.length - 1].end;
  console.log(
    `unshard: ${input} (${meta.worldSize} rank(s), ${meta.layout.params.length} parameters, ` +
      `${elements} elements) -> ${resolve(output)}` +
      (args.modelOnly ? " (model only, no optimizer state)" : ""),
  );
  return 0;
}

if (import.meta.main) await runCommand("unshard", main, commandHelp(SPEC));
