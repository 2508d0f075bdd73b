/**
 * Continuing a prompt with a checkpoint, as `deno task generate` does, for any caller (the
 * command, a notebook): the sampler named by its options, the checks of the prompt against the
 * model, and the continuation written as text (through the checkpoint's tokenizer) or as token
 * ids, streamed token by token when there is one beam.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname } from "node:path";
import type { BackendName } from "../backend/init.ts";
import { resolveResource, ResourceNotFoundError } from "../checkpoint/remote.ts";
import { hfTransformersFolder } from "../checkpoint/hf_transformers/locate.ts";
import { RepeatedNGramBlockingConstraint } from "../generate/constraints.ts";
import { generate, type GenerateOutput } from "../generate/generate.ts";
import {
  DeterministicSampler,
  GumbelSampler,
  MultinomialSampler,
  type Sampler,
  TopKSampler,
  TopPSampler,
} from "../generate/samplers.ts";
import { LengthNormalizedSequenceLogProbabilityScorer } from "../generate/scorers.ts";
import { IncrementalDecoder } from "../generate/text_stream.ts";
import { Rng } from "../model/random.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { Olmo } from "./olmo.ts";

/** The sampler names of {@link GenerateTextOptions.sampler} (`--sampler`). */
export const SAMPLER_NAMES = ["greedy", "multinomial", "top-k", "top-p", "gumbel"] as const;
/** A sampler name. */
export type SamplerName = typeof SAMPLER_NAMES[number];

/** What to generate from which checkpoint, and how (the options of `deno task generate`). */
export interface GenerateTextOptions {
  /** Checkpoint folder or URL. */
  checkpoint: string;
  /** The prompt text (the raw argument, also with `tokenIds`). */
  prompt: string;
  /** The prompt as token ids (ids in and out, no tokenizer), else null. */
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
  /** tfjs backend to initialise. */
  backend: BackendName;
}

/** The sampler the options name (throws for an invalid `p`). */
export function buildSampler(opts: GenerateTextOptions): Sampler {
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
 * up to EOS, or with `tokenIds` the token ids up to and including EOS, separated by spaces.
 * With beam size 1 (greedy or sampling) it writes each token as soon as it is generated.
 * @throws Error for a prompt outside the vocabulary or too long for the model, or a `k` outside
 *   [beam size, output classes].
 *
 * @example Top-p sampling, streamed to the console
 * ```ts
 * import { generateText } from "../../mod.ts";
 *
 * await generateText({
 *   checkpoint: "runs/quickstart-brown/latest-unsharded",
 *   prompt: "The jury said",
 *   tokenIds: null,
 *   beamSize: 1,
 *   maxSteps: 30,
 *   minSteps: 0,
 *   sampler: "top-p",
 *   p: 0.9,
 *   k: 50,
 *   temperature: 0.8,
 *   seed: 1,
 *   noRepeatNgramSize: 0,
 *   backend: "auto",
 * }, (text) => console.log(text));
 * ```
 */
export async function generateText(
  opts: GenerateTextOptions,
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
 * into the cache for URLs), else `tokenizer.identifier` of its `config.yaml`. A transformers
 * OLMo folder (or cached Hub id) uses its own `tokenizer.json`.
 * @throws Error naming the checkpoint, followed by `hint` (default: pointing at `--token-ids`),
 * when there is none usable.
 */
export async function checkpointTokenizer(
  pathOrUrl: string,
  hint = "To generate without a tokenizer, give the prompt as token ids with --token-ids.",
): Promise<Tokenizer> {
  try {
    if ((await hfTransformersFolder(pathOrUrl)) !== null) {
      return await Tokenizer.fromCheckpoint(pathOrUrl);
    }
    const configPath = await resolveResource(pathOrUrl, "config.yaml");
    try {
      await resolveResource(pathOrUrl, "tokenizer.json");
    } catch (e) {
      if (!(e instanceof ResourceNotFoundError)) throw e;
    }
    return await Tokenizer.fromCheckpoint(dirname(configPath));
  } catch (e) {
    throw new Error(
      `cannot load the tokenizer of ${pathOrUrl}: ${(e as Error).message}\n${hint}`,
    );
  }
}
