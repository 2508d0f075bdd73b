/**
 * Text generation from a checkpoint:
 *
 *   deno task generate --checkpoint DIR_OR_URL [--beam-size 3] [--max-steps 50]
 *     [--sampler greedy|multinomial|top-k|top-p|gumbel] [--p 0.9] [--k 50] [--temperature 0.8]
 *     [--seed 1] [--backend auto|wasm|webgpu|tensorflow|cpu] [--token-ids] "prompt"
 *
 * Loads the model and tokenizer of an unsharded checkpoint (or of a Hugging Face transformers
 * OLMo / OLMo 2 folder, or a Hub id in the local Hugging Face cache), encodes the prompt without
 * special tokens (as OLMo's README does) and prints the continuation. With beam size 1 (greedy or
 * sampling) tokens are printed as they are generated; with a wider beam the best beam is printed
 * at the end (`generateText` of `lib/facade`, which notebooks can call too).
 *
 * With `--token-ids` the prompt is a list of token ids ("133 65 57" or "133,65,57") and the
 * continuation is printed as token ids, up to and including the first EOS; no tokenizer is
 * loaded. That is how to run checkpoints without a usable tokenizer, such as OLMo test models
 * whose toy vocabulary matches no real tokenizer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES } from "../lib/backend/init.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";
import {
  generateText,
  type GenerateTextOptions,
  SAMPLER_NAMES,
} from "../lib/facade/generate_text.ts";

const SPEC = {
  name: "deno task generate",
  usage: '--checkpoint DIR_OR_URL [options] "prompt"',
  description: "Prints a continuation of the prompt.",
  options: {
    checkpoint: {
      type: "string",
      required: true,
      placeholder: "DIR_OR_URL",
      describe: "checkpoint folder or URL, transformers OLMo folder, or cached Hub id",
    },
    "beam-size": {
      type: "number",
      default: 1,
      rule: "integer ≥ 1",
      describe: "beam width (1: greedy/sampling)",
    },
    "max-steps": {
      type: "number",
      default: 50,
      rule: "integer ≥ 1",
      describe: "maximum new tokens",
    },
    "min-steps": {
      type: "number",
      default: 0,
      rule: "integer ≥ 0",
      describe: "minimum new tokens before EOS",
    },
    sampler: {
      type: "string",
      choices: SAMPLER_NAMES,
      default: "greedy",
      describe: "how tokens are picked",
    },
    p: {
      type: "number",
      default: 0.9,
      rule: "number in [0, 1]",
      describe: "top-p cumulative probability",
    },
    k: { type: "number", default: 50, rule: "integer ≥ 1", describe: "top-k size" },
    temperature: {
      type: "number",
      default: 1.0,
      rule: "number > 0",
      describe: "sampling temperature",
    },
    seed: { type: "number", describe: "sampler seed (default: random)" },
    "no-repeat-ngram-size": {
      type: "number",
      default: 0,
      rule: "integer ≥ 0",
      describe: "block repeated n-grams of this size",
    },
    "length-penalty": { type: "number", describe: "rank beams by logp / length^penalty" },
    backend: { type: "string", choices: BACKEND_NAMES, default: "auto", describe: "tfjs backend" },
    "token-ids": {
      type: "boolean",
      default: false,
      describe: 'the prompt is token ids ("1 2 3" or "1,2,3"); print token ids, no tokenizer',
    },
  },
  minPositionals: [1, "the prompt is required"],
  maxPositionals: [1, "give exactly one prompt (quote it)"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** Parses the command line. Returns null after printing `--help`; throws on bad options. */
export function parseGenerateArgs(args: string[]): GenerateTextOptions | null {
  {
    const line = parseCommandLine(args, SPEC);
    if (line.help) {
      console.log(commandHelp(SPEC));
      return null;
    }
    const o = line.options;
    if (o.checkpoint.trim() === "") throw new UsageError("--checkpoint needs a folder or URL");
    if (o["min-steps"] > o["max-steps"]) {
      throw new Error(
        `--min-steps (${o["min-steps"]}) must not exceed --max-steps (${o["max-steps"]})`,
      );
    }
    const prompt = line.positionals[0];
    return {
      checkpoint: o.checkpoint,
      prompt,
      tokenIds: o["token-ids"] ? parseTokenIds(prompt) : null,
      beamSize: o["beam-size"],
      maxSteps: o["max-steps"],
      minSteps: o["min-steps"],
      sampler: o.sampler,
      p: o.p,
      k: o.k,
      temperature: o.temperature,
      seed: o.seed,
      noRepeatNgramSize: o["no-repeat-ngram-size"],
      lengthPenalty: o["length-penalty"],
      backend: o.backend,
    };
  }
}

/** Parses a `--token-ids` prompt: non-negative integers separated by commas and/or spaces. */
export function parseTokenIds(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter((part) => part !== "");
  if (parts.length === 0) throw new Error("--token-ids: the prompt holds no token ids");
  return parts.map((part) => {
    if (!/^\d+$/.test(part)) {
      throw new Error(`--token-ids: "${part}" is not a token id (a non-negative integer)`);
    }
    return Number(part);
  });
}

/** Writes all of `text` to stdout. */
function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function main(args: string[]): Promise<number> {
  let opts: GenerateTextOptions | null;
  try {
    opts = parseGenerateArgs(args);
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
  if (opts === null) return 0; // --help was printed
  tf.env().set("PROD", true); // no cpu-backend banner, no debug checks
  await generateText(opts, writeStdout);
  return 0;
}

if (import.meta.main) await runCommand("generate", main);
