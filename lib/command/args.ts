/**
 * The one argument parser of every command in `cli/`: a command declares its options and
 * positional arguments once ({@link CommandSpec}); {@link parseCommandLine} reads `argv` with
 * OLMo's override tokenizer (`buildCli`: `--key=value` or `--key value`, `-` and `_` alike in
 * names, no `--no-x` negation), checks types, choices and required options, and collects, for
 * commands that take a config, every other `--a.b=value` as an OLMo override.
 * {@link commandHelp} writes the `--help` text from the same declaration.
 *
 * @module
 */
import { buildCli, overridesFromArgs, type ParsedArgs } from "../config/cli.ts";
import { cleanOverride } from "../config/merge.ts";
import { UsageError } from "./run.ts";

/** The range a `number` option is held to (yargs and the type check only ask for a number). */
export type NumberRule =
  | "integer ≥ 0"
  | "integer ≥ 1"
  | "number > 0"
  | "number ≥ 0"
  | "number in [0, 1]";

const NUMBER_RULES: Record<NumberRule, (v: number) => boolean> = {
  "integer ≥ 0": (v) => Number.isInteger(v) && v >= 0,
  "integer ≥ 1": (v) => Number.isInteger(v) && v >= 1,
  "number > 0": (v) => v > 0,
  "number ≥ 0": (v) => v >= 0,
  "number in [0, 1]": (v) => v >= 0 && v <= 1,
};

/** One `--option` of a command. */
export interface OptionSpec {
  /** Value type: `--flag` alone is `true` for booleans; the others need a value. */
  readonly type: "string" | "number" | "boolean";
  /** One line for `--help`. */
  readonly describe: string;
  /** Another name, e.g. `o` for `-o`. */
  readonly alias?: string;
  /** Value when the option is absent. */
  readonly default?: string | number | boolean;
  /** The accepted values (strings). */
  readonly choices?: readonly string[];
  /** The option must be given. */
  readonly required?: boolean;
  /** Placeholder of the value in `--help` (default: the type). */
  readonly placeholder?: string;
  /** For `number` options: the range; a value outside it is a usage error naming the rule. */
  readonly rule?: NumberRule;
}

/** What a command accepts. */
export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** How the command is run, e.g. `deno task generate`. */
  readonly name: string;
  /** The synopsis after the name, e.g. `--checkpoint DIR "prompt"`. */
  readonly usage: string;
  /** Paragraphs for `--help` after the usage line. */
  readonly description?: string;
  /** The options by name (dashes, as written on the command line). */
  readonly options: O;
  /** Fewest positional arguments (default 0), with the error message when fewer are given. */
  readonly minPositionals?: readonly [number, string];
  /** Most positional arguments (default unlimited), with the error message for more. */
  readonly maxPositionals?: readonly [number, string];
  /**
   * The command takes a config: any other `--a.b=value`, and every positional argument after the
   * first (OLMo's dotlist `a.b=value`), is a config override.
   */
  readonly overrides?: boolean;
  /** Stop at the first positional argument: it and everything after are positionals. */
  readonly stopAtPositional?: boolean;
  /** Pairs of options that exclude each other. */
  readonly conflicts?: readonly (readonly [string, string])[];
}

type ValueOf<S extends OptionSpec> = S["type"] extends "number" ? number
  : S["type"] extends "boolean" ? boolean
  : S["choices"] extends readonly (infer C)[] ? C
  : string;

/** The option values of a parse: options with a default or `required` are always present. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  -readonly [K in keyof O]: O[K] extends { default: unknown } | { required: true } ? ValueOf<O[K]>
    : ValueOf<O[K]> | undefined;
};

/** The result of {@link parseCommandLine}. */
export interface CommandLine<O extends Record<string, OptionSpec>> {
  /** `--help` or `-h` was given; nothing else was checked. */
  help: boolean;
  /** The option values by declared name. */
  options: OptionValues<O>;
  /** Positional arguments as strings. */
  positionals: string[];
  /** Config overrides (`key=value`, OLMo dotlist), for commands with `overrides`. */
  overrides: string[];
}

/** `max_steps` and `max-steps` name the same option. */
function canonical(name: string): string {
  return name.replaceAll("_", "-");
}

/** The value of option `name` converted to its type. @throws UsageError */
function convert(name: string, spec: OptionSpec, raw: unknown): string | number | boolean {
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (spec.type === "boolean") {
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    throw new UsageError(`--${name} takes no value (or true/false), got ${JSON.stringify(value)}`);
  }
  if (value === true) throw new UsageError(`--${name} needs a value`);
  const text = String(value);
  if (spec.choices !== undefined && !spec.choices.includes(text)) {
    throw new UsageError(
      `--${name} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(text)}`,
    );
  }
  if (spec.type === "number") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) {
      throw new UsageError(`--${name} must be a number, got ${JSON.stringify(text)}`);
    }
    if (spec.rule !== undefined && !NUMBER_RULES[spec.rule](n)) {
      const article = spec.rule.startsWith("integer") ? "an" : "a";
      throw new UsageError(`--${name} must be ${article} ${spec.rule}, got ${n}`);
    }
    return n;
  }
  return text;
}

/** Splits `argv` at the first positional argument (for `stopAtPositional`). */
function splitAtPositional<O extends Record<string, OptionSpec>>(
  argv: string[],
  spec: CommandSpec<O>,
): [string[], string[]] {
  const takesValue = (arg: string) => {
    const name = canonical(arg.replace(/^-+/, ""));
    const entry = Object.entries(spec.options).find(([n, o]) =>
      canonical(n) === name || (o.alias !== undefined && canonical(o.alias) === name)
    );
    return entry !== undefined && entry[1].type !== "boolean";
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return [argv.slice(0, i), argv.slice(i + 1)];
    if (!arg.startsWith("-")) return [argv.slice(0, i), argv.slice(i)];
    if (!arg.includes("=") && takesValue(arg)) i++;
  }
  return [argv, []];
}

/**
 * Parses `argv` against `spec`. With `--help` it returns `help: true` at once.
 * @throws UsageError naming the option for an unknown option (without `overrides`), a missing
 *   required option, a value of the wrong type or outside `choices`, conflicting options, or the
 *   wrong number of positional arguments.
 */
export function parseCommandLine<const O extends Record<string, OptionSpec>>(
  argv: string[],
  spec: CommandSpec<O>,
): CommandLine<O> {
  const [optionArgs, trailing] = spec.stopAtPositional ? splitAtPositional(argv, spec) : [argv, []];
  const known = new Map<string, string>(); // spelling → declared name
  for (const [name, option] of Object.entries(spec.options)) {
    known.set(canonical(name), name);
    if (option.alias !== undefined) known.set(canonical(option.alias), name);
  }
  // yargs reads `--flag=anything` as false; only true and false are values of a flag.
  for (const arg of optionArgs) {
    const m = /^--?([^=]+)=(.*)$/s.exec(arg);
    const name = m ? known.get(canonical(m[1])) : undefined;
    if (m && name !== undefined && spec.options[name].type === "boolean") {
      convert(name, spec.options[name], m[2]);
    }
  }
  let cli = buildCli(spec.name, optionArgs).option("help", { alias: "h", type: "boolean" });
  for (const [name, option] of Object.entries(spec.options)) {
    // Every spelling is declared, so that `--model_only x` leaves `x` a positional argument.
    const aliases = [name.replaceAll("-", "_"), option.alias].filter((a) => a && a !== name);
    cli = cli.option(name, {
      type: option.type === "boolean" ? "boolean" : "string",
      alias: aliases,
    });
  }
  const parsed = cli.parseSync();
  const positionals = [...parsed._.map(String), ...trailing];
  if (parsed.help === true) {
    return { help: true, options: {} as OptionValues<O>, positionals, overrides: [] };
  }
  const raw = new Map<string, unknown>();
  const others: ParsedArgs = { _: [] };
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "_" || key === "$0" || key === "help" || key === "h") continue;
    const name = known.get(canonical(key));
    if (name !== undefined) {
      if (value !== undefined) raw.set(name, value);
    } else if (spec.overrides) {
      others[key] = value;
    } else {
      throw new UsageError(`unknown option --${key}`);
    }
  }
  const options: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    if (raw.has(name)) options[name] = convert(name, option, raw.get(name));
    else if (option.required) throw new UsageError(`missing required option --${name}`);
    else options[name] = option.default;
  }
  for (const [a, b] of spec.conflicts ?? []) {
    if (raw.has(a) && raw.has(b)) throw new UsageError(`--${a} and --${b} exclude each other`);
  }
  const [min, fewMessage] = spec.minPositionals ?? [0, ""];
  if (positionals.length < min) throw new UsageError(fewMessage);
  const overrides = spec.overrides
    ? [...positionals.slice(1).map(cleanOverride), ...overridesFromArgs(others)]
    : [];
  const kept = spec.overrides ? positionals.slice(0, 1) : positionals;
  if (spec.maxPositionals !== undefined && kept.length > spec.maxPositionals[0]) {
    throw new UsageError(spec.maxPositionals[1]);
  }
  return { help: false, options: options as OptionValues<O>, positionals: kept, overrides };
}

/** The `--help` text of a command: usage, description and one line per option. */
export function commandHelp<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const value = option.type === "boolean"
      ? ""
      : ` ${option.placeholder ?? option.choices?.join("|") ?? option.type.toUpperCase()}`;
    const alias = option.alias === undefined
      ? ""
      : option.alias.length === 1
      ? `-${option.alias}, `
      : "";
    const notes = [
      option.required ? "required" : "",
      option.default !== undefined && option.default !== false ? `default: ${option.default}` : "",
    ].filter(Boolean);
    const suffix = notes.length > 0 ? ` (${notes.join("; ")})` : "";
    return [`  ${alias}--${name}${value}`, option.describe + suffix] as const;
  });
  rows.push(["  -h, --help", "this text"]);
  // Descriptions line up in one column; an option too long for it gets its own line.
  const width = Math.min(28, Math.max(...rows.map(([left]) => left.length))) + 2;
  const lines = [`usage: ${spec.name} ${spec.usage}`];
  if (spec.description !== undefined) lines.push("", spec.description);
  lines.push("", "Options:");
  for (const [left, right] of rows) {
    if (left.length + 2 <= width) lines.push(left.padEnd(width) + right);
    else lines.push(left, " ".repeat(width) + right);
  }
  return lines.join("\n");
}
