/**
 * Checkpoint conversion between olmo-ts, OLMo (`model.pt`) and `hf_olmo` layouts:
 *
 *   deno task convert INPUT OUTPUT --to olmo-ts|olmo|hf [--overwrite] [--tokenizer PATH]
 *
 * INPUT is a checkpoint folder (olmo-ts unsharded or sharded, OLMo unsharded, or hf_olmo; the
 * layout is detected) or the URL of an unsharded one. OUTPUT is a new folder. See
 * `lib/checkpoint/convert.ts` for what each layout holds. Optimizer and trainer state are carried
 * only into olmo-ts outputs; what is dropped is printed.
 *
 * @module
 */
import { buildCli } from "../lib/config/cli.ts";
import {
  CONVERT_TARGETS,
  convertCheckpoint,
  type ConvertTarget,
} from "../lib/checkpoint/convert.ts";
import { rejectUnknownOptions, runCommand, UsageError } from "../lib/util/command.ts";

const USAGE = `usage: deno task convert INPUT OUTPUT --to ${
  CONVERT_TARGETS.join("|")
} [--overwrite] [--tokenizer PATH]

Converts a checkpoint folder (or the URL of an unsharded one) into another layout.
  INPUT            olmo-ts (unsharded or sharded), OLMo (config.yaml + model.pt) or hf_olmo folder
  --to olmo-ts     config.yaml + model.safetensors (+ optimizer and trainer state when present)
  --to olmo        config.yaml + model.pt, as OLMo writes unsharded checkpoints
  --to hf          hf_olmo layout: config.yaml, model.pt, model.safetensors, config.json,
                   tokenizer.json, tokenizer_config.json, special_tokens_map.json
  --tokenizer PATH tokenizer.json for --to hf (default: INPUT's, else config.yaml's identifier)
  --overwrite      replace an existing OUTPUT`;

/** Parsed command line of `deno task convert`. */
interface ConvertArgs {
  input: string;
  output: string;
  to: ConvertTarget;
  overwrite: boolean;
  tokenizer?: string;
}

const OPTIONS = ["to", "overwrite", "tokenizer", "help", "h"];

/** Parses the command line; null when `--help` was given. @throws UsageError */
function parseArgs(argv: string[]): ConvertArgs | null {
  const parsed = buildCli("convert", argv)
    .option("to", { type: "string" })
    .option("tokenizer", { type: "string" })
    .option("overwrite", { type: "boolean", default: false })
    .option("help", { alias: "h", type: "boolean", default: false })
    .parseSync();
  if (parsed.help === true) return null;
  rejectUnknownOptions(parsed, OPTIONS);
  const positionals = parsed._.map(String);
  if (positionals.length !== 2) {
    throw new UsageError(`expected INPUT OUTPUT, got ${positionals.length} argument(s)`);
  }
  const to = parsed.to;
  if (typeof to !== "string" || !(CONVERT_TARGETS as readonly string[]).includes(to)) {
    throw new UsageError(
      `--to must be one of ${CONVERT_TARGETS.join(", ")}, got ${JSON.stringify(to ?? null)}`,
    );
  }
  const tokenizer = parsed.tokenizer;
  if (tokenizer !== undefined && (typeof tokenizer !== "string" || tokenizer === "")) {
    throw new UsageError("--tokenizer needs a path or Hub id");
  }
  return {
    input: positionals[0],
    output: positionals[1],
    to: to as ConvertTarget,
    overwrite: parsed.overwrite === true,
    tokenizer: tokenizer as string | undefined,
  };
}

/** Runs the command; returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  const result = await convertCheckpoint(args.input, args.output, {
    to: args.to,
    overwrite: args.overwrite,
    tokenizer: args.tokenizer,
    progress: true,
  });
  console.log(`convert: ${args.input} (${result.from}) -> ${result.output} (${result.to})`);
  console.log(`  wrote ${result.files.join(", ")}`);
  if (result.renamedParams > 0) {
    console.log(`  renamed ${result.renamedParams} parameter(s) to match config.yaml`);
  }
  for (const d of result.dropped) console.log(`  dropped: ${d}`);
  for (const w of result.warnings) console.error(`convert: warning: ${w}`);
  return 0;
}

if (import.meta.main) await runCommand("convert", main, USAGE);
