/**
 * What every command in `cli/` is built on: one argument parser (declared options, OLMo-style
 * `--a.b=value` config overrides for commands that take a config, generated `--help`), the
 * training-config command line, and how a command's `main` becomes an exit code.
 *
 * @module
 */
export type { CommandLine, CommandSpec, OptionSpec, OptionValues } from "./args.ts";
export { commandHelp, parseCommandLine } from "./args.ts";
export type { TrainArgs } from "./train_args.ts";
export { parseTrainArgs } from "./train_args.ts";
export { runCommand, UsageError } from "./run.ts";
