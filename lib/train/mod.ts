/**
 * Training: OLMo's trainer loop (`Trainer`), the whole start-up sequence of `deno task train`
 * (`runTraining`), one optimizer step (`runTrainStep`), in-loop LM evaluation, the run's metric
 * and data-indices files, stop conditions, progress display, losses, throughput and console
 * formatting.
 *
 * @module
 */
export type { RunTrainingOptions, RunTrainingResult } from "./run.ts";
export { runTraining } from "./run.ts";
export type { FitResult, StopReason, TrainerOptions } from "./trainer.ts";
export { Trainer } from "./trainer.ts";
export type { TrainStepContext, TrainStepResult } from "./train_step.ts";
export { NonFiniteLossError, runTrainStep } from "./train_step.ts";
export type { RankInfo, TrainBatchesOptions } from "./train_data.ts";
export { buildTrainDataset, TrainBatches } from "./train_data.ts";
export type { EvalWorld, InLoopEvaluator } from "./evaluator.ts";
export { buildEvaluators } from "./evaluator.ts";
export type { DropoutRngState, RestoreSettings, TrainCounters } from "./state.ts";
export { dropoutSeed } from "./state.ts";
export {
  applyTrainingCheckpoint,
  readTrainingCheckpoint,
  saveTrainingCheckpoint,
} from "../checkpoint/trainer/training.ts";
export type { DataIndicesRecord } from "./data_indices.ts";
export {
  DATA_INDICES_DIR,
  dataIndicesPath,
  DataIndicesWriter,
  readDataIndices,
} from "./data_indices.ts";
export type { StepMetricsOptions } from "./step_metrics.ts";
export { StepMetrics } from "./step_metrics.ts";
export type { CancelReason, StepState, StopConditions } from "./stopping.ts";
export { cancelReason } from "./stopping.ts";
export type { MetricsRecord } from "./metrics_sink.ts";
export { MetricsSink, readMetricsFile } from "./metrics_sink.ts";
export type { ProgressInfo, TrainProgressOptions } from "./progress.ts";

export type { TrainLogger } from "./log.ts";
export { SILENT_LOGGER } from "./log.ts";
export type { PeakFlops } from "./peak_flops.ts";

export type { MissingDataContext } from "./missing_data.ts";
export { MissingDataError, missingDataKey, missingDataMessage } from "./missing_data.ts";
export type { LmLoss } from "./loss.ts";
export { lmTrainingLoss, nextTokenTargets, perSequenceEvalLoss } from "./loss.ts";
export type { HeadLossOptions } from "./head_loss.ts";
export { headTrainingLoss } from "./head_loss.ts";
export { SpeedMonitor } from "./speed_monitor.ts";
export { formatMetric, formatMetricsBlock } from "./format.ts";
export type { Series } from "./plot.ts";
export { lossCurveSvg } from "./plot.ts";
