/**
 * The data pipeline: OLMo token files, `MemMapDataset`, the deterministic `IterableDataset`
 * (numpy-compatible PCG64 shuffle), `DataCollator`, `prepareData`, the embedded Brown corpus and
 * its config resolvers, and step → instance inspection.
 *
 * @module
 */
export type { TokenDType } from "./token_file.ts";
export {
  bytesPerToken,
  parseTokenDType,
  TOKEN_DTYPES,
  tokenDTypeForVocab,
  tokenFileLength,
  TokenFileReader,
  TokenFileWriter,
} from "./token_file.ts";
export type {
  DataPathsConfig,
  InstanceMetadata,
  MemMapDatasetOptions,
  MemMapInstance,
} from "./memmap_dataset.ts";
export { MemMapDataset, memMapDatasetFromDataConfig } from "./memmap_dataset.ts";
export { MissingTokenDataError } from "./errors.ts";
export type { MissingTokenDataErrorOptions } from "./errors.ts";
export { numpyPermutation, numpyShuffle, PCG64, seedSequenceState } from "./pcg64.ts";
export type { IndexedDataset, IterableDatasetOptions, WithIndex } from "./iterable_dataset.ts";
export {
  buildGlobalIndices,
  GLOBAL_INDICES_FILE,
  IterableDataset,
  readGlobalIndices,
  shardSizes,
  writeGlobalIndices,
} from "./iterable_dataset.ts";
export type {
  AttentionBiasInput,
  CollatedBatch,
  CollatorItem,
  PaddingDirection,
} from "./collator.ts";
export { DataCollator } from "./collator.ts";
export type {
  BadLine,
  InputLine,
  ReadDocumentsOptions,
  SourceDocument,
  TextUnit,
} from "./text_sources.ts";
export { inputFormat, listInputFiles, readDocuments, readLines } from "./text_sources.ts";
export type { PrepareDataOptions, PrepareDataResult, PreparedSource } from "./prepare.ts";
export { prepareData } from "./prepare.ts";
export type { ProgressCounts, ProgressReporter } from "./progress.ts";
export { createProgress, SILENT_PROGRESS } from "./progress.ts";
export { TokenizePool } from "./tokenize_pool.ts";
export type { BrownDocument } from "./brown.ts";
export { brownSampleToText, detokenize, readBrownDocuments } from "./brown.ts";
export type { CorpusManifest, CorpusSplit, EnsureCorpusOptions, PreparedCorpus } from "./corpus.ts";
export {
  BROWN_VOCAB_SIZE,
  CORPUS_NAMES,
  corpusDir,
  ensureCorpus,
  loadPreparedCorpus,
} from "./corpus.ts";
export { corpusResolvers, registerCorpusResolvers } from "./corpus_resolvers.ts";
export type { RankInstances, StepInstances } from "./inspect.ts";
export { globalIndicesForRun, instancesForStep } from "./inspect.ts";
