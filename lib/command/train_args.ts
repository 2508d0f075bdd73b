/**
 * The command line of a command that takes a training config, `deno task train` and the like:
 * `CONFIG.yaml [--a.b=value | --flag | a.b=value ...]` (OLMo's `scripts/train.py` argv).
 *
 * @module
 */
import { trainUsage } from "../config/cli.ts";
import { ConfigError } from "../config/errors.ts";
import { parseCommandLine } from "./args.ts";

/** What `parseTrainArgs` found. */
export interface TrainArgs {
  /** The YAML config path (the first positional argument); "" when only `--help` was given. */
  configPath: string;
  /** Config overrides, OLMo dotlist style (`optimizer.learning_rate=0.0001`). */
  overrides: string[];
  /** `--help` or `-h` was given. */
  help: boolean;
}

/**
 * Parses `CONFIG.yaml [--a.b=value | --flag | a.b=value ...]`. Throws a `ConfigError` with the
 * usage line when the config path is missing (and `--help` was not given), naming the option
 * that took it as its value when that is what happened.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "./train_args.ts";
 *
 * const args = parseTrainArgs(["c.yaml", "--save-overwrite", "--model.n_layers", "4"]);
 * // args.overrides: ["save_overwrite=true", "model.n_layers=4"]
 * ```
 */
export function parseTrainArgs(argv: string[], name = "train"): TrainArgs {
  const line = parseCommandLine(argv, {
    name,
    usage: "CONFIG.yaml [--key=value ...]",
    options: {},
    overrides: true,
  });
  const configPath = line.positionals[0] ?? "";
  if (configPath === "" && !line.help) {
    const swallowed = line.overrides.map((o) => o.split("="))
      .find(([, v]) => v !== undefined && /\.ya?ml$/.test(v));
    const hint = swallowed
      ? ` ('${swallowed[1]}' was taken as the value of --${swallowed[0]}; put the config first)`
      : "";
    throw new ConfigError(`command line: missing CONFIG.yaml${hint}\n${trainUsage(name)}`);
  }
  return { configPath, overrides: line.overrides, help: line.help };
}
