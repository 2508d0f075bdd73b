/**
 * olmo-ts: pretrain, checkpoint, evaluate and sample from OLMo-architecture language models on
 * TensorFlow.js. This module re-exports the public API.
 *
 * @module
 */
export type { HostDType, HostTensor, NamedHostTensors } from "./lib/util/host_tensor.ts";
export {
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "./lib/checkpoint/formats/safetensors.ts";
export {
  loadModelCheckpoint,
  readTorchStateDict,
  resolveResource,
  ResourceNotFoundError,
  writeTorchStateDict,
} from "./lib/checkpoint/mod.ts";
export type { LoadModelCheckpointOptions, ModelCheckpoint } from "./lib/checkpoint/mod.ts";
export {
  activeBackend,
  BACKEND_NAMES,
  blasLibraryAvailable,
  checkWasmMemory,
  embedding,
  initBackend,
  setWasmMemoryLimit,
} from "./lib/backend/mod.ts";
export type { BackendName, InitBackendOptions } from "./lib/backend/mod.ts";
export type {
  CompilerConfig,
  DataConfig,
  EvaluatorConfig,
  FSDPConfig,
  LoadOptions,
  ModelConfig,
  OptimizerConfig,
  ResolverContext,
  ResolverFn,
  SchedulerConfig,
  SpeedMonitorConfig,
  TokenizerConfig,
  TrainConfig,
  WandbConfig,
} from "./lib/config/mod.ts";
export {
  ConfigError,
  defaultModelConfig,
  defaultTrainConfig,
  deriveTrainConfig,
  loadConfigSection,
  loadTrainConfig,
  parseTrainArgs,
  registerResolver,
  saveTrainConfig,
  tfjsCompatibilityWarnings,
  trainConfigFromObject,
} from "./lib/config/mod.ts";
export {
  BeamSearch,
  benchGenerate,
  Constraint,
  DeterministicSampler,
  generate,
  GumbelSampler,
  IncrementalDecoder,
  LengthNormalizedSequenceLogProbabilityScorer,
  MultinomialSampler,
  RepeatedNGramBlockingConstraint,
  Sampler,
  SequenceLogProbabilityScorer,
  TopKSampler,
  TopPSampler,
} from "./lib/generate/mod.ts";
export type {
  BeamSearchOptions,
  BeamSearchResult,
  BeamSearchState,
  BenchGenerateOptions,
  BenchGenerateResult,
  FinalSequenceScorer,
  GenerateOptions,
  GenerateOutput,
  GenerationModel,
  StepFunction,
} from "./lib/generate/mod.ts";
export {
  countParams,
  makeStateDictCompatible,
  numFwdFlops,
  Olmo,
  parameterSpecs,
  Rng,
  trainFlopsPerToken,
  validateModelConfig,
} from "./lib/model/mod.ts";
export type {
  ForwardOptions,
  KeyValue,
  OlmoOptions,
  OlmoOutput,
  OutputHead,
  ParamSpec,
} from "./lib/model/mod.ts";
export {
  benchDataLoader,
  benchTraining,
  formatReport,
  measureMatmulCeiling,
  profileKernels,
  PYTORCH_REFERENCE,
  runBenchSuite,
  toJsonLine,
} from "./lib/bench/mod.ts";
export type {
  BenchRecord,
  BenchSuiteOptions,
  KernelProfile,
  MatmulCeiling,
  TrainBenchResult,
} from "./lib/bench/mod.ts";
export {
  BoltOnWarmupScheduler,
  buildParamGroups,
  buildScheduler,
  classifyParam,
  CosWithWarmup,
  createOptimizer,
  InvSqrtWithWarmup,
  LinearWithWarmup,
  MaxScheduler,
  Optimizer,
} from "./lib/optim/mod.ts";
export type {
  ClipResult,
  CreateOptimizerOptions,
  OptimizerSettings,
  OptimizerStateDict,
  ParamGroup,
  Scheduler,
  SchedulerSettings,
} from "./lib/optim/mod.ts";
export {
  CheckpointManager,
  CONVERT_TARGETS,
  convertCheckpoint,
  defaultUnshardedDir,
  detectCheckpointLayout,
  findLatestCheckpoint,
  loadCheckpoint,
  readCheckpointForConversion,
  readShardedCheckpoint,
  shardStateDicts,
  unshardCheckpoint,
  unshardRankShards,
} from "./lib/checkpoint/mod.ts";
export type {
  CheckpointForConversion,
  CheckpointLayout,
  CheckpointManagerOptions,
  ConvertOptions,
  ConvertResult,
  ConvertTarget,
  JoinedShardedCheckpoint,
  LoadCheckpointOptions,
  LoadedCheckpoint,
  RankShard,
  ReadShardedOptions,
  ShardedSaveContents,
  TrainerState,
  UnshardedContents,
} from "./lib/checkpoint/mod.ts";
export {
  allGatherFlat,
  benchCollectives,
  flatLayout,
  initWorld,
  MpiCommunicator,
  rankPrefix,
  reduceScatterFlat,
  shardSegments,
  SingleProcessWorld,
  ZeroDataParallel,
} from "./lib/distributed/mod.ts";
export type {
  CollectiveBenchResult,
  Communicator,
  FlatLayout,
  FlatParam,
  FloatArray,
  InitWorldOptions,
  ShardRange,
  ShardSegment,
  ZeroSettings,
} from "./lib/distributed/mod.ts";
export {
  ByteLevelBpeTrainer,
  checkVocabSize,
  olmoCacheDir,
  resolveTokenizerFile,
  Tokenizer,
} from "./lib/tokenizer/mod.ts";
export type {
  BpeTrainerOptions,
  TokenizerOptions,
  TruncationDirection,
} from "./lib/tokenizer/mod.ts";
export {
  buildGlobalIndices,
  DataCollator,
  ensureCorpus,
  globalIndicesForRun,
  instancesForStep,
  IterableDataset,
  MemMapDataset,
  memMapDatasetFromDataConfig,
  numpyPermutation,
  prepareData,
  readGlobalIndices,
  registerCorpusResolvers,
  TokenFileReader,
  TokenFileWriter,
} from "./lib/data/mod.ts";
export type {
  CollatedBatch,
  CollatorItem,
  CorpusManifest,
  IterableDatasetOptions,
  MemMapDatasetOptions,
  MemMapInstance,
  PaddingDirection,
  PrepareDataOptions,
  PrepareDataResult,
  PreparedCorpus,
  TokenDType,
} from "./lib/data/mod.ts";
export {
  buildEvaluators,
  LmEvaluator,
  lmTrainingLoss,
  lossCurveSvg,
  MetricsSink,
  NonFiniteLossError,
  perSequenceEvalLoss,
  readDataIndices,
  readMetricsFile,
  runTraining,
  runTrainStep,
  Trainer,
} from "./lib/train/mod.ts";
export type {
  DataIndicesRecord,
  FitResult,
  RunTrainingOptions,
  RunTrainingResult,
  Series,
  StopReason,
  TrainerOptions,
  TrainStepResult,
} from "./lib/train/mod.ts";
