/**
 * The messages between the playground page and its model worker (`playground_worker.ts`).
 *
 * @module
 */

/** Which weights to load: a served checkpoint (URLs) or files dropped into the page. */
export type CheckpointSource =
  | {
    kind: "served";
    /** Label shown in messages. */
    label: string;
    /** URL of `config.yaml`. */
    configUrl: string;
    /** URL of `model.safetensors` or `model.pt`. */
    weightsUrl: string;
    /** URL of the tokenizer.json, or null to work in token ids. */
    tokenizerUrl: string | null;
  }
  | {
    kind: "files";
    /** Label shown in messages. */
    label: string;
    /** The `config.yaml`. */
    config: File;
    /** `model.safetensors` or `model.pt`. */
    weights: File;
    /** A `tokenizer.json`, or null to work in token ids. */
    tokenizer: File | null;
  };

/** The samplers the page offers (`beam` is beam search with the deterministic sampler). */
export type SamplerChoice = "greedy" | "top-k" | "top-p" | "beam";

/** Generation settings from the page's controls. */
export interface GenerationSettings {
  /** The prompt text, or token ids separated by spaces/commas when `tokenIds`. */
  prompt: string;
  /** Whether `prompt` is token ids (and the output is shown as ids). */
  tokenIds: boolean;
  /** Sampler. */
  sampler: SamplerChoice;
  /** Temperature of top-k/top-p. */
  temperature: number;
  /** k of top-k. */
  k: number;
  /** p of top-p. */
  p: number;
  /** Beam width of `beam`. */
  beamSize: number;
  /** Maximum new tokens. */
  maxTokens: number;
  /** Sampler seed. */
  seed: number;
}

/** Page → worker. */
export type ToWorker =
  | { type: "load"; source: CheckpointSource; backend: string | null }
  | {
    type: "generate";
    settings: GenerationSettings;
    /**
     * A shared flag the page sets to 1 to stop (read between tokens even while the worker never
     * yields to its event loop); null where the page is not cross-origin isolated, and then the
     * `stop` message is used.
     */
    stopFlag: Int32Array | null;
  }
  | { type: "distribution"; settings: GenerationSettings }
  | { type: "stop" };

/** One entry of the next-token distribution. */
export interface NextToken {
  /** Token id. */
  id: number;
  /** Its text (or `#id` without a tokenizer). */
  token: string;
  /** Probability. */
  probability: number;
}

/** Worker → page. */
export type FromWorker =
  | { type: "backend"; name: string }
  | { type: "progress"; what: string; loaded: number; total: number }
  | {
    type: "loaded";
    label: string;
    weightsFile: string;
    numParams: number;
    tokenizer: boolean;
    vocabSize: number;
  }
  | { type: "token"; id: number; text: string; count: number; tokensPerSecond: number }
  | {
    type: "done";
    tokenIds: number[];
    text: string;
    stopped: boolean;
    tokensPerSecond: number;
    /** tfjs tensors alive in the worker afterwards (the model's parameters, unless one leaked). */
    liveTensors: number;
  }
  | { type: "distribution"; entries: NextToken[] }
  | { type: "error"; message: string };
