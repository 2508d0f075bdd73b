/**
 * Where a task's documents come from: local files, since nothing is downloaded at run time.
 *
 * A built-in task's `validation` split is read from
 * `DIR/{dataset_path}/{dataset_name or "none"}/` (the layout later OLMo versions use for their
 * saved Hugging Face datasets), as the Hub stores it — parquet (`validation-00000-of-00001.parquet`
 * or any `validation*.parquet`) — or as JSON lines (`validation*.jsonl`), or as any parquet /
 * JSON-lines files inside a `validation/` folder there. `DIR` is `hf_datasets_cache_dir` of the
 * config, else `$OLMO_HF_DATASETS_CACHE_DIR`, else `~/.cache/olmo-ts/hf_datasets` (under
 * `$OLMO_TS_CACHE` when set). A custom task names its JSON-lines file directly.
 *
 * @module
 */
import { join } from "node:path";
import { olmoCacheDir } from "../tokenizer/hub.ts";
import type { TaskRow, TaskSpec } from "./tasks.ts";

/** The environment variable naming the task data folder (below the config key). */
export const TASK_DATA_DIR_ENV = "OLMO_HF_DATASETS_CACHE_DIR";

/** The split OLMo evaluates. */
export const EVAL_SPLIT = "validation";

/** One document with where it came from (for messages). */
export interface SourcedRow {
  /** The document's fields. */
  row: TaskRow;
  /** `FILE:LINE` for JSON lines, `FILE row N` (1-based) for parquet. */
  where: string;
}

/** No data files were found for a task; the message says where to put them. */
export class MissingTaskDataError extends Error {}

/**
 * The task data folder: `configured` (the `hf_datasets_cache_dir` key or a command-line flag),
 * else `$OLMO_HF_DATASETS_CACHE_DIR`, else `hf_datasets` in the olmo-ts cache.
 */
export function taskDataDir(
  configured: string | null | undefined,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  if (configured) return configured;
  const fromEnv = env(TASK_DATA_DIR_ENV);
  return fromEnv ? fromEnv : join(olmoCacheDir(), "hf_datasets");
}

/** The folder of a built-in task's files inside `dataDir`. */
export function taskFolder(dataDir: string, task: TaskSpec): string {
  return join(dataDir, task.datasetPath, task.datasetName ?? "none");
}

const isDataFile = (name: string) => name.endsWith(".parquet") || name.endsWith(".jsonl");

async function listFiles(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && accept(entry.name)) out.push(join(dir, entry.name));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
  }
  return out.sort();
}

/**
 * The data files of a built-in task's `validation` split, sorted.
 * @throws MissingTaskDataError naming the places looked at and the Hub dataset to get.
 */
export async function findTaskFiles(dataDir: string, task: TaskSpec): Promise<string[]> {
  const folder = taskFolder(dataDir, task);
  const files = [
    ...await listFiles(folder, (n) => n.startsWith(EVAL_SPLIT) && isDataFile(n)),
    ...await listFiles(join(folder, EVAL_SPLIT), isDataFile),
  ];
  if (files.length > 0) return files;
  const config = task.datasetName === null ? "its default config" : `config ${task.datasetName}`;
  throw new MissingTaskDataError(
    `downstream task '${task.label}': no data files: looked for ` +
      `${join(folder, `${EVAL_SPLIT}*.parquet`)}, ${join(folder, `${EVAL_SPLIT}*.jsonl`)} and ` +
      `${join(folder, EVAL_SPLIT, "*.{parquet,jsonl}")}. Put split '${EVAL_SPLIT}' of the ` +
      `Hugging Face dataset ${task.hubId} (${config}) there, e.g. its parquet file from the Hub ` +
      `(the data folder is hf_datasets_cache_dir in the config, else $${TASK_DATA_DIR_ENV})`,
  );
}

/** Parquet INT64 columns arrive as bigint: documents hold plain numbers. */
function plainValues(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plainValues);
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValues(v)]));
  }
  return value;
}

async function readParquet(path: string): Promise<SourcedRow[]> {
  // Imported when first needed: training runs without parquet tasks do not load the reader.
  const [{ parquetReadObjects }, { compressors }] = await Promise.all([
    import("hyparquet"),
    import("hyparquet-compressors"),
  ]);
  const bytes = await Deno.readFile(path);
  let rows: Record<string, unknown>[];
  try {
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    rows = await parquetReadObjects({ file, compressors });
  } catch (e) {
    throw new Error(`${path}: not a readable parquet file (${(e as Error).message})`);
  }
  return rows.map((row, i) => ({
    row: plainValues(row) as TaskRow,
    where: `${path} row ${i + 1}`,
  }));
}

async function readJsonLines(path: string): Promise<SourcedRow[]> {
  const out: SourcedRow[] = [];
  (await Deno.readTextFile(path)).split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error(`${path}:${i + 1}: expected a JSON object, got ${line.slice(0, 60)}`);
    }
    out.push({ row: value as TaskRow, where: `${path}:${i + 1}` });
  });
  return out;
}

/**
 * Reads the documents of `files` in order (parquet by its `.parquet` suffix, else JSON lines).
 * @throws Error naming the file when it cannot be read or parsed, or when all hold no document.
 */
export async function readTaskRows(files: readonly string[]): Promise<SourcedRow[]> {
  const out: SourcedRow[] = [];
  for (const path of files) {
    try {
      out.push(...await (path.endsWith(".parquet") ? readParquet(path) : readJsonLines(path)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: no such file`);
      throw e;
    }
  }
  if (out.length === 0) throw new Error(`${files.join(", ")}: the split holds no documents`);
  return out;
}
