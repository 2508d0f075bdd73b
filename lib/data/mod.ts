/**
 * The data pipeline: OLMo token files, `MemMapDataset`, the deterministic `IterableDataset`
 * (numpy-compatible PCG64 shuffle), `DataCollator`, `prepareData`, the embedded Brown corpus and
 * its config resolvers, and step → instance inspection.
 *
 * @module
 */
export type { TokenDType } from "./token_file.ts";
export {
  parseTokenDType,
  tokenDTypeForVocab,
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
  GLOBAL_INDICES_FILE,
  IterableDataset,
  readGlobalIndices,
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
export { listInputFiles, readDocuments, readLines } from "./text_sources.ts";
export type { PrepareDataOptions, PrepareDataResult, PreparedSource } from "./prepare.ts";
export { prepareData } from "./prepare.ts";
export type { ProgressCounts, ProgressReporter } from "./progress.ts";
export { createProgress } from "./progress.ts";

export type { BrownDocument } from "./brown.ts";
export { brownSampleToText, detokenize } from "./brown.ts";
export type { CorpusManifest, CorpusSplit, EnsureCorpusOptions, PreparedCorpus } from "./corpus.ts";
export { corpusDir, ensureCorpus, loadPreparedCorpus } from "./corpus.ts";
export { corpusResolvers, registerCorpusResolvers } from "./corpus_resolvers.ts";
export type { RankInstances, StepInstances } from "./inspect.ts";
export { globalIndicesForRun, instancesForStep } from "./inspect.ts";
