/**
 * The playground's model worker: loads a checkpoint (config, safetensors or `model.pt`, optional
 * tokenizer) on the browser's tfjs backend and runs `generate` off the page's thread, posting
 * each token as it is chosen. Protocol: `worker_protocol.ts`.
 *
 * @module
 */
/// <reference lib="webworker" />
import * as tf from "@tensorflow/tfjs";
import { parseSafetensors } from "../lib/checkpoint/formats/safetensors_format.ts";
import { readTorchArchive, torchStateDictOf } from "../lib/checkpoint/formats/torch_pt_read.ts";
import { generate } from "../lib/generate/generate.ts";
import {
  DeterministicSampler,
  type Sampler,
  TopKSampler,
  TopPSampler,
} from "../lib/generate/samplers.ts";
import { IncrementalDecoder } from "../lib/generate/text_stream.ts";
import { Olmo } from "../lib/model/olmo.ts";
import { Rng } from "../lib/model/random.ts";
import { JsonTokenizer } from "../lib/tokenizer/json_tokenizer.ts";
import { bytesSource } from "../lib/util/byte_source.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";
import { startBrowserBackend } from "./backend_choice.ts";
import { modelConfigFromYaml } from "./model_config_yaml.ts";
import { fetchBytes, fetchText, readBlob } from "./read_progress.ts";
import { parseTokenIds } from "./token_ids.ts";
import type {
  CheckpointSource,
  FromWorker,
  GenerationSettings,
  NextToken,
  ToWorker,
} from "./worker_protocol.ts";

declare const self: DedicatedWorkerGlobalScope;

/** Thrown from the per-token callback to end a generation early. */
class StopRequested extends Error {}

let model: Olmo | null = null;
let tokenizer: JsonTokenizer | null = null;
let backend: string | null = null;
let stopRequested = false;

function post(message: FromWorker): void {
  self.postMessage(message);
}

async function readWeights(
  source: CheckpointSource,
): Promise<{ name: string; state: NamedHostTensors }> {
  const name = source.kind === "served"
    ? decodeURIComponent(source.weightsUrl.split("/").pop() ?? "")
    : source.weights.name;
  const onProgress = (loaded: number, total: number) =>
    post({ type: "progress", what: name, loaded, total });
  const bytes = source.kind === "served"
    ? await fetchBytes(source.weightsUrl, onProgress)
    : await readBlob(source.weights, onProgress);
  const label = `${source.label}/${name}`;
  if (name.endsWith(".safetensors")) return { name, state: parseSafetensors(bytes, label).tensors };
  if (name.endsWith(".pt")) {
    return {
      name,
      state: torchStateDictOf(await readTorchArchive(bytesSource(bytes, label), label), label),
    };
  }
  throw new Error(`${label}: expected model.safetensors or model.pt`);
}

async function load(source: CheckpointSource, only: string | null): Promise<void> {
  if (backend === null) {
    backend = await startBrowserBackend(only);
    post({ type: "backend", name: backend });
  }
  const configText = source.kind === "served"
    ? await fetchText(source.configUrl)
    : await source.config.text();
  const config = modelConfigFromYaml(configText, `${source.label}/config.yaml`);
  let tokenizerJson: string | null = null;
  if (source.kind === "served" && source.tokenizerUrl) {
    tokenizerJson = await fetchText(source.tokenizerUrl);
  }
  if (source.kind === "files" && source.tokenizer) tokenizerJson = await source.tokenizer.text();
  const nextTokenizer = tokenizerJson === null ? null : new JsonTokenizer(tokenizerJson, {
    eosTokenId: config.eos_token_id,
    padTokenId: config.pad_token_id,
  }, `${source.label}/tokenizer.json`);
  const { name, state } = await readWeights(source);
  const next = new Olmo(config, { init: false });
  try {
    next.loadStateDict(state);
  } catch (e) {
    next.dispose();
    throw new Error(`${source.label}/${name}: ${(e as Error).message}`);
  }
  model?.dispose();
  model = next;
  tokenizer = nextTokenizer;
  post({
    type: "loaded",
    label: source.label,
    weightsFile: name,
    numParams: next.numParams(),
    tokenizer: tokenizer !== null,
    vocabSize: config.vocab_size,
  });
}

function promptIds(settings: GenerationSettings, current: Olmo): number[] {
  let ids: number[];
  if (settings.tokenIds) ids = parseTokenIds(settings.prompt);
  else if (tokenizer) ids = tokenizer.encode(settings.prompt, { addSpecialTokens: false });
  else throw new Error("this checkpoint has no tokenizer: give the prompt as token ids");
  if (ids.length === 0) throw new Error("the prompt encodes to no tokens");
  const outside = ids.find((id) => id >= current.config.vocab_size);
  if (outside !== undefined) {
    throw new Error(
      `prompt token id ${outside} is outside the model's vocabulary (vocab_size ${current.config.vocab_size})`,
    );
  }
  return ids;
}

/**
 * Checks the page's numbers before any work, as `deno task generate` checks its options.
 * @throws Error naming the control and the value expected.
 */
function checkSettings(settings: GenerationSettings, current: Olmo, promptLength: number): void {
  const int = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`${name} must be an integer ≥ ${min}, got ${value}`);
    }
  };
  int("max tokens", settings.maxTokens, 1);
  int("seed", settings.seed, 0);
  const { config } = current;
  const numClasses = config.embedding_size ?? config.vocab_size;
  if (settings.sampler === "beam") int("beams", settings.beamSize, 1);
  if (settings.sampler === "top-k" || settings.sampler === "top-p") {
    if (!(settings.temperature > 0)) {
      throw new Error(`temperature must be > 0, got ${settings.temperature}`);
    }
  }
  if (settings.sampler === "top-k") {
    int("k", settings.k, 1);
    if (settings.k > numClasses) {
      throw new Error(
        `k must be at most the model's ${numClasses} output classes, got ${settings.k}`,
      );
    }
  }
  if (settings.sampler === "top-p" && !(settings.p > 0 && settings.p <= 1)) {
    throw new Error(`p must lie in (0, 1], got ${settings.p}`);
  }
  const absolutePositions = !config.alibi && !config.rope;
  if (absolutePositions && promptLength + settings.maxTokens > config.max_sequence_length) {
    throw new Error(
      `the prompt (${promptLength} tokens) plus max tokens ${settings.maxTokens} exceeds ` +
        `max_sequence_length ${config.max_sequence_length} of this absolute-position model`,
    );
  }
}

function sampler(settings: GenerationSettings): Sampler {
  const rng = new Rng(settings.seed);
  const { temperature } = settings;
  switch (settings.sampler) {
    case "greedy":
    case "beam":
      return new DeterministicSampler();
    case "top-k":
      return new TopKSampler({ k: settings.k, temperature, rng });
    case "top-p":
      return new TopPSampler({ p: settings.p, temperature, rng });
  }
}

function tokenText(id: number): string {
  return tokenizer ? tokenizer.decode([id], { skipSpecialTokens: false }) : `#${id}`;
}

async function run(settings: GenerationSettings, stopFlag: Int32Array | null): Promise<void> {
  const current = model;
  if (!current) throw new Error("load a checkpoint first");
  const ids = promptIds(settings, current);
  checkSettings(settings, current, ids.length);
  const eos = current.config.eos_token_id;
  const beamSize = settings.sampler === "beam" ? settings.beamSize : 1;
  const decoder = tokenizer ? new IncrementalDecoder((t) => tokenizer!.decode(t)) : null;
  const streamed: number[] = [];
  let text = "";
  let firstTokenAt = 0;
  let ended = false;
  const rate = () => {
    const seconds = (performance.now() - firstTokenAt) / 1000;
    return streamed.length > 1 && seconds > 0 ? (streamed.length - 1) / seconds : 0;
  };
  stopRequested = false;
  let stopped = false;
  let best: number[] = [];
  // A stop throws out of the search midway, past the code that frees its key/value cache: every
  // tensor made from here on is freed when the scope ends (nothing else runs meanwhile).
  tf.engine().startScope();
  try {
    const inputIds = tf.tensor2d([ids], undefined, "int32"); // (1, S)
    const out = await generate(current, inputIds, {
      maxSteps: settings.maxTokens,
      beamSize,
      sampler: sampler(settings),
      onPredictions: (classes) => {
        if (stopRequested || (stopFlag && Atomics.load(stopFlag, 0) === 1)) {
          throw new StopRequested("stopped");
        }
        if (beamSize !== 1 || ended) return;
        const id = classes.data[0];
        if (streamed.length === 0) firstTokenAt = performance.now();
        streamed.push(id);
        ended = id === eos;
        const piece = decoder
          ? (ended ? "" : decoder.push(id))
          : `${streamed.length > 1 ? " " : ""}${id}`;
        text += piece;
        post({ type: "token", id, text: piece, count: streamed.length, tokensPerSecond: rate() });
      },
    });
    best = ((await out.tokenIds.array()) as number[][][])[0][0]; // out.tokenIds: (1, beam, T)
  } catch (e) {
    if (!(e instanceof StopRequested)) throw e;
    stopped = true;
    best = streamed;
  } finally {
    tf.engine().endScope();
  }
  const end = best.indexOf(eos);
  // As `deno task generate`: ids up to and including EOS; text up to EOS.
  const tokenIds = end >= 0 ? best.slice(0, end + 1) : best;
  if (decoder && beamSize === 1) text += decoder.flush();
  else if (tokenizer) text = tokenizer.decode(end >= 0 ? best.slice(0, end) : best);
  else text = tokenIds.join(" ");
  post({
    type: "done",
    tokenIds,
    text,
    stopped,
    tokensPerSecond: rate(),
    liveTensors: tf.memory().numTensors,
  });
}

async function distribution(settings: GenerationSettings): Promise<void> {
  const current = model;
  if (!current) throw new Error("load a checkpoint first");
  const ids = promptIds(settings, current);
  const inputIds = tf.tensor2d([ids], undefined, "int32");
  const { logits } = current.forward(inputIds, { lastLogitsOnly: true }); // (1, 1, E)
  const top = tf.tidy(() => tf.topk(tf.softmax(tf.reshape(logits, [-1])), 10));
  const [values, indices] = await Promise.all([top.values.data(), top.indices.data()]);
  tf.dispose([inputIds, logits, top.values, top.indices]);
  const entries: NextToken[] = Array.from(indices, (id, i) => ({
    id,
    token: tokenText(id),
    probability: values[i],
  }));
  post({ type: "distribution", entries });
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    switch (message.type) {
      case "load":
        return await load(message.source, message.backend);
      case "generate":
        return await run(message.settings, message.stopFlag);
      case "distribution":
        return await distribution(message.settings);
      case "stop":
        stopRequested = true;
        return;
    }
  } catch (e) {
    post({ type: "error", message: (e as Error).message });
  }
};
