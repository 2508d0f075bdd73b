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
import yargs from "yargs";
import { ensureCorpus } from "../lib/data/corpus.ts";
import { prepareData } from "../lib/data/prepare.ts";
import type { TextUnit } from "../lib/data/text_sources.ts";
import { parseTokenDType } from "../lib/data/token_file.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { parseStrictArgs, runCommand } from "../lib/util/command.ts";

interface PrepareArgv {
  _: (string | number)[];
  output: string;
  tokenizer: string;
  eosTokenId?: number;
  dtype?: string;
  maxTokens: number;
  workers: number;
  textField: string;
  textUnit: TextUnit;
  validate: boolean;
  overwrite: boolean;
  quiet: boolean;
  help?: boolean;
}

async function loadTokenizer(identifier: string, eosTokenId?: number): Promise<Tokenizer> {
  if (identifier.startsWith("corpus:")) {
    const corpus = await ensureCorpus(identifier.slice("corpus:".length));
    return Tokenizer.fromFile(corpus.tokenizerPath, { eosTokenId });
  }
  return await Tokenizer.fromPretrained(identifier, { eosTokenId });
}

async function main(args: string[]): Promise<number> {
  const argv = await parseStrictArgs<PrepareArgv>(
    yargs(args)
      .scriptName("deno task prepare-data")
      .usage("$0 INPUT... -o OUT_DIR --tokenizer ID [options]")
      .option("output", { alias: "o", type: "string", demandOption: true, describe: "output dir" })
      .option("tokenizer", {
        type: "string",
        demandOption: true,
        describe: "tokenizer.json path, directory, Hub id, or corpus:brown",
      })
      .option("eos-token-id", {
        type: "number",
        describe: "EOS appended to documents (default vocab_size - 1, as OLMo)",
      })
      .option("dtype", { choices: ["uint16", "uint32"], describe: "default: from the vocab size" })
      .option("max-tokens", {
        type: "number",
        default: 536870912,
        describe: "maximum tokens per output file",
      })
      .option("workers", { alias: "j", type: "number", default: 1, describe: "tokenizer workers" })
      .option("text-field", {
        type: "string",
        default: "text",
        describe: "JSON field with the text",
      })
      .option("text-unit", {
        choices: ["file", "paragraph", "line"],
        default: "file",
        describe: "document unit of .txt inputs",
      })
      .option("validate", { type: "boolean", default: false, describe: "re-tokenize and compare" })
      .option("overwrite", { type: "boolean", default: false, describe: "replace token files" })
      .option("quiet", { type: "boolean", default: false, describe: "no progress bar" })
      .demandCommand(1, "at least one INPUT is required"),
  );
  if (argv.help) return 0;

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
