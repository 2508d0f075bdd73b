/**
 * Reading documents from the input files of `prepare-data` and `train-tokenizer`:
 * - JSON lines (`.jsonl`, `.json`, `.ndjson`, each optionally `.gz`): one document per line,
 *   its text in the `text` field (configurable). Lines that are not JSON objects with a string
 *   text field are reported with file:line and skipped; blank lines are skipped.
 * - Plain text (`.txt`, optionally `.gz`): the whole file is one document by default, or one
 *   per paragraph (blank-line separated) or per line.
 * Like OLMo, each text is trimmed and empty documents are skipped. Line endings of plain-text
 * files are normalized to "\n". Invalid UTF-8 is an error naming the file and line.
 *
 * @module
 */
import { join } from "node:path";

/** How a plain-text file is cut into documents. */
export type TextUnit = "file" | "paragraph" | "line";

/** A document read from an input file. */
export interface SourceDocument {
  /** The trimmed text (never empty). */
  text: string;
  /** The 1-based line where the document starts. */
  line: number;
}

/** A line that could not be used, with where it is and why. */
export interface BadLine {
  /** Input file. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** What was wrong. */
  message: string;
}

/** Options of `readDocuments`. */
export interface ReadDocumentsOptions {
  /** JSON field holding the text. Default "text". */
  textField?: string;
  /** Document unit of plain-text files. Default "file". */
  textUnit?: TextUnit;
  /** Called for every unusable line. */
  onBadLine?: (bad: BadLine) => void;
  /** Called with the number of (compressed) file bytes consumed, as reading progresses. */
  onBytes?: (n: number) => void;
}

const JSONL = /\.(jsonl|json|ndjson)(\.gz)?$/i;
const TEXT = /\.txt(\.gz)?$/i;

/** The input format of a path, or null if it has no supported extension. */
export function inputFormat(path: string): "jsonl" | "text" | null {
  if (JSONL.test(path)) return "jsonl";
  if (TEXT.test(path)) return "text";
  return null;
}

/**
 * Expands the inputs into a sorted, de-duplicated file list: files are taken as given (their
 * format must be supported), directories are searched recursively for supported files.
 */
export function listInputFiles(inputs: readonly string[]): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && inputFormat(path) !== null) found.add(path);
    }
  };
  for (const input of inputs) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(input);
    } catch (e) {
      throw new Error(`input ${input}: ${(e as Error).message}`);
    }
    if (info.isDirectory) walk(input);
    else if (inputFormat(input) === null) {
      throw new Error(
        `input ${input}: unsupported format; expected .jsonl/.json/.ndjson or .txt, ` +
          `optionally gzipped (.gz)`,
      );
    } else found.add(input);
  }
  const files = [...found].sort();
  if (files.length === 0) throw new Error(`no input files found in ${inputs.join(", ")}`);
  return files;
}

/** A line of an input file: its 1-based number and text, or null if it is not valid UTF-8. */
export interface InputLine {
  /** 1-based line number. */
  line: number;
  /** The line without its terminator (`\n` or `\r\n`); null for invalid UTF-8. */
  text: string | null;
}

/**
 * Yields the lines of a (possibly gzipped) file. Lines are split on bytes and decoded one by
 * one, so an invalid UTF-8 line is reported by number (text null) instead of failing the file.
 */
export async function* readLines(
  path: string,
  onBytes?: (n: number) => void,
): AsyncGenerator<InputLine> {
  const file = await Deno.open(path, { read: true });
  let stream: ReadableStream<Uint8Array> = file.readable;
  if (onBytes) {
    stream = stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          onBytes(chunk.byteLength);
          controller.enqueue(chunk);
        },
      }),
    );
  }
  if (path.toLowerCase().endsWith(".gz")) {
    stream = stream.pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 0;
  const decode = (bytes: Uint8Array): InputLine => {
    line++;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d
      ? bytes.length - 1
      : bytes.length;
    try {
      return { line, text: decoder.decode(bytes.subarray(0, end)) };
    } catch {
      return { line, text: null };
    }
  };
  let carry = new Uint8Array(0);
  try {
    for await (const chunk of stream) {
      let data = chunk;
      if (carry.length > 0) {
        data = new Uint8Array(carry.length + chunk.length);
        data.set(carry);
        data.set(chunk, carry.length);
      }
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
        yield decode(data.subarray(start, nl));
        start = nl + 1;
      }
      carry = data.slice(start);
    }
  } catch (e) {
    throw new Error(`${path}: cannot read after line ${line}: ${(e as Error).message}`);
  }
  if (carry.length > 0) yield decode(carry);
}

/** Yields the documents of one input file (see the module comment for the formats). */
export async function* readDocuments(
  path: string,
  options: ReadDocumentsOptions = {},
): AsyncGenerator<SourceDocument> {
  const format = inputFormat(path);
  if (format === null) throw new Error(`${path}: unsupported input format`);
  const field = options.textField ?? "text";
  const unit = options.textUnit ?? "file";
  const bad = (line: number, message: string) => options.onBadLine?.({ file: path, line, message });
  if (format === "jsonl") {
    for await (const { line, text: raw } of readLines(path, options.onBytes)) {
      if (raw === null) {
        bad(line, "not valid UTF-8");
        continue;
      }
      if (raw.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        bad(line, (e as Error).message);
        continue;
      }
      const text = typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)[field]
        : undefined;
      if (typeof text !== "string") {
        bad(line, `expected a JSON object with a string "${field}" field`);
        continue;
      }
      const trimmed = text.trim();
      if (trimmed !== "") yield { text: trimmed, line };
    }
    return;
  }
  let buffer: string[] = [];
  let startLine = 1;
  for await (const { line, text: raw } of readLines(path, options.onBytes)) {
    if (raw === null) {
      bad(line, "not valid UTF-8");
      continue;
    }
    if (unit === "line") {
      const trimmed = raw.trim();
      if (trimmed !== "") yield { text: trimmed, line };
    } else if (unit === "paragraph" && raw.trim() === "") {
      const text = buffer.join("\n").trim();
      if (text !== "") yield { text, line: startLine };
      buffer = [];
    } else {
      if (buffer.length === 0) startLine = line;
      buffer.push(raw);
    }
  }
  const text = buffer.join("\n").trim();
  if (text !== "") yield { text, line: startLine };
}
