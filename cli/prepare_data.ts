/**
 * Tokenizes text into OLMo token files (OLMo's `scripts/prepare_memmap_dataset.py`):
 *
 *   deno task prepare-data INPUT... -o OUT_DIR --tokenizer ID [--workers 2] [--validate]
 *
 * INPUT: .jsonl/.json/.ndjson (one {"text": ...} per line) or .txt files, optionally .gz, or
 * directories of them. `--tokenizer` takes a tokenizer.json path, a directory, a Hugging Face
 * Hub id, or `corpus:brown` for the embedded corpus's tokenizer.
 *
 * @module
 */
import { ensureCorpus } from "../lib/data/corpus.ts";
import { prepareData } from "../lib/data/prepare.ts";
import { parseTokenDType } from "../lib/data/token_file.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";

const SPEC = {
  name: "deno task prepare-data",
  usage: "INPUT... -o OUT_DIR --tokenizer ID [options]",
  options: {
    output: { type: "string", alias: "o", required: true, describe: "output dir" },
    tokenizer: {
      type: "string",
      required: true,
      placeholder: "ID",
      describe: "tokenizer.json path, directory, Hub id, or corpus:brown",
    },
    "eos-token-id": {
      type: "number",
      rule: "integer ≥ 0",
      describe: "EOS appended to documents (default vocab_size - 1, as OLMo)",
    },
    dtype: {
      type: "string",
      choices: ["uint16", "uint32"],
      describe: "default: from the vocab size",
    },
    "max-tokens": {
      type: "number",
      default: 536870912,
      rule: "integer ≥ 1",
      describe: "maximum tokens per output file",
    },
    workers: {
      type: "number",
      alias: "j",
      default: 1,
      rule: "integer ≥ 1",
      describe: "tokenizer workers",
    },
    "text-field": { type: "string", default: "text", describe: "JSON field with the text" },
    "text-unit": {
      type: "string",
      choices: ["file", "paragraph", "line"],
      default: "file",
      describe: "document unit of .txt inputs",
    },
    validate: { type: "boolean", default: false, describe: "re-tokenize and compare" },
    overwrite: { type: "boolean", default: false, describe: "replace token files" },
    quiet: { type: "boolean", default: false, describe: "no progress bar" },
  },
  minPositionals: [1, "at least one INPUT is required"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

async function loadTokenizer(identifier: string, eosTokenId?: number): Promise<Tokenizer> {
  if (identifier.startsWith("corpus:")) {
    const corpus = await ensureCorpus(identifier.slice("corpus:".length));
    return Tokenizer.fromFile(corpus.tokenizerPath, { eosTokenId });
  }
  return await Tokenizer.fromPretrained(identifier, { eosTokenId });
}

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const o = line.options;
  if (o.output.trim() === "") throw new UsageError("--output needs a folder path");
  if (o["text-field"].trim() === "") throw new UsageError("--text-field needs a field name");
  if (line.positionals.some((input) => input.trim() === "")) {
    throw new UsageError("every INPUT must be a non-empty path");
  }
  const argv = {
    _: line.positionals,
    output: o.output,
    tokenizer: o.tokenizer,
    eosTokenId: o["eos-token-id"],
    dtype: o.dtype,
    maxTokens: o["max-tokens"],
    workers: o.workers,
    textField: o["text-field"],
    textUnit: o["text-unit"],
    validate: o.validate,
    overwrite: o.overwrite,
    quiet: o.quiet,
  };

  const tokenizer = await loadTokenizer(argv.tokenizer, argv.eosTokenId);
  const result = await prepareData({
    inputs: argv._.map(String),
    outputDir: argv.output,
    tokenizer,
    dtype: argv.dtype === undefined ? undefined : parseTokenDType(argv.dtype, "--dtype"),
    maxTokensPerFile: argv.maxTokens,
    workers: argv.workers,
    textField: argv.textField,
    textUnit: argv.textUnit,
    validate: argv.validate,
    overwrite: argv.overwrite,
    progressLabel: argv.quiet ? null : "prepare-data",
  });
  console.log(
    `wrote ${result.tokens} tokens of ${result.documents} documents into ${result.files.length} ` +
      `file(s) in ${result.outputDir} (memmap_dtype ${result.dtype}, vocab ${tokenizer.vocabSize}, ` +
      `EOS ${tokenizer.eosTokenId})` + (argv.validate ? "; validated" : ""),
  );
  if (result.badLines.length > 0) {
    console.log(`${result.badLines.length} unusable line(s) were skipped (listed above)`);
  }
  console.log(
    `config: data.paths: [${result.files.map((f) => JSON.stringify(f)).join(", ")}]` +
      (result.dtype === "uint16" ? "" : `, data.memmap_dtype: ${result.dtype}`),
  );
  return 0;
}

if (import.meta.main) await runCommand("prepare-data", main);
