/**
 * Downstream evaluation: OLMo's zero-shot multiple-choice tasks (`olmo/eval/downstream.py`,
 * late 2023) on local data files, in-loop (`downstream` evaluators at `eval_interval`) and
 * offline (`deno task eval`).
 *
 * - `tasks.ts`, `documents.ts`: the 13 tasks (`piqa`, `hellaswag`, `winogrande`, `openbook_qa`, `boolq`,
 *   `sciq`, `arc_easy`, `arc_challenge`, `copa`, `rte`, `commitment_bank`, `mrpc`, `sst2`) and
 *   `custom`: prompts, answers, metric types, Hub sources.
 * - `task_files.ts`, `select.ts`: where a task's `validation` split is read from (parquet as the
 *   Hub stores it, or JSON lines) under `hf_datasets_cache_dir` / `$OLMO_HF_DATASETS_CACHE_DIR`.
 * - `requests.ts`: tokenisation into (context, continuation) requests, left truncation to the
 *   context window, counted skips.
 * - `scoring.ts`, `metric.ts`: continuation log-likelihoods from batched forward passes, and
 *   `acc`, `len_norm`, `pmi_dc`, `f1` as OLMo's `ICLMetric` computes them.
 * - `rank_split.ts`, `downstream_evaluator.ts`: the requests split over ranks as
 *   `DistributedSampler` splits them, gathered so any world size gives the same numbers.
 * - `from_config.ts`: an evaluator from a `TrainConfig` evaluator entry.
 *
 * @module
 */
export {
  DownstreamEvaluator,
  type DownstreamEvaluatorOptions,
  type DownstreamWorld,
  type LoadTaskOptions,
  loadTaskRequests,
} from "./downstream_evaluator.ts";
export { describeSkipped, downstreamEvaluatorFromConfig } from "./from_config.ts";
export { binaryF1, computeMetric, type MetricValue, type RequestScore } from "./metric.ts";
export { distributedSplit, rankPositions, type RankSplit } from "./rank_split.ts";
export {
  type EncodeText,
  type McRequest,
  type SkippedDocument,
  type TaskRequests,
} from "./requests.ts";
export { continuationLogLikelihoods, type ScoringItem, type ScoringModel } from "./scoring.ts";
export { selectTask, type TaskSelection } from "./select.ts";
export { MissingTaskDataError, type SourcedRow, taskDataDir } from "./task_files.ts";
export { buildDocument } from "./documents.ts";
export {
  customTask,
  type FieldKind,
  type McDocument,
  type MetricType,
  TASK_LABELS,
  taskByLabel,
  type TaskRow,
  TASKS,
  type TaskSpec,
} from "./tasks.ts";
