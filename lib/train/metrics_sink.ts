/**
 * The run's metric files: `save_folder/metrics.jsonl` (one JSON object per training step and per
 * evaluation, `{"step": N, "<metric>": value, ...}`) and `save_folder/loss.svg` (the training and
 * evaluation cross-entropy curves, and a panel of the downstream metrics when there are any),
 * written by rank 0.
 *
 * On a restart the lines of steps after the restored step are dropped (they are trained again),
 * so the file always describes one consistent history.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.ts";
import { lossCurveSvg, type Series } from "./plot.ts";

/** File name of the metrics log inside the run folder. */
export const METRICS_FILE = "metrics.jsonl";
/** File name of the loss plot inside the run folder. */
export const LOSS_PLOT_FILE = "loss.svg";

const TRAIN_LOSS = "train/CrossEntropyLoss";
const EVAL_LOSS = /^eval\/(.+)\/CrossEntropyLoss$/;
const DOWNSTREAM = /^eval\/downstream\//;

/** One line of `metrics.jsonl`. */
export interface MetricsRecord {
  /** The global step (1-based; 0 for an evaluation before training). */
  step: number;
  /** Metric values by OLMo name. */
  [metric: string]: number;
}

/** Appends metrics to `metrics.jsonl` and renders `loss.svg` from them. */
export class MetricsSink {
  /** Path of `metrics.jsonl`. */
  readonly metricsPath: string;
  /** Path of `loss.svg`. */
  readonly plotPath: string;
  readonly #series = new Map<string, [number, number][]>();
  readonly #downstream = new Map<string, [number, number][]>();
  #file: Deno.FsFile | null = null;
  readonly #encoder = new TextEncoder();

  /** Writes into `saveFolder` (created if missing). Call `open` before `record`. */
  constructor(readonly saveFolder: string, readonly title = "loss") {
    this.metricsPath = join(saveFolder, METRICS_FILE);
    this.plotPath = join(saveFolder, LOSS_PLOT_FILE);
  }

  /**
   * Opens `metrics.jsonl` for appending. `keepUpToStep`: the lines of steps ≤ it are kept (a
   * restart from that step); null starts an empty file (a new run).
   * @throws Error naming the file when an existing line is not a JSON object with a `step`.
   */
  async open(keepUpToStep: number | null): Promise<void> {
    await Deno.mkdir(this.saveFolder, { recursive: true });
    const kept: MetricsRecord[] = [];
    if (keepUpToStep !== null) {
      for (const record of await readMetricsFile(this.metricsPath)) {
        if (record.step <= keepUpToStep) kept.push(record);
      }
    }
    await writeFileAtomic(this.metricsPath, kept.map((r) => JSON.stringify(r) + "\n").join(""));
    for (const record of kept) this.#remember(record);
    this.#file = await Deno.open(this.metricsPath, { append: true });
  }

  /** Appends one line `{"step": step, ...metrics}` (non-finite values are written as null). */
  async record(step: number, metrics: Record<string, number>): Promise<void> {
    if (this.#file === null) {
      throw new Error(`${this.metricsPath}: MetricsSink.open was not called`);
    }
    const record = { step, ...metrics } as MetricsRecord;
    this.#remember(record);
    const line = JSON.stringify(
      record,
      (_k, v) => typeof v === "number" && !isFinite(v) ? null : v,
    );
    const bytes = this.#encoder.encode(line + "\n");
    for (let done = 0; done < bytes.length;) done += await this.#file.write(bytes.subarray(done));
  }

  #remember(record: MetricsRecord): void {
    for (const [name, value] of Object.entries(record)) {
      if (DOWNSTREAM.test(name) && typeof value === "number") {
        let points = this.#downstream.get(name);
        if (points === undefined) this.#downstream.set(name, points = []);
        points.push([record.step, value]);
        continue;
      }
      const m = EVAL_LOSS.exec(name);
      if (name !== TRAIN_LOSS && m === null) continue;
      if (typeof value !== "number") continue;
      const label = m === null ? name : `eval/${m[1]}`;
      let points = this.#series.get(label);
      if (points === undefined) this.#series.set(label, points = []);
      points.push([record.step, value]);
    }
  }

  /** The loss curves recorded so far: training first, then each evaluation label. */
  series(): Series[] {
    const names = [...this.#series.keys()].sort((a, b) =>
      a === TRAIN_LOSS ? -1 : b === TRAIN_LOSS ? 1 : a.localeCompare(b)
    );
    return names.map((label) => ({ label, points: this.#series.get(label)! }));
  }

  /** The downstream metric curves recorded so far, by name less `eval/downstream/`. */
  downstreamSeries(): Series[] {
    return [...this.#downstream.keys()].sort().map((name) => ({
      label: name.replace(DOWNSTREAM, ""),
      points: this.#downstream.get(name)!,
    }));
  }

  /** Writes `loss.svg` (atomically) from everything recorded so far. */
  async writePlot(): Promise<void> {
    await writeFileAtomic(
      this.plotPath,
      lossCurveSvg(this.series(), this.title, this.downstreamSeries()),
    );
  }

  /** Closes `metrics.jsonl`. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}

/**
 * Reads a `metrics.jsonl` file; a missing file is empty. A torn last line (a killed run) is
 * ignored; any other malformed line is an error.
 */
export async function readMetricsFile(path: string): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const lines = text.split("\n");
  const out: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (i === lines.length - 1) return; // the unterminated last line of a killed run
      throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const step = (value as { step?: unknown } | null)?.step;
    if (typeof value !== "object" || value === null || typeof step !== "number") {
      throw new Error(`${path}:${i + 1}: expected a JSON object with a numeric "step"`);
    }
    out.push(value as MetricsRecord);
  });
  return out;
}
