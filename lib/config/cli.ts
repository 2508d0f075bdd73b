/**
 * OLMo's override tokenizer, on npm `yargs`, which `lib/command` builds every command's parser
 * on: OLMo's `CONFIG.yaml --a.b=value --flag` style. A bare flag means `true`; leading dashes are
 * stripped; in field names `-` stands for `_` (`--save-overwrite`); values are YAML (`null`,
 * `[]`, `[0.9,0.99]`); `--key value` works as well as `--key=value`; extra positional
 * `key=value` arguments are overrides too (OLMo's `clean_opt`). `--backend wasm` is just the
 * override `backend=wasm`.
 *
 * @module
 */
import yargs from "yargs";
import { cleanOverride } from "./merge.ts";
import { describeField, type ObjectSchema } from "./schema.ts";
import { TRAIN_CONFIG_SCHEMA } from "./train_config.ts";

/** The result of a yargs parse: positionals in `_`, every `--key` as a property. */
export interface ParsedArgs {
  /** Positional arguments. */
  _: (string | number)[];
  /** `--key` values: `true` for bare flags, otherwise the raw string. */
  [key: string]: unknown;
}

/** The minimal yargs surface the helpers here use (yargs ships no TypeScript types). */
export interface CliParser {
  /** Adds a typed option (yargs `option`). */
  option(key: string, opts: Record<string, unknown>): CliParser;
  /** Sets the usage text (yargs `usage`). */
  usage(text: string): CliParser;
  /** Parses synchronously. */
  parseSync(): ParsedArgs;
}

/**
 * A yargs parser for command `name` over `argv`, configured for OLMo-style overrides: no dot
 * expansion, no number parsing (values stay strings and are YAML-parsed against the schema), no
 * camel-case aliases, no `--no-x` negation, a repeated flag keeps its last value, and no
 * built-in `--help` / `--version` / `exit` (callers decide). Add command-specific options with
 * `.option(...)`, then pass the parse result to `overridesFromArgs`.
 */
export function buildCli(name: string, argv: string[]): CliParser {
  return yargs(argv)
    .scriptName(name)
    .parserConfiguration({
      "dot-notation": false,
      "parse-numbers": false,
      "parse-positional-numbers": false,
      "camel-case-expansion": false,
      "boolean-negation": false,
      "duplicate-arguments-array": false,
      "short-option-groups": false,
    })
    .help(false)
    .version(false)
    .strict(false)
    .exitProcess(false);
}

/**
 * Config overrides (`key=value`, OLMo dotlist) from every `--key` of a parse result except
 * `exclude` (the command's own options). Bare flags become `key=true`.
 */
export function overridesFromArgs(parsed: ParsedArgs, exclude: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "_" || key === "$0" || exclude.includes(key)) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    out.push(cleanOverride(`${key}=${last === true ? "true" : String(last)}`));
  }
  return out;
}

/** Usage text for a command that takes a config and overrides. */
export function trainUsage(name = "train"): string {
  return [
    `usage: ${name} CONFIG.yaml [--key=value ...]`,
    "",
    "Any config field can be overridden: --optimizer.learning_rate=0.0001, --save-overwrite",
    "(bare flag = true), --data.paths=[a.npy,b.npy], --evaluators=[], --backend=wasm.",
    "Values are YAML. Interpolations (${run_name}, ${oc.env:VAR,default}) resolve after overrides.",
  ].join("\n");
}

/**
 * Every overridable field as `--key <type> (default: value)`, each followed by an indented line
 * with its documentation, for `--help`.
 */
export function configFieldsHelp(): string {
  const lines: string[] = [];
  const walk = (s: ObjectSchema, defaults: Record<string, unknown>, prefix: string) => {
    for (const [key, field] of Object.entries(s.fields)) {
      const name = prefix + key;
      if (field.kind === "object") {
        const sub = defaults[key];
        if (sub !== null && typeof sub === "object" && !Array.isArray(sub)) {
          walk(field.schema, sub as Record<string, unknown>, `${name}.`);
          continue;
        }
      }
      const required = s.required.includes(key);
      const dflt = required ? "required" : `default: ${JSON.stringify(defaults[key])}`;
      lines.push(`  --${name} <${describeField(field)}> (${dflt})`, `      ${field.doc}`);
    }
  };
  walk(TRAIN_CONFIG_SCHEMA, TRAIN_CONFIG_SCHEMA.defaults(), "");
  return lines.join("\n");
}
