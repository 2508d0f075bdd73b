/**
 * A downstream evaluator (OLMo `build_downstream_evaluator` + `Trainer.eval` + `ICLMetric`): a
 * task's requests split over the ranks as `DistributedSampler(shuffle=False)` splits them,
 * scored in batches of `device_eval_batch_size` requests (at most `subset_num_batches` batches
 * per rank), the per-request log-likelihoods gathered from every rank (one float64 sum over
 * the padded positions, so each request's value is the one its own rank computed), then OLMo's
 * per-document argmax metric: `eval/downstream/{label}_{metric}`. The numbers do not depend on
 * the number of ranks.
 *
 * @module
 */
import { computeMetric, type MetricValue, type RequestScore } from "./metric.ts";
import { distributedSplit, rankPositions, type RankSplit } from "./rank_split.ts";
import { buildRequests, type EncodeText, type McRequest, type TaskRequests } from "./requests.ts";
import { continuationLogLikelihoods, type ScoringModel } from "./scoring.ts";
import { readTaskRows } from "./task_files.ts";
import { buildDocument } from "./documents.ts";
import type { McDocument, TaskSpec } from "./tasks.ts";

/** What a downstream evaluation needs of the process group (a `Communicator` has it). */
export interface DownstreamWorld {
  /** This process's rank, 0 ≤ rank < size. */
  readonly rank: number;
  /** Number of processes. */
  readonly size: number;
  /** In place: every element becomes the sum over ranks. */
  allReduceSum(buf: Float64Array): Promise<void>;
}

/** How a task's documents are read and tokenised. */
export interface LoadTaskOptions {
  /** Text to token ids, without special tokens. */
  encode: EncodeText;
  /** The model's context window (`max_sequence_length`). */
  maxLength: number;
  /** Only the first `limit` documents. */
  limit?: number;
}

/**
 * Reads `files` (parquet or JSON lines) and builds `task`'s requests.
 * @throws Error naming the file and line (or row) of a document that lacks a field the task
 * needs or whose answer is not one of its continuations, and naming the files when they hold
 * no document.
 */
export async function loadTaskRequests(
  task: TaskSpec,
  files: readonly string[],
  opts: LoadTaskOptions,
): Promise<TaskRequests> {
  let rows = await readTaskRows(files);
  if (opts.limit !== undefined) rows = rows.slice(0, opts.limit);
  const documents = rows.map(({ row, where }) => {
    let doc: McDocument;
    try {
      doc = buildDocument(task, row);
    } catch (e) {
      throw new Error(`${where}: task '${task.label}': ${(e as Error).message}`);
    }
    return { doc, where };
  });
  return buildRequests(documents, opts.encode, opts.maxLength, task.metricTypes.includes("pmi_dc"));
}

/** Batching and rank split of a downstream evaluator. */
export interface DownstreamEvaluatorOptions {
  /** Metric label (`eval/downstream/{label}_{metric}`); the task's label by default. */
  label?: string;
  /** Requests per batch on each rank. */
  batchSize: number;
  /** Batches per rank; -1 (or any value ≤ 0) means all. */
  subsetNumBatches?: number;
  /** `DistributedSampler(drop_last)`: cut the requests to a multiple of the world size. */
  dropLast?: boolean;
  /** The pad token padding queries to the longest of a batch. */
  padTokenId: number;
  /** The process group (size 1 for one process). */
  world: DownstreamWorld;
}

/** A task evaluated in-loop or by `deno task eval`. */
export class DownstreamEvaluator {
  /** Metric label. */
  readonly label: string;
  /** Batches each rank evaluates per call. */
  readonly numBatches: number;
  readonly #split: RankSplit;
  readonly #positions: number[];

  /** Splits `data`'s requests over the ranks. */
  constructor(
    readonly task: TaskSpec,
    readonly data: TaskRequests,
    readonly opts: DownstreamEvaluatorOptions,
  ) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) {
      throw new Error(
        `downstream task '${task.label}': batch size must be ≥ 1, got ${opts.batchSize}`,
      );
    }
    this.label = opts.label ?? task.label;
    const { rank, size } = opts.world;
    this.#split = distributedSplit(data.requests.length, size, opts.dropLast ?? false);
    this.#positions = rankPositions(this.#split, rank, size);
    const all = Math.ceil(this.#positions.length / opts.batchSize);
    const subset = opts.subsetNumBatches ?? -1;
    this.numBatches = subset > 0 ? Math.min(subset, all) : all;
  }

  /**
   * Scores this rank's batches, gathers every rank's scores and returns each of the task's
   * metrics. Every rank must call it. `onBatch(i, n)` follows each batch (1-based `i`).
   */
  async evaluateMetrics(
    model: ScoringModel,
    onBatch?: (done: number, total: number) => void,
  ): Promise<MetricValue[]> {
    const scores = await this.scoreRequests(model, onBatch);
    return this.task.metricTypes.map((metric) => computeMetric(metric, scores));
  }

  /**
   * The log-likelihoods of the requests every rank scored (all of them, unless
   * `subset_num_batches` stopped early), in padded-position order with duplicates. Every rank
   * must call it.
   */
  async scoreRequests(
    model: ScoringModel,
    onBatch?: (done: number, total: number) => void,
  ): Promise<RequestScore[]> {
    const { requests } = this.data;
    const total = this.#split.indices.length;
    const needDc = this.task.metricTypes.includes("pmi_dc");
    // [logLikelihood, dcLogLikelihood, seen] per padded position, summed over ranks.
    const gathered = new Float64Array(3 * total);
    const { batchSize, padTokenId } = this.opts;
    for (let b = 0; b < this.numBatches; b++) {
      const positions = this.#positions.slice(b * batchSize, (b + 1) * batchSize);
      const batch = positions.map((p) => requests[this.#split.indices[p]]);
      const ll = await continuationLogLikelihoods(
        model,
        batch.map((r) => ({ query: r.query, prefixLen: r.ctxLen, continuation: r.continuation })),
        padTokenId,
      );
      const dc = needDc
        ? await continuationLogLikelihoods(
          model,
          batch.map((r) => ({
            query: r.dcQuery,
            prefixLen: r.dcLen,
            continuation: r.continuation,
          })),
          padTokenId,
        )
        : null;
      positions.forEach((p, i) => {
        gathered[3 * p] = ll[i];
        gathered[3 * p + 1] = dc === null ? 0 : dc[i];
        gathered[3 * p + 2] = 1;
      });
      onBatch?.(b + 1, this.numBatches);
    }
    await this.opts.world.allReduceSum(gathered);
    const scores: RequestScore[] = [];
    for (let p = 0; p < total; p++) {
      if (gathered[3 * p + 2] === 0) continue;
      const r: McRequest = requests[this.#split.indices[p]];
      scores.push({
        docId: r.docId,
        contId: r.contId,
        labelId: r.labelId,
        logLikelihood: gathered[3 * p],
        dcLogLikelihood: needDc ? gathered[3 * p + 1] : NaN,
        contStrLen: r.contStrLen,
      });
    }
    return scores;
  }

  /** `evaluateMetrics` as OLMo's metric names: `eval/downstream/{label}_{metric}`. */
  async evaluate(
    model: ScoringModel,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const m of await this.evaluateMetrics(model, onBatch)) {
      out[`eval/downstream/${this.label}_${m.metric}`] = m.value;
    }
    return out;
  }
}
