/**
 * The parts of Jupyter's notebook format (nbformat 4) that the notebook scripts and tests use:
 * reading, stripping outputs, writing the way Jupyter does (sorted keys, one-space indent), and
 * pulling a cell's outputs out by cell id.
 *
 * @module
 */
import { writeFileAtomic } from "../lib/util/fs.ts";

/** One output of a code cell (`stream`, `display_data`, `execute_result` or `error`). */
export interface NotebookOutput {
  /** The output kind. */
  output_type: string;
  /** `stream`: "stdout" or "stderr". */
  name?: string;
  /** `stream`: the text, as one string or a list of lines. */
  text?: string | string[];
  /** `display_data` / `execute_result`: MIME type → content. */
  data?: Record<string, unknown>;
  /** `error`: the exception name. */
  ename?: string;
  /** `error`: the exception message. */
  evalue?: string;
  [key: string]: unknown;
}

/** One cell. */
export interface NotebookCell {
  /** "code", "markdown" or "raw". */
  cell_type: string;
  /** Stable cell id (nbformat ≥ 4.5); the tests find cells by it. */
  id?: string;
  /** The source, as one string or a list of lines. */
  source: string | string[];
  /** Cell metadata. */
  metadata: Record<string, unknown>;
  /** Code cells: the outputs of the last run. */
  outputs?: NotebookOutput[];
  /** Code cells: the execution counter of the last run. */
  execution_count?: number | null;
  [key: string]: unknown;
}

/** A whole notebook. */
export interface Notebook {
  /** The cells, in order. */
  cells: NotebookCell[];
  /** Notebook metadata (`kernelspec`, `language_info`, …). */
  metadata: Record<string, unknown>;
  /** Major format version (4). */
  nbformat: number;
  /** Minor format version. */
  nbformat_minor: number;
}

/** Notebook metadata keys that only a run of the notebook produces. */
const RUN_METADATA_KEYS = ["language_info", "widgets"];

/** Reads and minimally validates a notebook file. */
export function readNotebook(path: string): Notebook {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new Error(`${path}: not a readable notebook (${(e as Error).message})`);
  }
  const nb = parsed as Notebook;
  if (typeof nb !== "object" || nb === null || !Array.isArray(nb.cells)) {
    throw new Error(`${path}: expected a notebook object with a "cells" array`);
  }
  if (nb.nbformat !== 4) throw new Error(`${path}: expected nbformat 4, got ${nb.nbformat}`);
  return nb;
}

/** Joins a notebook text field (a string or a list of lines). */
export function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : text ?? "";
}

/** A copy of `nb` without outputs, execution counts or run metadata. */
export function stripNotebook(nb: Notebook): Notebook {
  const metadata = { ...nb.metadata };
  for (const key of RUN_METADATA_KEYS) delete metadata[key];
  const cells = nb.cells.map((cell) => {
    const stripped: NotebookCell = { ...cell, metadata: { ...cell.metadata } };
    delete stripped.metadata.execution;
    if (cell.cell_type === "code") {
      stripped.outputs = [];
      stripped.execution_count = null;
    }
    return stripped;
  });
  return { ...nb, metadata, cells };
}

/** Whether any code cell has outputs or an execution count, or run metadata is present. */
export function hasRunState(nb: Notebook): boolean {
  return serializeNotebook(nb) !== serializeNotebook(stripNotebook(nb));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    out[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return out;
}

/** The notebook as Jupyter writes it: sorted keys, one-space indent, trailing newline. */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(nb), null, 1) + "\n";
}

/** Writes `nb` to `path` atomically. */
export async function writeNotebook(path: string, nb: Notebook): Promise<void> {
  await writeFileAtomic(path, serializeNotebook(nb));
}

/** The cell with id `id`. */
export function cellById(nb: Notebook, id: string, path = "notebook"): NotebookCell {
  const cell = nb.cells.find((c) => c.id === id);
  if (!cell) throw new Error(`${path}: no cell with id "${id}"`);
  return cell;
}

/** The code of every code cell, in order (to tell whether an executed copy is current). */
export function codeSources(nb: Notebook): string[] {
  return nb.cells.filter((c) => c.cell_type === "code").map((c) => joinText(c.source));
}

/**
 * A cell's text: its stdout and its plain-text rich outputs, in order, each ending in a newline.
 */
export function cellText(cell: NotebookCell): string {
  return (cell.outputs ?? []).map((o) => {
    if (o.output_type === "stream") return o.name === "stdout" ? joinText(o.text) : "";
    const plain = o.data?.["text/plain"];
    return typeof plain === "string" || Array.isArray(plain) ? joinText(plain) + "\n" : "";
  }).join("");
}

/** The contents of every rich output (`display_data`, `execute_result`) of a given MIME type. */
export function cellData(cell: NotebookCell, mimeType: string): string[] {
  return (cell.outputs ?? [])
    .filter((o) => o.output_type === "display_data" || o.output_type === "execute_result")
    .map((o) => o.data?.[mimeType])
    .filter((d) => d !== undefined)
    .map((d) => typeof d === "string" || Array.isArray(d) ? joinText(d) : JSON.stringify(d));
}
