/**
 * Downstream evaluation of a checkpoint on OLMo's multiple-choice tasks, from local files:
 *
 *   deno task eval CHECKPOINT --tasks piqa,arc_easy,custom:my.jsonl [--limit N] [--json]
 *     [--data-dir DIR] [--batch-size 16] [--backend auto|wasm|webgpu|tensorflow|cpu]
 *
 * Loads the model and tokenizer of an unsharded checkpoint (folder or URL), reads each task's
 * `validation` split from the task data folder (`--data-dir`, else
 * `$OLMO_HF_DATASETS_CACHE_DIR`, else `~/.cache/olmo-ts/hf_datasets`; see `lib/eval`), scores it
 * as OLMo's in-loop evaluator does and prints a table of task, metric, value and documents
 * scored (with `--json`, one JSON object per line instead). A progress bar runs on stderr when
 * it is a terminal; skipped documents are reported there too.
 *
 * @module
 */
import yargs from "yargs";
import cliProgress from "cli-progress";
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES, type BackendName } from "../lib/backend/init.ts";
import { DownstreamEvaluator, loadTaskRequests } from "../lib/eval/downstream_evaluator.ts";
import { describeSkipped } from "../lib/eval/from_config.ts";
import { selectTask, type TaskSelection } from "../lib/eval/select.ts";
import { taskDataDir } from "../lib/eval/task_files.ts";
import { SingleProcessWorld } from "../lib/distributed/world.ts";
import { Olmo } from "../lib/model/olmo.ts";
import { parseStrictArgs, UsageError } from "../lib/util/command.ts";
import { checkpointTokenizer } from "./generate.ts";

/** Parsed command line of `deno task eval`. */
export interface EvalCliOptions {
  /** Checkpoint folder or URL. */
  checkpoint: string;
  /** Task names: OLMo labels or `custom:FILE.jsonl`. */
  tasks: string[];
  /** Only the first N documents of each task. */
  limit?: number;
  /** Print JSON lines instead of a table. */
  json: boolean;
  /** The task data folder; null: `$OLMO_HF_DATASETS_CACHE_DIR`, then the olmo-ts cache. */
  dataDir: string | null;
  /** Requests per forward pass. */
  batchSize: number;
  /** tfjs backend. */
  backend: BackendName;
}

/** One line of the result. */
export interface EvalResultRow {
  /** Task label. */
  task: string;
  /** Metric type. */
  metric: string;
  /** Its value (NaN when no document could be scored). */
  value: number;
  /** Documents scored. */
  documents: number;
  /** Documents skipped (too long for the window, empty continuations, ...). */
  skipped: number;
}

interface EvalArgv {
  _: (string | number)[];
  tasks: string;
  limit?: number;
  json: boolean;
  dataDir?: string;
  batchSize: number;
  backend: BackendName;
  help?: boolean;
}

/** Parses the command line. Returns null after printing `--help`; throws on bad options. */
export async function parseEvalArgs(args: string[]): Promise<EvalCliOptions | null> {
  const argv = await parseStrictArgs<EvalArgv>(
    yargs(args)
      .scriptName("deno task eval")
      .usage(
        "$0 CHECKPOINT --tasks piqa,arc_easy,custom:my.jsonl [options]\n\n" +
          "Scores a checkpoint on OLMo's zero-shot multiple-choice tasks from local files.",
      )
      .parserConfiguration({ "parse-positional-numbers": false })
      .option("tasks", {
        type: "string",
        demandOption: true,
        describe: "comma-separated task labels, or custom:FILE.jsonl",
      })
      .option("limit", { type: "number", describe: "only the first N documents of each task" })
      .option("json", { type: "boolean", default: false, describe: "print JSON lines" })
      .option("data-dir", {
        type: "string",
        describe: "task data folder (default: $OLMO_HF_DATASETS_CACHE_DIR, then the cache)",
      })
      .option("batch-size", { type: "number", default: 16, describe: "requests per forward" })
      .option("backend", { choices: BACKEND_NAMES, default: "auto", describe: "tfjs backend" })
      .demandCommand(1, 1, "the checkpoint is required", "give exactly one checkpoint"),
  );
  if (argv.help) return null;
  const tasks = argv.tasks.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (tasks.length === 0) throw new UsageError("--tasks names no task");
  if (argv.limit !== undefined && !(Number.isInteger(argv.limit) && argv.limit >= 1)) {
    throw new UsageError(`--limit must be an integer ≥ 1, got ${argv.limit}`);
  }
  if (!(Number.isInteger(argv.batchSize) && argv.batchSize >= 1)) {
    throw new UsageError(`--batch-size must be an integer ≥ 1, got ${argv.batchSize}`);
  }
  return {
    checkpoint: String(argv._[0]),
    tasks,
    limit: argv.limit,
    json: argv.json,
    dataDir: argv.dataDir ?? null,
    batchSize: argv.batchSize,
    backend: argv.backend,
  };
}

/** Where the command writes. */
export interface EvalOutput {
  /** Warnings (stderr). */
  warn(message: string): void;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

/**
 * Loads the checkpoint, scores every task and returns one row per (task, metric). Task names
 * and files are checked before the model is loaded.
 */
export async function runEval(opts: EvalCliOptions, out: EvalOutput): Promise<EvalResultRow[]> {
  const dataDir = taskDataDir(opts.dataDir);
  const selections: TaskSelection[] = [];
  for (const name of opts.tasks) selections.push(await selectTask(name, { dataDir }));
  const model = await Olmo.fromCheckpoint(opts.checkpoint, { backend: opts.backend });
  try {
    const tokenizer = await checkpointTokenizer(
      opts.checkpoint,
      "Evaluation needs the tokenizer the model was trained with: put its tokenizer.json in " +
        "the checkpoint folder.",
    );
    const evaluators: DownstreamEvaluator[] = [];
    for (const { task, files } of selections) {
      const data = await loadTaskRequests(task, files, {
        encode: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
        maxLength: model.config.max_sequence_length,
        limit: opts.limit,
      });
      if (data.skipped.length > 0) {
        out.warn(
          `${task.label}: ${
            describeSkipped(data.skipped, data.numDocuments + data.skipped.length)
          }`,
        );
      }
      evaluators.push(
        new DownstreamEvaluator(task, data, {
          batchSize: opts.batchSize,
          padTokenId: model.config.pad_token_id,
          world: new SingleProcessWorld(() => undefined),
        }),
      );
    }
    const bar = (out.progress ?? Deno.stderr.isTerminal())
      ? new cliProgress.SingleBar({
        format: "eval |{bar}| {task} | batch {value}/{total} | ETA {eta_formatted}",
        hideCursor: true,
        stream: process.stderr,
      }, cliProgress.Presets.shades_classic)
      : null;
    bar?.start(evaluators.reduce((n, e) => n + e.numBatches, 0), 0, {
      task: evaluators[0]?.label ?? "",
    });
    const rows: EvalResultRow[] = [];
    let done = 0;
    try {
      for (const evaluator of evaluators) {
        bar?.update(done, { task: evaluator.label });
        const before = done;
        const metrics = await evaluator.evaluateMetrics(model, (i) => bar?.update(before + i));
        done += evaluator.numBatches;
        for (const m of metrics) {
          rows.push({
            task: evaluator.label,
            metric: m.metric,
            value: m.value,
            documents: m.documents,
            skipped: evaluator.data.skipped.length + m.incomplete,
          });
        }
      }
    } finally {
      bar?.stop();
    }
    return rows;
  } finally {
    model.dispose();
  }
}

/** The rows as an aligned text table: task, metric, value (4 decimals), documents. */
export function formatEvalTable(rows: readonly EvalResultRow[]): string {
  const cells = [
    ["task", "metric", "value", "documents"],
    ...rows.map((
      r,
    ) => [
      r.task,
      r.metric,
      Number.isNaN(r.value) ? "nan" : r.value.toFixed(4),
      String(r.documents),
    ]),
  ];
  const widths = cells[0].map((_, j) => Math.max(...cells.map((row) => row[j].length)));
  return cells.map((row) =>
    row.map((c, j) => (j >= 2 ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ").trimEnd()
  ).join("\n") + "\n";
}

/** The rows as JSON lines (`value` null when NaN). */
export function formatEvalJsonLines(rows: readonly EvalResultRow[]): string {
  return rows.map((r) =>
    JSON.stringify({ ...r, value: Number.isNaN(r.value) ? null : r.value }) + "\n"
  )
    .join("");
}

async function main(): Promise<number> {
  let opts: EvalCliOptions | null;
  try {
    opts = await parseEvalArgs(Deno.args);
  } catch (error) {
    console.error(`eval: ${(error as Error).message}`);
    return 2;
  }
  if (opts === null) return 0; // --help was printed
  tf.env().set("PROD", true);
  try {
    const rows = await runEval(opts, { warn: (m) => console.error(`eval: warning: ${m}`) });
    const text = opts.json ? formatEvalJsonLines(rows) : formatEvalTable(rows);
    const bytes = new TextEncoder().encode(text);
    for (let n = 0; n < bytes.length;) n += Deno.stdout.writeSync(bytes.subarray(n));
  } catch (error) {
    console.error(`eval: ${(error as Error).message}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
