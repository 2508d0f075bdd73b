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
import yargs from "yargs";
import { listInputFiles, readDocuments, type TextUnit } from "../lib/data/text_sources.ts";
import { ByteLevelBpeTrainer } from "../lib/tokenizer/bpe_trainer.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { writeFileAtomic } from "../lib/util/fs.ts";
import { parseStrictArgs, runCommand } from "../lib/util/command.ts";

interface TrainTokenizerArgv {
  _: (string | number)[];
  output: string;
  vocabSize: number;
  eosToken: string;
  padToken: string;
  minFrequency: number;
  textField: string;
  textUnit: TextUnit;
  help?: boolean;
}

async function main(args: string[]): Promise<number> {
  const argv = await parseStrictArgs<TrainTokenizerArgv>(
    yargs(args)
      .scriptName("deno task train-tokenizer")
      .usage("$0 INPUT... -o tokenizer.json --vocab-size N [options]")
      .option("output", { alias: "o", type: "string", demandOption: true, describe: "output file" })
      .option("vocab-size", { type: "number", default: 8192, describe: "vocabulary size" })
      .option("eos-token", { type: "string", default: "<|endoftext|>", describe: "EOS (last id)" })
      .option("pad-token", {
        type: "string",
        default: "<|padding|>",
        describe: "padding token (id vocab_size - 2); empty for none",
      })
      .option("min-frequency", { type: "number", default: 2, describe: "minimum pair count" })
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
      .demandCommand(1, "at least one INPUT is required"),
  );
  if (argv.help) return 0;

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
