/**
 * Which training instances did step N see, on which rank, and what do they say?
 *
 *   deno task inspect-data --run runs/my-run --step 10 [--world-size 2] [--chars 160 | --full]
 *   deno task inspect-data --config configs/quickstart.yaml --step 1
 *   deno task inspect-data --config configs/quickstart.yaml --validate
 *
 * With `--run`, reads `RUN/config.yaml`, the global order from `RUN/train_data/global_indices.npy`
 * (rebuilt from the seed if missing) and the tokenizer from `RUN/tokenizer.json` if present.
 * Prints, per rank, each instance's index, file:token offset and decoded text. Every id shown is
 * checked against `model.embedding_size`; `--validate` checks every id of every token file first
 * and fails naming the file, offset and id of the first one out of range.
 *
 * @module
 */
import { join } from "node:path";
import { loadTrainConfig } from "../lib/config/mod.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { globalIndicesForRun, instancesForStep } from "../lib/data/inspect.ts";
import { memMapDatasetFromDataConfig } from "../lib/data/memmap_dataset.ts";
import { validateTokenFile } from "../lib/data/validate_ids.ts";
import { embeddingRows } from "../lib/train/train_data.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";

const SPEC = {
  name: "deno task inspect-data",
  usage: "(--run DIR | --config FILE) (--step N | --validate) [options]",
  options: {
    run: { type: "string", placeholder: "DIR", describe: "run directory (save_folder)" },
    config: {
      type: "string",
      placeholder: "FILE",
      describe: "training config (without a run directory)",
    },
    step: { type: "number", rule: "integer ≥ 1", describe: "optimizer step (1-based)" },
    validate: {
      type: "boolean",
      default: false,
      describe: "check every token id of every file against model.embedding_size",
    },
    "world-size": {
      type: "number",
      default: 1,
      rule: "integer ≥ 1",
      describe: "ranks the run used",
    },
    chars: {
      type: "number",
      default: 160,
      rule: "integer ≥ 0",
      describe: "preview length per instance",
    },
    full: { type: "boolean", default: false, describe: "print whole instances" },
  },
  maxPositionals: [0, "inspect-data takes no positional arguments"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const o = line.options;
  if ((o.run === undefined) === (o.config === undefined)) {
    throw new UsageError("give exactly one of --run or --config");
  }
  if (o.step === undefined && !o.validate) throw new UsageError("give --step N or --validate");
  const argv = { ...o, worldSize: o["world-size"] };

  registerCorpusResolvers();
  const configPath = argv.run !== undefined ? join(argv.run, "config.yaml") : argv.config!;
  const cfg = await loadTrainConfig(configPath);
  const dataset = memMapDatasetFromDataConfig(cfg.data, cfg.model.max_sequence_length, {
    includeInstanceMetadata: true,
    tokenIdLimit: embeddingRows(cfg),
  });
  if (argv.validate) {
    let tokens = 0;
    let maxId = -1;
    for (const path of dataset.paths) {
      const summary = validateTokenFile(path, dataset.dtype, embeddingRows(cfg));
      tokens += summary.tokens;
      maxId = Math.max(maxId, summary.maxId);
    }
    console.log(
      `validated ${dataset.paths.length} token file(s), ${tokens} tokens: every id is < ` +
        `${embeddingRows(cfg)} (model.embedding_size); the largest is ${maxId}`,
    );
    if (argv.step === undefined) return 0;
  }
  const { indices, source } = globalIndicesForRun(dataset, {
    runDir: argv.run ?? null,
    seed: cfg.seed,
    dropLast: cfg.data.drop_last,
    worldSize: argv.worldSize,
  });
  const tokenizer = argv.run !== undefined
    ? await Tokenizer.fromCheckpoint(argv.run)
    : await Tokenizer.fromTrainConfig(cfg);
  const step = instancesForStep(indices, {
    step: argv.step!,
    globalBatchSize: cfg.global_train_batch_size,
    worldSize: argv.worldSize,
  });

  console.log(
    `step ${step.step}: global positions [${(step.step - 1) * cfg.global_train_batch_size}, ` +
      `${step.step * cfg.global_train_batch_size}) of ${indices.length} (${source}); ` +
      `${dataset.length} instances of ${dataset.chunkSize} tokens`,
  );
  try {
    for (const rank of step.ranks) {
      console.log(`\n== rank ${rank.rank}: instances ${rank.indices.join(", ")}`);
      for (const index of rank.indices) {
        const where = dataset.locate(index);
        const text = tokenizer.decode(dataset.get(index).inputIds, { skipSpecialTokens: false });
        const shown = argv.full || text.length <= argv.chars
          ? text
          : `${text.slice(0, argv.chars)}…`;
        console.log(`\n-- instance ${index} (${where.path}:${where.tokenOffset})`);
        console.log(shown);
      }
    }
  } finally {
    dataset.close();
  }
  return 0;
}

if (import.meta.main) await runCommand("inspect-data", main);
