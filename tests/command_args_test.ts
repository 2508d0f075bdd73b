/**
 * The argument parser every command is built on (`lib/command/args.ts`): typed options with
 * defaults, aliases and both spellings, choices, required options, positional counts, OLMo-style
 * overrides for commands that take a config, stopping at the first positional (the launcher),
 * conflicts, and the generated `--help`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { UsageError } from "../lib/command/run.ts";

const SPEC = {
  name: "deno task demo",
  usage: "[options] INPUT...",
  options: {
    output: { type: "string", alias: "o", required: true, describe: "output file" },
    "max-steps": { type: "number", default: 50, describe: "steps" },
    mode: { type: "string", choices: ["a", "b"], default: "a", describe: "mode" },
    quiet: { type: "boolean", default: false, describe: "no output" },
    seed: { type: "number", describe: "seed" },
  },
  minPositionals: [1, "at least one INPUT is required"],
  maxPositionals: [2, "at most two INPUTs"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

Deno.test("parseCommandLine: types, defaults, aliases, spellings and positionals", () => {
  const line = parseCommandLine(["-o", "out", "x", "--max_steps", "7", "--quiet", "y"], SPEC);
  assert.deepEqual(line.options, {
    output: "out",
    "max-steps": 7,
    mode: "a",
    quiet: true,
    seed: undefined,
  });
  assert.deepEqual(line.positionals, ["x", "y"]);
  assert.deepEqual(line.overrides, []);
  const again = parseCommandLine(
    ["--output=o", "--mode=b", "--max-steps=3", "--seed", "-2", "x"],
    SPEC,
  );
  assert.deepEqual([again.options.mode, again.options["max-steps"], again.options.seed], [
    "b",
    3,
    -2,
  ]);
  assert.equal(parseCommandLine(["--help"], SPEC).help, true);
  assert.equal(parseCommandLine(["-h", "--bogus"], SPEC).help, true);
});

Deno.test("parseCommandLine: clear usage errors", () => {
  const fails = (args: string[], pattern: RegExp) =>
    assert.throws(() => parseCommandLine(args, SPEC), (e: Error) => {
      assert.ok(e instanceof UsageError, `${args.join(" ")}: ${e}`);
      assert.match(e.message, pattern);
      return true;
    });
  fails(["x"], /missing required option --output/);
  fails(["-o", "f", "--bogus=1", "x"], /unknown option --bogus/);
  fails(["-o", "f", "--mode", "c", "x"], /--mode must be one of a, b, got "c"/);
  fails(["-o", "f", "--max-steps", "many", "x"], /--max-steps must be a number, got "many"/);
  fails(["-o", "f", "--quiet=maybe", "x"], /--quiet takes no value/);
  fails(["-o", "f"], /at least one INPUT is required/);
  fails(["-o", "f", "x", "y", "z"], /at most two INPUTs/);
});

Deno.test("parseCommandLine: config overrides, stop at the script, conflicts", () => {
  const withConfig = parseCommandLine(
    ["c.yaml", "--model.n_layers", "2", "--save-overwrite", "--steps=3", "seed=5"],
    {
      name: "t",
      usage: "CONFIG.yaml",
      options: { steps: { type: "number", default: 1, describe: "steps" } },
      overrides: true,
    },
  );
  assert.deepEqual(withConfig.positionals, ["c.yaml"]);
  assert.equal(withConfig.options.steps, 3);
  assert.deepEqual(withConfig.overrides, ["seed=5", "model.n_layers=2", "save_overwrite=true"]);

  const launcher = {
    name: "l",
    usage: "SCRIPT [args...]",
    options: {
      n: { type: "number", default: 1, describe: "ranks" },
      hosts: { type: "string", describe: "hosts" },
      hostfile: { type: "string", describe: "hostfile" },
    },
    stopAtPositional: true,
    conflicts: [["hosts", "hostfile"]],
  } as const;
  const launch = parseCommandLine(["--n", "2", "train.ts", "--n=9", "--x"], launcher);
  assert.equal(launch.options.n, 2);
  assert.deepEqual(launch.positionals, ["train.ts", "--n=9", "--x"]);
  assert.throws(
    () => parseCommandLine(["--hosts=a", "--hostfile=f", "s.ts"], launcher),
    /--hosts and --hostfile exclude each other/,
  );
});

Deno.test("commandHelp: usage line, every option with its default, and --help", () => {
  const help = commandHelp(SPEC);
  assert.match(help, /^usage: deno task demo \[options\] INPUT\.\.\.\n/);
  assert.match(help, /-o, --output STRING +output file \(required\)/);
  assert.match(help, /--max-steps NUMBER +steps \(default: 50\)/);
  assert.match(help, /--mode a\|b +mode \(default: a\)/);
  assert.match(help, /-h, --help +this text$/);
});
