/**
 * Trains a byte-level BPE tokenizer and writes a Hugging Face `tokenizer.json`:
 *
 *   deno task train-tokenizer INPUT... -o tokenizer.json --vocab-size 8192
 *
 * INPUT: the same formats as prepare-data. All 256 byte-level characters are in the vocabulary;
 * the special tokens come last (`--pad-token` at vocab_size - 2, `--eos-token` at vocab_size - 1),
 * so OLMo's default EOS (vocab_size - 1) is `--eos-token`.
 *
 * @module
 */
import { listInputFiles, readDocuments } from "../lib/data/text_sources.ts";
import { ByteLevelBpeTrainer } from "../lib/tokenizer/bpe_trainer.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { writeFileAtomic } from "../lib/util/fs.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand } from "../lib/command/run.ts";

const SPEC = {
  name: "deno task train-tokenizer",
  usage: "INPUT... -o tokenizer.json --vocab-size N [options]",
  options: {
    output: { type: "string", alias: "o", required: true, describe: "output file" },
    "vocab-size": { type: "number", default: 8192, describe: "vocabulary size" },
    "eos-token": { type: "string", default: "<|endoftext|>", describe: "EOS (last id)" },
    "pad-token": {
      type: "string",
      default: "<|padding|>",
      describe: "padding token (id vocab_size - 2); empty for none",
    },
    "min-frequency": { type: "number", default: 2, describe: "minimum pair count" },
    "text-field": { type: "string", default: "text", describe: "JSON field with the text" },
    "text-unit": {
      type: "string",
      choices: ["file", "paragraph", "line"],
      default: "file",
      describe: "document unit of .txt inputs",
    },
  },
  minPositionals: [1, "at least one INPUT is required"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const o = line.options;
  const argv = {
    _: line.positionals,
    output: o.output,
    vocabSize: o["vocab-size"],
    eosToken: o["eos-token"],
    padToken: o["pad-token"],
    minFrequency: o["min-frequency"],
    textField: o["text-field"],
    textUnit: o["text-unit"],
  };

  const started = performance.now();
  const trainer = new ByteLevelBpeTrainer();
  let badLines = 0;
  for (const file of listInputFiles(argv._.map(String))) {
    const docs = readDocuments(file, {
      textField: argv.textField,
      textUnit: argv.textUnit,
      onBadLine: (bad) => {
        badLines++;
        console.error(`warning: skipped ${bad.file}:${bad.line}: ${bad.message}`);
      },
    });
    for await (const doc of docs) trainer.addText(doc.text);
  }
  const { characters, distinctWords } = trainer.stats;
  console.error(`counted ${characters} characters, ${distinctWords} distinct pre-tokens`);
  const json = trainer.train({
    vocabSize: argv.vocabSize,
    eosToken: argv.eosToken,
    padToken: argv.padToken === "" ? null : argv.padToken,
    minFrequency: argv.minFrequency,
  });
  const text = JSON.stringify(json);
  const tokenizer = new Tokenizer(text, {}, argv.output); // checks that it loads
  await writeFileAtomic(argv.output, text);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `wrote ${argv.output}: vocab_size ${tokenizer.vocabSize}, eos_token_id ${tokenizer.eosTokenId}` +
      (argv.padToken ? `, pad_token_id ${tokenizer.tokenToId(argv.padToken)}` : "") +
      ` (${seconds} s${badLines > 0 ? `, ${badLines} unusable lines skipped` : ""})`,
  );
  if (tokenizer.vocabSize < argv.vocabSize) {
    console.log(
      `note: the text ran out of pairs seen ${argv.minFrequency}+ times before ${argv.vocabSize}`,
    );
  }
  return 0;
}

if (import.meta.main) await runCommand("train-tokenizer", main);
