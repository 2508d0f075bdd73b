/**
 * A downstream evaluator from a training config (OLMo `build_downstream_evaluator`): the task of
 * `evaluators[i].label` (or `data.paths`), tokenised with the run's tokenizer for a window of
 * `model.max_sequence_length`, batched by `device_eval_batch_size`, limited to
 * `subset_num_batches`, padded with `model.pad_token_id`, split over the run's ranks.
 *
 * @module
 */
import type { EvaluatorConfig, TrainConfig } from "../config/mod.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import {
  DownstreamEvaluator,
  type DownstreamWorld,
  loadTaskRequests,
} from "./downstream_evaluator.ts";
import type { SkippedDocument } from "./requests.ts";
import { selectTask } from "./select.ts";
import { taskDataDir } from "./task_files.ts";

/** Up to three skipped documents and the count of the rest, for a warning. */
export function describeSkipped(skipped: readonly SkippedDocument[], total: number): string {
  const shown = skipped.slice(0, 3).map((s) => `${s.where}: ${s.reason}`).join("; ");
  const more = skipped.length > 3 ? `; and ${skipped.length - 3} more` : "";
  return `skipped ${skipped.length} of ${total} documents (${shown}${more})`;
}

/**
 * Builds the downstream evaluator of `cfg.evaluators[index]`. Skipped documents are reported
 * through `warn`.
 * @throws Error prefixed `evaluators[i] (label)` for an unknown task, missing or bad data.
 */
export async function downstreamEvaluatorFromConfig(
  ec: EvaluatorConfig,
  cfg: TrainConfig,
  world: DownstreamWorld,
  tokenizer: Tokenizer,
  index: number,
  warn: (message: string) => void,
): Promise<DownstreamEvaluator> {
  const where = `evaluators[${index}] (${ec.label})`;
  try {
    const { task, files } = await selectTask(ec.label, {
      dataDir: taskDataDir(cfg.hf_datasets_cache_dir),
      paths: ec.data.paths,
    });
    const data = await loadTaskRequests(task, files, {
      encode: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
      maxLength: cfg.model.max_sequence_length,
    });
    if (data.skipped.length > 0) {
      warn(`${where}: ${describeSkipped(data.skipped, data.numDocuments + data.skipped.length)}`);
    }
    if (data.numDocuments === 0) throw new Error("no document of the task can be scored");
    return new DownstreamEvaluator(task, data, {
      batchSize: ec.device_eval_batch_size ?? cfg.device_eval_batch_size,
      subsetNumBatches: ec.subset_num_batches ?? cfg.eval_subset_num_batches,
      dropLast: ec.data.drop_last,
      padTokenId: cfg.model.pad_token_id,
      world,
    });
  } catch (e) {
    const error = e as Error;
    error.message = `${where}: ${error.message}`;
    throw error;
  }
}
