/**
 * In-loop language-model evaluation (OLMo `Trainer.eval` with `lm` evaluators, `olmo/train.py`).
 *
 * Each evaluator reads its `data` (`paths`, one metric under the evaluator's label; or labelled
 * `datasets`, one metric per dataset label) in `max_sequence_length` windows, in a seeded
 * shuffled order split across ranks (OLMo's `DistributedSampler(shuffle=True, seed=cfg.seed)`,
 * here with numpy's PCG64 permutation, the same one the training order uses), optionally only
 * the first `subset_num_batches` batches. The metric is the mean over sequences of each
 * sequence's mean next-token loss over all S−1 positions:
 * `eval/{label}/CrossEntropyLoss` and `eval/{label}/Perplexity = exp(loss)`.
 *
 * `downstream` evaluators (OLMo's zero-shot multiple-choice tasks from local files) are built by
 * `lib/eval` and run next to these.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { EvaluatorConfig, TrainConfig } from "../config/mod.ts";
import { DataCollator } from "../data/collator.ts";
import { MissingTokenDataError } from "../data/errors.ts";
import { IterableDataset } from "../data/iterable_dataset.ts";
import { memMapDatasetFromDataConfig } from "../data/memmap_dataset.ts";
import type { MemMapInstance } from "../data/memmap_dataset.ts";
import type { Communicator } from "../distributed/world.ts";
import type { Olmo } from "../model/olmo.ts";
import { downstreamEvaluatorFromConfig } from "../eval/from_config.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { nextTokenTargets, perSequenceEvalLoss } from "./loss.ts";
import { embeddingRows } from "./train_data.ts";

/** The collectives and rank information evaluation needs. */
export type EvalWorld = Pick<Communicator, "rank" | "size" | "allReduceSum">;

/** What the trainer runs every `eval_interval` steps: an `lm` or a `downstream` evaluator. */
export interface InLoopEvaluator {
  /** The evaluator's label. */
  readonly label: string;
  /** Batches each rank evaluates per call. */
  readonly numBatches: number;
  /** Evaluates `model` on every rank; returns OLMo's metric names and values. */
  evaluate(
    model: Olmo,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Record<string, number>>;
}

/** An `lm` evaluator over one `EvaluatorConfig`. */
export class LmEvaluator implements InLoopEvaluator {
  /** The evaluator's label (the metric name for `paths` data). */
  readonly label: string;
  /** Instances per batch on this rank. */
  readonly batchSize: number;
  /** Batches evaluated per call on this rank. */
  readonly numBatches: number;
  /** Metric labels, sorted: the evaluator label, or each `datasets` label. */
  readonly metricLabels: string[];
  readonly #order: IterableDataset<MemMapInstance>;
  readonly #collator: DataCollator;
  readonly #world: EvalWorld;
  readonly #dropLast: boolean;

  /**
   * Opens the evaluator's data (throws a `MissingTokenDataError` naming `evaluators[i]` when it
   * is missing or empty). `index` is the evaluator's position in the config, for messages.
   */
  constructor(ec: EvaluatorConfig, cfg: TrainConfig, world: EvalWorld, index = 0) {
    const where = `evaluators[${index}] (${ec.label})`;
    this.label = ec.label;
    this.#world = world;
    this.#dropLast = ec.data.drop_last;
    let dataset;
    try {
      dataset = memMapDatasetFromDataConfig(ec.data, cfg.model.max_sequence_length, {
        tokenIdLimit: embeddingRows(cfg),
      });
      if (dataset.length === 0) {
        throw new MissingTokenDataError("its token files hold no complete instance");
      }
    } catch (e) {
      const message = `${where}: ${(e as Error).message}`;
      throw e instanceof MissingTokenDataError
        ? new MissingTokenDataError(message, {
          cause: e,
          configKey: `evaluators[${index}].data.paths`,
        })
        : new Error(message, { cause: e });
    }
    this.metricLabels = ec.data.datasets != null
      ? Object.keys(ec.data.datasets).sort()
      : [ec.label];
    this.#order = new IterableDataset(dataset, {
      seed: ec.data.seed ?? cfg.seed, // OLMo later's data.seed, else the run's seed
      shuffle: true,
      dropLast: ec.data.drop_last,
      worldSize: world.size,
      rank: world.rank,
    });
    let batchSize = ec.device_eval_batch_size ?? cfg.device_eval_batch_size;
    if (ec.data.drop_last) batchSize = Math.min(batchSize, Math.floor(dataset.length / world.size));
    if (!(batchSize > 0)) {
      throw new Error(
        `${where}: too little data for one batch per rank (${dataset.length} instances)`,
      );
    }
    this.batchSize = batchSize;
    const perRank = this.#order.length;
    const all = ec.data.drop_last
      ? Math.floor(perRank / batchSize)
      : Math.ceil(perRank / batchSize);
    const subset = ec.subset_num_batches ?? cfg.eval_subset_num_batches;
    this.numBatches = subset > 0 ? Math.min(subset, all) : all;
    this.#collator = DataCollator.fromTrainConfig(cfg);
  }

  /**
   * Evaluates `model` (eval mode: no dropout) and returns `eval/{label}/CrossEntropyLoss` and
   * `eval/{label}/Perplexity` per metric label with data, averaged over all ranks' sequences.
   * `onBatch(i, n)` is called after each batch (1-based `i`).
   */
  async evaluate(
    model: Olmo,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Record<string, number>> {
    const slot = new Map(this.metricLabels.map((l, i) => [l, i]));
    const sums = new Float64Array(2 * this.metricLabels.length); // [sum, count] per label
    const items = this.#order[Symbol.iterator]();
    for (let b = 0; b < this.numBatches; b++) {
      const batch: MemMapInstance[] = [];
      while (batch.length < this.batchSize) {
        const r = items.next();
        if (r.done) break;
        batch.push(r.value);
      }
      if (batch.length === 0 || (this.#dropLast && batch.length < this.batchSize)) break;
      const collated = this.#collator.collate(batch);
      const [bs, seqLen] = collated.inputIds.shape;
      const losses = tf.tidy(() => {
        const ids = tf.tensor2d(collated.inputIds.data, [bs, seqLen], "int32"); // (B, S)
        const { logits } = model.forward(ids, { training: false }); // (B, S, E)
        const { labels, weights } = nextTokenTargets(ids);
        return perSequenceEvalLoss(logits, labels, weights); // (B,)
      });
      const values = await losses.data();
      losses.dispose();
      batch.forEach((item, i) => {
        const label = (item.metadata?.label as string | undefined) ?? this.label;
        const k = slot.get(label) ?? slot.get(this.label);
        if (k === undefined) throw new Error(`evaluator ${this.label}: unknown label '${label}'`);
        sums[2 * k] += values[i];
        sums[2 * k + 1] += 1;
      });
      onBatch?.(b + 1, this.numBatches);
    }
    await this.#world.allReduceSum(sums);
    const out: Record<string, number> = {};
    this.metricLabels.forEach((label, k) => {
      if (sums[2 * k + 1] === 0) return; // OLMo skips labels without data (NaN)
      const loss = sums[2 * k] / sums[2 * k + 1];
      out[`eval/${label}/CrossEntropyLoss`] = loss;
      out[`eval/${label}/Perplexity`] = Math.exp(loss);
    });
    return out;
  }
}

/**
 * Builds the evaluators of `cfg.evaluators` in config order: `lm` ones here, `downstream` ones
 * by `lib/eval` with the run's tokenizer (documents they skip are reported through `warn`).
 */
export async function buildEvaluators(
  cfg: TrainConfig,
  world: EvalWorld,
  warn: (message: string) => void,
): Promise<InLoopEvaluator[]> {
  const out: InLoopEvaluator[] = [];
  let tokenizer: Tokenizer | null = null;
  for (const [i, ec] of cfg.evaluators.entries()) {
    if (ec.type === "lm") {
      out.push(new LmEvaluator(ec, cfg, world, i));
    } else {
      tokenizer ??= await Tokenizer.fromTrainConfig(cfg);
      out.push(await downstreamEvaluatorFromConfig(ec, cfg, world, tokenizer, i, warn));
    }
  }
  return out;
}
