/**
 * OLMo's `save_data_indices` files: `save_folder/data-indices/rank{r}.tsv.gz`, one line per
 * training step, `"{global_step}\t{idx}\t{idx}...\n"` with the dataset indices of the instances
 * this rank trained on at that step (written by OLMo `Trainer.fit` in `olmo/train.py`). Every
 * rank writes its own file.
 *
 * The file is a sequence of gzip members, which `zcat` and Python's `gzip` read as one stream.
 * Lines are buffered and appended as one new member at each checkpoint save, at the end of
 * `fit`, and whenever the buffer passes 1 MiB; so when a checkpoint of step N exists, the file
 * holds every step up to N.
 *
 * Restarts (OLMo has none: it refuses an existing file unless `save_overwrite`, then starts it
 * over): a run that continues from a checkpoint of step N in the same `save_folder` keeps the
 * lines of steps ≤ N and drops the later ones (trained again after the restart, so never
 * duplicated), along with a member torn by a killed process, then appends. A new run refuses an
 * existing file unless `save_overwrite`, as OLMo does. After a restart at another world size,
 * the files of ranks that no longer exist are left as they were.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { createReadStream } from "node:fs";
import { createGunzip, gzipSync } from "node:zlib";
import { pathExists, writeFileAtomic } from "../util/fs.ts";

/** Folder of the data-indices files inside `save_folder`. */
export const DATA_INDICES_DIR = "data-indices";

/** Buffered text that triggers an early append (bytes). */
const FLUSH_BYTES = 1 << 20;

/** `save_folder/data-indices/rank{rank}.tsv.gz`. */
export function dataIndicesPath(saveFolder: string, rank: number): string {
  return join(saveFolder, DATA_INDICES_DIR, `rank${rank}.tsv.gz`);
}

/** One line of a data-indices file. */
export interface DataIndicesRecord {
  /** The 1-based global step. */
  step: number;
  /** Dataset indices of this rank's instances at that step, in batch order. */
  indices: number[];
}

/** A line's step, or an error naming the file and line. */
function parseStep(line: string, path: string, lineNo: number): number {
  const tab = line.indexOf("\t");
  const head = tab < 0 ? line : line.slice(0, tab);
  const step = head === "" ? NaN : Number(head);
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new Error(
      `${path}:${lineNo}: expected "{step}\\t{index}\\t{index}...", got ${
        JSON.stringify(line.slice(0, 60))
      }`,
    );
  }
  return step;
}

/**
 * The complete lines of a data-indices file, in order, and whether its end was torn (a process
 * killed while appending); a missing file has no lines.
 * @throws Error naming the file and line for anything but a torn end.
 */
async function readLines(path: string): Promise<{ lines: string[]; torn: boolean }> {
  if (!(await pathExists(path))) return { lines: [], torn: false };
  const source = createReadStream(path);
  let text = "";
  let torn = false;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of source.pipe(createGunzip())) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
    }
    text += decoder.decode();
  } catch (e) {
    // zlib's Z_BUF_ERROR: the input ended inside a member (a torn end); anything else is corrupt.
    if ((e as { code?: unknown } | null)?.code !== "Z_BUF_ERROR") {
      throw new Error(`${path}: not a valid gzip file (${(e as Error).message})`);
    }
    torn = true;
  } finally {
    source.destroy();
  }
  const lines = text.split("\n");
  const last = lines.pop()!; // "" after a final newline; a partial line otherwise
  if (last !== "") torn = true;
  return { lines, torn };
}

/**
 * Reads a data-indices file (written by olmo-ts or OLMo). A torn end (a killed process) is
 * ignored; a missing file has no records.
 * @throws Error naming the file and line when it is not gzip or a line is malformed.
 */
export async function readDataIndices(path: string): Promise<DataIndicesRecord[]> {
  const { lines } = await readLines(path);
  return lines.map((line, i) => {
    const step = parseStep(line, path, i + 1);
    const indices = line.split("\t").slice(1).map(Number);
    if (indices.some((v) => !Number.isSafeInteger(v) || v < 0)) {
      throw new Error(`${path}:${i + 1}: indices must be non-negative integers`);
    }
    return { step, indices };
  });
}

/** Writes one rank's data-indices file (see the module doc). */
export class DataIndicesWriter {
  /** The file. */
  readonly path: string;
  #pending: string[] = [];
  #pendingBytes = 0;
  #open = false;

  /** The file of `rank` in `saveFolder`; call `open` before `record`. */
  constructor(saveFolder: string, rank: number) {
    this.path = dataIndicesPath(saveFolder, rank);
  }

  /**
   * Prepares the file. `continueFromStep`: the step of the checkpoint this run continues in the
   * same `save_folder` (lines after it are dropped), or null for a new run (an existing file is
   * refused unless `overwrite`, then replaced).
   * @throws Error naming the file when it exists for a new run without `overwrite`, or is
   *   corrupt when continuing.
   */
  async open(opts: { continueFromStep: number | null; overwrite: boolean }): Promise<void> {
    await Deno.mkdir(dirname(this.path), { recursive: true });
    const from = opts.continueFromStep;
    if (from === null) {
      if (!opts.overwrite && (await pathExists(this.path))) {
        throw new Error(
          `${this.path} already exists (the data indices of an earlier run): pass ` +
            "--save_overwrite to replace it, or --load_path=CHECKPOINT of that run to continue it",
        );
      }
      await this.#rewrite([]);
    } else {
      const { lines, torn } = await readLines(this.path);
      const kept = lines.filter((line, i) => parseStep(line, this.path, i + 1) <= from);
      const exists = await pathExists(this.path);
      if (!exists || torn || kept.length !== lines.length) await this.#rewrite(kept);
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#open = true;
  }

  /** Replaces the file by one gzip member holding `lines`, atomically. */
  async #rewrite(lines: string[]): Promise<void> {
    await writeFileAtomic(this.path, gzipSync(lines.map((l) => `${l}\n`).join("")));
  }

  /** Records the instances of `step` (appended at the next flush). */
  async record(step: number, indices: ArrayLike<number>): Promise<void> {
    if (!this.#open) throw new Error(`${this.path}: DataIndicesWriter.open was not called`);
    const line = `${step}\t${Array.from(indices).join("\t")}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Appends the recorded lines to the file as one gzip member. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const member = gzipSync(this.#pending.join(""));
    this.#pending = [];
    this.#pendingBytes = 0;
    const file = await Deno.open(this.path, { append: true, create: true });
    try {
      for (let done = 0; done < member.length;) done += await file.write(member.subarray(done));
    } finally {
      file.close();
    }
  }
}
