/**
 * Text generation from a checkpoint:
 *
 *   deno task generate --checkpoint DIR_OR_URL [--beam-size 3] [--max-steps 50]
 *     [--sampler greedy|multinomial|top-k|top-p|gumbel] [--p 0.9] [--k 50] [--temperature 0.8]
 *     [--seed 1] [--backend auto|wasm|webgpu|tensorflow|cpu] [--token-ids] "prompt"
 *
 * Loads the model and tokenizer of an unsharded checkpoint, encodes the prompt without special
 * tokens (as OLMo's README does) and prints the continuation. With beam size 1 (greedy or
 * sampling) tokens are printed as they are generated; with a wider beam the best beam is printed
 * at the end.
 *
 * With `--token-ids` the prompt is a list of token ids ("133 65 57" or "133,65,57") and the
 * continuation is printed as token ids, up to and including the first EOS; no tokenizer is
 * loaded. That is how to run checkpoints without a usable tokenizer, such as OLMo test models
 * whose toy vocabulary matches no real tokenizer.
 *
 * @module
 */
import yargs from "yargs";
import * as tf from "@tensorflow/tfjs";
import { dirname } from "node:path";
import { BACKEND_NAMES, type BackendName } from "../lib/backend/init.ts";
import { resolveResource, ResourceNotFoundError } from "../lib/checkpoint/remote.ts";
import { RepeatedNGramBlockingConstraint } from "../lib/generate/constraints.ts";
import { generate, type GenerateOutput } from "../lib/generate/generate.ts";
import {
  DeterministicSampler,
  GumbelSampler,
  MultinomialSampler,
  type Sampler,
  TopKSampler,
  TopPSampler,
} from "../lib/generate/samplers.ts";
import { LengthNormalizedSequenceLogProbabilityScorer } from "../lib/generate/scorers.ts";
import { IncrementalDecoder } from "../lib/generate/text_stream.ts";
import { Olmo } from "../lib/model/olmo.ts";
import { Rng } from "../lib/model/random.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { parseStrictArgs } from "../lib/util/command.ts";

/** The `--sampler` choices. */
export const SAMPLER_NAMES = ["greedy", "multinomial", "top-k", "top-p", "gumbel"] as const;
/** A `--sampler` value. */
export type SamplerName = typeof SAMPLER_NAMES[number];

/** Parsed command line of `deno task generate`. */
export interface GenerateCliOptions {
  /** Checkpoint folder or URL. */
  checkpoint: string;
  /** The prompt text (the raw argument, also with `--token-ids`). */
  prompt: string;
  /** The prompt as token ids with `--token-ids` (ids in and out, no tokenizer), else null. */
  tokenIds: number[] | null;
  /** Beam width. */
  beamSize: number;
  /** Maximum generated tokens. */
  maxSteps: number;
  /** Minimum generated tokens before EOS is allowed. */
  minSteps: number;
  /** Node sampler. */
  sampler: SamplerName;
  /** Top-p cutoff. */
  p: number;
  /** Top-k size. */
  k: number;
  /** Sampling temperature. */
  temperature: number;
  /** Seed of the sampler, or undefined for a random one. */
  seed?: number;
  /** Block repeated n-grams of this size (0: off). */
  noRepeatNgramSize: number;
  /** Rank beams by length-normalised log-probability with this penalty (undefined: plain sum). */
  lengthPenalty?: number;
  /** tfjs backend. */
  backend: BackendName;
}

/** yargs' result (the package ships no types). */
interface GenerateArgv {
  _: (string | number)[];
  checkpoint: string;
  beamSize: number;
  maxSteps: number;
  minSteps: number;
  sampler: SamplerName;
  p: number;
  k: number;
  temperature: number;
  seed?: number;
  noRepeatNgramSize: number;
  lengthPenalty?: number;
  backend: BackendName;
  tokenIds: boolean;
  help?: boolean;
}

/** Parses the command line. Returns null after printing `--help`; throws on bad options. */
export async function parseGenerateArgs(args: string[]): Promise<GenerateCliOptions | null> {
  const argv = await parseStrictArgs<GenerateArgv>(
    yargs(args)
      .scriptName("deno task generate")
      .usage(
        '$0 --checkpoint DIR_OR_URL [options] "prompt"\n\nPrints a continuation of the prompt.',
      )
      // No "--no-X" negation: it would read --no-repeat-ngram-size as "repeat-ngram-size: false".
      .parserConfiguration({ "parse-positional-numbers": false, "boolean-negation": false })
      .option("checkpoint", {
        type: "string",
        demandOption: true,
        describe: "checkpoint folder or URL",
      })
      .option("beam-size", {
        type: "number",
        default: 1,
        describe: "beam width (1: greedy/sampling)",
      })
      .option("max-steps", { type: "number", default: 50, describe: "maximum new tokens" })
      .option("min-steps", {
        type: "number",
        default: 0,
        describe: "minimum new tokens before EOS",
      })
      .option("sampler", {
        choices: SAMPLER_NAMES,
        default: "greedy",
        describe: "how tokens are picked",
      })
      .option("p", { type: "number", default: 0.9, describe: "top-p cumulative probability" })
      .option("k", { type: "number", default: 50, describe: "top-k size" })
      .option("temperature", { type: "number", default: 1.0, describe: "sampling temperature" })
      .option("seed", { type: "number", describe: "sampler seed (default: random)" })
      .option("no-repeat-ngram-size", {
        type: "number",
        default: 0,
        describe: "block repeated n-grams of this size",
      })
      .option("length-penalty", { type: "number", describe: "rank beams by logp / length^penalty" })
      .option("backend", { choices: BACKEND_NAMES, default: "auto", describe: "tfjs backend" })
      .option("token-ids", {
        type: "boolean",
        default: false,
        describe: 'the prompt is token ids ("1 2 3" or "1,2,3"); print token ids, no tokenizer',
      })
      .demandCommand(1, 1, "the prompt is required", "give exactly one prompt (quote it)"),
  );
  if (argv.help) return null;
  const positiveInteger = (name: string, value: number, min: number) => {
    if (!(Number.isInteger(value) && value >= min)) {
      throw new Error(`--${name} must be an integer ≥ ${min}, got ${value}`);
    }
  };
  positiveInteger("beam-size", argv.beamSize, 1);
  positiveInteger("max-steps", argv.maxSteps, 1);
  positiveInteger("min-steps", argv.minSteps, 0);
  positiveInteger("no-repeat-ngram-size", argv.noRepeatNgramSize, 0);
  if (argv.minSteps > argv.maxSteps) {
    throw new Error(
      `--min-steps (${argv.minSteps}) must not exceed --max-steps (${argv.maxSteps})`,
    );
  }
  if (!(argv.temperature > 0)) {
    throw new Error(`--temperature must be > 0, got ${argv.temperature}`);
  }
  if (argv.seed !== undefined && !Number.isFinite(argv.seed)) {
    throw new Error(`--seed must be a number, got ${argv.seed}`);
  }
  const prompt = String(argv._[0]);
  return {
    checkpoint: argv.checkpoint,
    prompt,
    tokenIds: argv.tokenIds ? parseTokenIds(prompt) : null,
    beamSize: argv.beamSize,
    maxSteps: argv.maxSteps,
    minSteps: argv.minSteps,
    sampler: argv.sampler,
    p: argv.p,
    k: argv.k,
    temperature: argv.temperature,
    seed: argv.seed,
    noRepeatNgramSize: argv.noRepeatNgramSize,
    lengthPenalty: argv.lengthPenalty,
    backend: argv.backend,
  };
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

/** The sampler the options name (throws for an invalid `--p`). */
export function buildSampler(opts: GenerateCliOptions): Sampler {
  const rng = new Rng(opts.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]);
  const { temperature } = opts;
  switch (opts.sampler) {
    case "greedy":
      return new DeterministicSampler();
    case "multinomial":
      return new MultinomialSampler({ temperature, rng });
    case "top-k":
      return new TopKSampler({ k: opts.k, temperature, rng });
    case "top-p":
      return new TopPSampler({ p: opts.p, temperature, rng });
    case "gumbel":
      return new GumbelSampler({ temperature, rng });
  }
}

/**
 * Initialises the backend, loads the checkpoint (and, for a text prompt, its tokenizer) and
 * writes the continuation of the prompt through `write`, ending with a newline: the decoded text
 * up to EOS, or with `--token-ids` the token ids up to and including EOS, separated by spaces.
 * With beam size 1 (greedy or sampling) it writes each token as soon as it is generated.
 */
export async function runGenerate(
  opts: GenerateCliOptions,
  write: (text: string) => void,
): Promise<void> {
  const sampler = buildSampler(opts);
  const model = await Olmo.fromCheckpoint(opts.checkpoint, { backend: opts.backend });
  try {
    const { config } = model;
    const tokenizer = opts.tokenIds ? null : await checkpointTokenizer(opts.checkpoint);
    const promptIds = opts.tokenIds ??
      tokenizer!.encode(opts.prompt, { addSpecialTokens: false });
    if (promptIds.length === 0) throw new Error("the prompt encodes to no tokens");
    const outOfVocab = promptIds.find((id) => id >= config.vocab_size);
    if (outOfVocab !== undefined) {
      throw new Error(
        `prompt token id ${outOfVocab} is outside the model's vocabulary ` +
          `(vocab_size ${config.vocab_size})`,
      );
    }
    const absolutePositions = !config.alibi && !config.rope;
    if (absolutePositions && promptIds.length + opts.maxSteps > config.max_sequence_length) {
      throw new Error(
        `the prompt (${promptIds.length} tokens) plus --max-steps ${opts.maxSteps} exceeds ` +
          `max_sequence_length ${config.max_sequence_length} of this absolute-position model`,
      );
    }
    const numClasses = config.embedding_size ?? config.vocab_size;
    if (opts.sampler === "top-k" && !(opts.beamSize <= opts.k && opts.k <= numClasses)) {
      throw new Error(
        `--k must lie between --beam-size (${opts.beamSize}) and the model's ` +
          `${numClasses} output classes, got ${opts.k}`,
      );
    }
    const eos = config.eos_token_id;
    const output = tokenizer
      ? new TextOutput(tokenizer, eos, write)
      : new TokenIdOutput(eos, write);
    const inputIds = tf.tensor2d([promptIds], undefined, "int32");
    let generated: GenerateOutput;
    try {
      generated = await generate(model, inputIds, {
        maxSteps: opts.maxSteps,
        beamSize: opts.beamSize,
        minSteps: opts.minSteps,
        sampler,
        constraints: opts.noRepeatNgramSize > 0
          ? [new RepeatedNGramBlockingConstraint(opts.noRepeatNgramSize)]
          : [],
        finalSequenceScorer: opts.lengthPenalty === undefined
          ? undefined
          : new LengthNormalizedSequenceLogProbabilityScorer(opts.lengthPenalty),
        // With one beam every chosen token is final, so it can be printed at once.
        onPredictions: opts.beamSize === 1 ? (classes) => output.push(classes.data[0]) : undefined,
      });
    } finally {
      inputIds.dispose();
    }
    const best = ((await generated.tokenIds.array()) as number[][][])[0][0];
    tf.dispose([generated.tokenIds, generated.scores]);
    if (opts.beamSize === 1) output.end();
    else output.all(best);
  } finally {
    model.dispose();
  }
}

/** Prints generated tokens as text: streamed (`push` each, then `end`) or at once (`all`). */
class TextOutput {
  readonly #decoder: IncrementalDecoder;
  #ended = false;

  constructor(
    readonly tokenizer: Tokenizer,
    readonly eos: number,
    readonly write: (text: string) => void,
  ) {
    this.#decoder = new IncrementalDecoder((ids) => tokenizer.decode(ids));
  }

  /** Writes the text a new token completes; nothing from EOS on. */
  push(id: number): void {
    if (id === this.eos) this.#ended = true;
    if (!this.#ended) this.write(this.#decoder.push(id));
  }

  /** Writes the held-back rest and the final newline. */
  end(): void {
    this.write(this.#decoder.flush() + "\n");
  }

  /** Writes a whole sequence, decoded up to its first EOS, and a newline. */
  all(ids: number[]): void {
    const end = ids.indexOf(this.eos);
    this.write(this.tokenizer.decode(end >= 0 ? ids.slice(0, end) : ids) + "\n");
  }
}

/** Prints generated tokens as space-separated ids, up to and including the first EOS. */
class TokenIdOutput {
  #count = 0;
  #ended = false;

  constructor(readonly eos: number, readonly write: (text: string) => void) {}

  /** Writes one id (nothing after EOS). */
  push(id: number): void {
    if (this.#ended) return;
    this.write(this.#count++ === 0 ? `${id}` : ` ${id}`);
    this.#ended = id === this.eos;
  }

  /** Writes the final newline. */
  end(): void {
    this.write("\n");
  }

  /** Writes a whole sequence up to and including its first EOS, and a newline. */
  all(ids: number[]): void {
    const end = ids.indexOf(this.eos);
    this.write((end >= 0 ? ids.slice(0, end + 1) : ids).join(" ") + "\n");
  }
}

/**
 * The tokenizer of a checkpoint folder or URL: its `tokenizer.json` when it has one (downloaded
 * into the cache for URLs), else `tokenizer.identifier` of its `config.yaml`.
 * @throws Error naming the checkpoint and pointing at `--token-ids` when there is none usable.
 */
async function checkpointTokenizer(pathOrUrl: string): Promise<Tokenizer> {
  try {
    const configPath = await resolveResource(pathOrUrl, "config.yaml");
    try {
      await resolveResource(pathOrUrl, "tokenizer.json");
    } catch (e) {
      if (!(e instanceof ResourceNotFoundError)) throw e;
    }
    return await Tokenizer.fromCheckpoint(dirname(configPath));
  } catch (e) {
    throw new Error(
      `cannot load the tokenizer of ${pathOrUrl}: ${(e as Error).message}\n` +
        "To generate without a tokenizer, give the prompt as token ids with --token-ids.",
    );
  }
}

/** Writes all of `text` to stdout. */
function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function main(): Promise<number> {
  let opts: GenerateCliOptions | null;
  try {
    opts = await parseGenerateArgs(Deno.args);
  } catch (error) {
    console.error(`generate: ${(error as Error).message}`);
    return 2;
  }
  if (opts === null) return 0; // --help was printed
  tf.env().set("PROD", true); // no cpu-backend banner, no debug checks
  try {
    await runGenerate(opts, writeStdout);
  } catch (error) {
    console.error(`generate: ${(error as Error).message}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
