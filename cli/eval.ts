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
import cliProgress from "cli-progress";
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES, type BackendName } from "../lib/backend/init.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";
import { DownstreamEvaluator, loadTaskRequests } from "../lib/eval/downstream_evaluator.ts";
import { describeSkipped } from "../lib/eval/from_config.ts";
import { selectTask, type TaskSelection } from "../lib/eval/select.ts";
import { taskDataDir } from "../lib/eval/task_files.ts";
import { SingleProcessWorld } from "../lib/distributed/world.ts";
import { checkpointTokenizer, Olmo } from "../lib/facade/mod.ts";

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

const SPEC = {
  name: "deno task eval",
  usage: "CHECKPOINT --tasks piqa,arc_easy,custom:my.jsonl [options]",
  description: "Scores a checkpoint on OLMo's zero-shot multiple-choice tasks from local files.",
  options: {
    tasks: {
      type: "string",
      required: true,
      placeholder: "LIST",
      describe: "comma-separated task labels, or custom:FILE.jsonl",
    },
    limit: {
      type: "number",
      rule: "integer ≥ 1",
      placeholder: "N",
      describe: "only the first N documents of each task",
    },
    json: { type: "boolean", default: false, describe: "print JSON lines" },
    "data-dir": {
      type: "string",
      placeholder: "DIR",
      describe: "task data folder (default: $OLMO_HF_DATASETS_CACHE_DIR, then the cache)",
    },
    "batch-size": {
      type: "number",
      default: 16,
      rule: "integer ≥ 1",
      describe: "requests per forward pass",
    },
    backend: { type: "string", choices: BACKEND_NAMES, default: "auto", describe: "tfjs backend" },
  },
  minPositionals: [1, "the checkpoint is required"],
  maxPositionals: [1, "give exactly one checkpoint"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** Parses the command line. Returns null after printing `--help`; throws on bad options. */
export function parseEvalArgs(args: string[]): EvalCliOptions | null {
  const line = parseCommandLine(args, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return null;
  }
  const o = line.options;
  const tasks = o.tasks.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (tasks.length === 0) throw new UsageError("--tasks names no task");
  return {
    checkpoint: line.positionals[0],
    tasks,
    limit: o.limit,
    json: o.json,
    dataDir: o["data-dir"] ?? null,
    batchSize: o["batch-size"],
    backend: o.backend as BackendName,
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

async function main(args: string[]): Promise<number> {
  const opts = parseEvalArgs(args);
  if (opts === null) return 0; // --help was printed
  tf.env().set("PROD", true);
  const rows = await runEval(opts, { warn: (m) => console.error(`eval: warning: ${m}`) });
  const text = opts.json ? formatEvalJsonLines(rows) : formatEvalTable(rows);
  const bytes = new TextEncoder().encode(text);
  for (let n = 0; n < bytes.length;) n += Deno.stdout.writeSync(bytes.subarray(n));
  return 0;
}

if (import.meta.main) await runCommand("eval", main, commandHelp(SPEC));
