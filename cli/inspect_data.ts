/**
 * Which training instances did step N see, on which rank, and what do they say?
 *
 *   deno task inspect-data --run runs/my-run --step 10 [--world-size 2] [--chars 160 | --full]
 *   deno task inspect-data --config configs/quickstart.yaml --step 1
 *
 * With `--run`, reads `RUN/config.yaml`, the global order from `RUN/train_data/global_indices.npy`
 * (rebuilt from the seed if missing) and the tokenizer from `RUN/tokenizer.json` if present.
 * Prints, per rank, each instance's index, file:token offset and decoded text.
 *
 * @module
 */
import yargs from "yargs";
import { join } from "node:path";
import { loadTrainConfig } from "../lib/config/mod.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { globalIndicesForRun, instancesForStep } from "../lib/data/inspect.ts";
import { memMapDatasetFromDataConfig } from "../lib/data/memmap_dataset.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { parseStrictArgs, runCommand } from "../lib/util/command.ts";

interface InspectArgv {
  run?: string;
  config?: string;
  step: number;
  worldSize: number;
  chars: number;
  full: boolean;
  help?: boolean;
}

async function main(args: string[]): Promise<number> {
  const argv = await parseStrictArgs<InspectArgv>(
    yargs(args)
      .scriptName("deno task inspect-data")
      .usage("$0 (--run DIR | --config FILE) --step N [options]")
      .option("run", { type: "string", describe: "run directory (save_folder)" })
      .option("config", { type: "string", describe: "training config (without a run directory)" })
      .option("step", { type: "number", demandOption: true, describe: "optimizer step (1-based)" })
      .option("world-size", { type: "number", default: 1, describe: "ranks the run used" })
      .option("chars", { type: "number", default: 160, describe: "preview length per instance" })
      .option("full", { type: "boolean", default: false, describe: "print whole instances" })
      .check((a: InspectArgv) => {
        if (a.help) return true;
        if ((a.run === undefined) === (a.config === undefined)) {
          throw new Error("give exactly one of --run or --config");
        }
        return true;
      }),
  );
  if (argv.help) return 0;

  registerCorpusResolvers();
  const configPath = argv.run !== undefined ? join(argv.run, "config.yaml") : argv.config!;
  const cfg = await loadTrainConfig(configPath);
  const dataset = memMapDatasetFromDataConfig(cfg.data, cfg.model.max_sequence_length, {
    includeInstanceMetadata: true,
  });
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
    step: argv.step,
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
