/**
 * Bad command options are refused with a message naming the option, the rule and the value
 * (issue 15): a table of command, arguments and expected message for `generate`, `convert`,
 * `unshard`, `prepare-data`, `launch`, `inspect-data` and `eval`. Each row runs the command as a
 * user does (a subprocess, in parallel); every command fails before it reads a checkpoint or data.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";

/** [command file, arguments, the message stderr must hold]. */
const TABLE: [string, string[], string][] = [
  [
    "generate.ts",
    ["--checkpoint", "c", "--beam-size", "0", "x"],
    "--beam-size must be an integer ≥ 1, got 0",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--max-steps", "-3", "x"],
    "--max-steps must be an integer ≥ 1, got -3",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--min-steps", "1.5", "x"],
    "--min-steps must be an integer ≥ 0, got 1.5",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--max-steps", "2", "--min-steps", "3", "x"],
    "--min-steps (3) must not exceed --max-steps (2)",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--temperature", "0", "x"],
    "--temperature must be a number > 0, got 0",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--p", "1.5", "x"],
    "--p must be a number in [0, 1], got 1.5",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--p", "-1", "x"],
    "--p must be a number in [0, 1], got -1",
  ],
  ["generate.ts", ["--checkpoint", "c", "--k", "0", "x"], "--k must be an integer ≥ 1, got 0"],
  ["generate.ts", ["--checkpoint", "c", "--k", "abc", "x"], '--k must be a number, got "abc"'],
  [
    "generate.ts",
    ["--checkpoint", "c", "--no-repeat-ngram-size", "-1", "x"],
    "--no-repeat-ngram-size must be an integer ≥ 0, got -1",
  ],
  [
    "generate.ts",
    ["--checkpoint", "c", "--length-penalty", "abc", "x"],
    '--length-penalty must be a number, got "abc"',
  ],
  ["generate.ts", ["--checkpoint", " ", "x"], "--checkpoint needs a folder or URL"],
  [
    "generate.ts",
    ["--checkpoint", "c", "--token-ids", "1 -2"],
    '--token-ids: "-2" is not a token id',
  ],
  [
    "convert.ts",
    ["a", "b", "--to", "safetensors"],
    '--to must be one of olmo-ts, olmo, hf, hf-olmo2, hf-olmo, got "safetensors"',
  ],
  ["convert.ts", ["a", "--to", "olmo"], "expected INPUT OUTPUT"],
  ["convert.ts", ["", "b", "--to", "olmo"], "INPUT and OUTPUT must be non-empty paths"],
  ["convert.ts", ["a", "b", "--to", "hf", "--tokenizer", ""], "--tokenizer needs a path or Hub id"],
  ["unshard.ts", [], "expected INPUT_DIR [OUTPUT_DIR]"],
  ["unshard.ts", ["", "out"], "INPUT_DIR and OUTPUT_DIR must be non-empty paths"],
  ["unshard.ts", ["/no/such/step3"], "checkpoint folder /no/such/step3 cannot be opened"],
  [
    "prepare_data.ts",
    ["in.txt", "-o", "out", "--tokenizer", "t", "--workers", "0"],
    "--workers must be an integer ≥ 1, got 0",
  ],
  [
    "prepare_data.ts",
    ["in.txt", "-o", "out", "--tokenizer", "t", "--max-tokens", "-5"],
    "--max-tokens must be an integer ≥ 1, got -5",
  ],
  [
    "prepare_data.ts",
    ["in.txt", "-o", "out", "--tokenizer", "t", "--eos-token-id", "-1"],
    "--eos-token-id must be an integer ≥ 0, got -1",
  ],
  ["prepare_data.ts", ["in.txt", "-o", "", "--tokenizer", "t"], "--output needs a folder path"],
  [
    "prepare_data.ts",
    ["in.txt", "-o", "out", "--tokenizer", "t", "--text-field", ""],
    "--text-field needs a field name",
  ],
  [
    "prepare_data.ts",
    ["in.txt", "-o", "out", "--tokenizer", "t", "--dtype", "int8"],
    '--dtype must be one of uint16, uint32, got "int8"',
  ],
  [
    "launch.ts",
    ["--nproc-per-node=0", "--dry-run", "train.ts"],
    "--nproc-per-node must be an integer ≥ 1, got 0",
  ],
  [
    "launch.ts",
    ["--nproc-per-node=1.5", "--dry-run", "train.ts"],
    "--nproc-per-node must be an integer ≥ 1, got 1.5",
  ],
  [
    "launch.ts",
    ["--mpi=lam", "--dry-run", "train.ts"],
    '--mpi must be one of mpich, openmpi, got "lam"',
  ],
  ["launch.ts", ["--hostfile", "/no/such/hosts", "--dry-run", "train.ts"], "/no/such/hosts"],
  [
    "inspect_data.ts",
    ["--config", "c.yaml", "--step", "0"],
    "--step must be an integer ≥ 1, got 0",
  ],
  [
    "inspect_data.ts",
    ["--config", "c.yaml", "--step", "1", "--world-size", "0"],
    "--world-size must be an integer ≥ 1, got 0",
  ],
  [
    "inspect_data.ts",
    ["--config", "c.yaml", "--step", "1", "--chars", "-1"],
    "--chars must be an integer ≥ 0, got -1",
  ],
  ["inspect_data.ts", ["--config", "c.yaml"], "give --step N or --validate"],
  ["eval.ts", ["c", "--tasks", "piqa", "--limit", "0"], "--limit must be an integer ≥ 1, got 0"],
  [
    "eval.ts",
    ["c", "--tasks", "piqa", "--batch-size", "1.5"],
    "--batch-size must be an integer ≥ 1, got 1.5",
  ],
  ["eval.ts", ["c", "--tasks", ","], "--tasks names no task"],
  ["eval.ts", ["c", "--tasks", "piqa2"], "unknown downstream task 'piqa2'"],
];

Deno.test("command options: each bad value is refused with its option, rule and value", async () => {
  const failures: string[] = [];
  const queue = [...TABLE];
  const worker = async () => {
    for (let row = queue.shift(); row !== undefined; row = queue.shift()) {
      const [command, args, message] = row;
      const result = await runCli(command, args, { NO_COLOR: "1" });
      const what = `${command} ${JSON.stringify(args)}`;
      if (result.code === 0) failures.push(`${what}: exit 0`);
      else if (!result.stderr.includes(message)) {
        failures.push(`${what}: stderr lacks "${message}":\n${result.stderr.trim()}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  assert.deepEqual(failures, []);
});
