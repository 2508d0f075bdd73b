/**
 * olmo-ts: pretrain, checkpoint, evaluate and sample from OLMo-architecture language models on
 * TensorFlow.js, with OLMo's configs, parameter names, checkpoints and `generate`.
 *
 * The root exports what a user of the model, tokenizer, trainer, generation and checkpoints
 * needs. Everything else is published per folder: `@olmo-ts/olmo-ts/model`, `/train`,
 * `/checkpoint`, `/distributed`, `/data`, `/generate`, `/tokenizer`, `/config`, `/optim`,
 * `/backend`, `/bench`, `/command` and `/eval`.
 *
 * @example Train a tiny model, then sample from its last checkpoint
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { corpusResolvers, loadTrainConfig, Olmo, runTraining, Tokenizer } from "./mod.ts";
 *
 * const cfg = await loadTrainConfig("configs/quickstart-brown.yaml", {
 *   overrides: ["max_duration=20", "save_folder=runs/tiny", "save_overwrite=true"],
 *   resolvers: corpusResolvers(), // `${corpus.tokens:brown,train}` in the config
 * });
 * await runTraining(cfg); // starts the config's backend
 * const model = await Olmo.fromCheckpoint("runs/tiny/latest-unsharded");
 * const tokenizer = await Tokenizer.fromCheckpoint("runs/tiny/latest-unsharded");
 * const ids = tokenizer.encode("The jury said", { addSpecialTokens: false });
 * const out = await model.generate(tf.tensor2d([ids], undefined, "int32"), { maxSteps: 10 });
 * console.log(tokenizer.decode((await out.tokenIds.array())[0][0]));
 * ```
 *
 * @module
 */

// The model, loading and the generate convenience.
export { Olmo } from "./lib/facade/mod.ts";
export type { FromCheckpointOptions } from "./lib/facade/mod.ts";
export type { ForwardOptions, KeyValue, OlmoOptions, OlmoOutput } from "./lib/model/mod.ts";
export { Rng } from "./lib/model/mod.ts";

// Backends.
export { activeBackend, initBackend } from "./lib/backend/mod.ts";
export type { BackendName } from "./lib/backend/mod.ts";

// Configs.
export {
  ConfigError,
  defaultModelConfig,
  defaultTrainConfig,
  loadTrainConfig,
  saveTrainConfig,
  trainConfigFromObject,
} from "./lib/config/mod.ts";
export type { LoadOptions, ModelConfig, TrainConfig } from "./lib/config/mod.ts";

// Tokenizers.
export { Tokenizer } from "./lib/tokenizer/mod.ts";
export type { TokenizerOptions } from "./lib/tokenizer/mod.ts";

// Training.
export { lossCurveSvg, readMetricsFile, runTraining } from "./lib/train/mod.ts";
export type { RunTrainingOptions, RunTrainingResult, Series } from "./lib/train/mod.ts";

// Data.
export {
  corpusResolvers,
  ensureCorpus,
  globalIndicesForRun,
  instancesForStep,
  memMapDatasetFromDataConfig,
  prepareData,
  registerCorpusResolvers,
  TokenFileReader,
} from "./lib/data/mod.ts";
export type { PrepareDataOptions, PrepareDataResult } from "./lib/data/mod.ts";

// Generation.
export {
  BeamSearch,
  DeterministicSampler,
  GumbelSampler,
  LengthNormalizedSequenceLogProbabilityScorer,
  MultinomialSampler,
  RepeatedNGramBlockingConstraint,
  Sampler,
  TopKSampler,
  TopPSampler,
} from "./lib/generate/mod.ts";
export type { GenerateOptions, GenerateOutput } from "./lib/generate/mod.ts";
export { generateText } from "./lib/facade/mod.ts";
export type { GenerateTextOptions } from "./lib/facade/mod.ts";

// Checkpoints.
export {
  convertCheckpoint,
  readSafetensors,
  readTorchStateDict,
  unshardCheckpoint,
  writeSafetensors,
} from "./lib/checkpoint/mod.ts";
export type { ConvertOptions, ConvertResult } from "./lib/checkpoint/mod.ts";
export type { HostTensor, NamedHostTensors } from "./lib/util/mod.ts";

// Downstream evaluation (OLMo's multiple-choice tasks).
export {
  DownstreamEvaluator,
  loadTaskRequests,
  selectTask,
  TASK_LABELS,
  TASKS,
} from "./lib/eval/mod.ts";
export type { MetricValue, TaskSpec } from "./lib/eval/mod.ts";
