/**
 * Checkpoint conversion between olmo-ts, OLMo (`model.pt`), `hf_olmo` and the Hugging Face
 * transformers OLMo layouts:
 *
 *   deno task convert INPUT OUTPUT --to olmo-ts|olmo|hf|hf-olmo2|hf-olmo [--overwrite]
 *     [--tokenizer PATH]
 *
 * INPUT is a checkpoint folder (olmo-ts unsharded or sharded, OLMo unsharded, hf_olmo, or a
 * transformers `Olmo2ForCausalLM` / `OlmoForCausalLM` folder; the layout is detected), a Hub id
 * in the local Hugging Face cache, or the URL of an unsharded checkpoint. OUTPUT is a new folder. See
 * `lib/checkpoint/convert.ts` for what each layout holds. Optimizer and trainer state are carried
 * only into olmo-ts outputs; what is dropped is printed.
 *
 * @module
 */
import { CONVERT_TARGETS, convertCheckpoint } from "../lib/checkpoint/convert.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";

const SPEC = {
  name: "deno task convert",
  usage: `INPUT OUTPUT --to ${CONVERT_TARGETS.join("|")} [--overwrite] [--tokenizer PATH]`,
  description: `Converts a checkpoint folder (or the URL of an unsharded one) into another layout.
  INPUT            olmo-ts (unsharded or sharded), OLMo (config.yaml + model.pt), hf_olmo or
                   transformers (config.json + model*.safetensors) folder, or a cached Hub id
  --to olmo-ts     config.yaml + model.safetensors (+ optimizer and trainer state when present)
  --to olmo        config.yaml + model.pt, as OLMo writes unsharded checkpoints
  --to hf          hf_olmo layout: config.yaml, model.pt, model.safetensors, config.json,
                   tokenizer.json, tokenizer_config.json, special_tokens_map.json
  --to hf-olmo2    transformers Olmo2ForCausalLM: config.json, model.safetensors, tokenizer files
  --to hf-olmo     transformers OlmoForCausalLM (OLMo 1 / 1.7 models), the same files`,
  options: {
    to: { type: "string", choices: CONVERT_TARGETS, required: true, describe: "output layout" },
    tokenizer: {
      type: "string",
      placeholder: "PATH",
      describe: "tokenizer.json for the hf targets (default: INPUT's, else config.yaml's)",
    },
    overwrite: { type: "boolean", default: false, describe: "replace an existing OUTPUT" },
  },
  minPositionals: [2, "expected INPUT OUTPUT"],
  maxPositionals: [2, "expected INPUT OUTPUT, got more arguments"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** Runs the command; returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const [input, output] = line.positionals;
  if (input.trim() === "" || output.trim() === "") {
    throw new UsageError("INPUT and OUTPUT must be non-empty paths");
  }
  const { to, overwrite, tokenizer } = line.options;
  if (tokenizer === "") throw new UsageError("--tokenizer needs a path or Hub id");
  const result = await convertCheckpoint(input, output, {
    to,
    overwrite,
    tokenizer,
    progress: true,
  });
  console.log(`convert: ${input} (${result.from}) -> ${result.output} (${result.to})`);
  console.log(`  wrote ${result.files.join(", ")}`);
  if (result.renamedParams > 0) {
    console.log(`  renamed ${result.renamedParams} parameter(s) to match config.yaml`);
  }
  for (const d of result.dropped) console.log(`  dropped: ${d}`);
  for (const w of result.warnings) console.error(`convert: warning: ${w}`);
  return 0;
}

if (import.meta.main) await runCommand("convert", main, commandHelp(SPEC));
