/**
 * Helpers for the README docs test (`tests/readme_test.ts`): extracting the commands and code
 * examples of README.md, a scratch workspace that behaves like a clone of the repository, and a
 * bounded shell runner. Fixtures for the README's placeholders are in `_readme_fixtures.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./_shared.ts";

/** One command or code example of the README, in document order. */
export interface ReadmeItem {
  /**
   * `bash`: a command of a fenced bash block; `inline`: an inline code span that starts with a
   * command word; `ts`: a whole fenced ts block.
   */
  kind: "bash" | "inline" | "ts";
  /** The command with continuations joined, comments dropped and spaces collapsed; or the code. */
  text: string;
  /** 1-based line of the README where it starts. */
  line: number;
}

/** Fence languages that hold no commands (shown for reading only). */
const NON_COMMAND_FENCES = new Set(["yaml"]);

/**
 * Inline code spans whose first word is one of these are commands (`deno task test`, `apt
 * install mpich`); other spans (`--load_path`, `config.yaml`) are not.
 */
const COMMAND_WORDS = new Set([
  "deno",
  "npm",
  "apt",
  "apt-get",
  "srun",
  "sbatch",
  "mpiexec",
  "mpiexec.mpich",
  "mpiexec.openmpi",
  "jupyter",
  ".ci/run",
]);

/** Removes a `#` comment that is outside quotes and starts a word. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/** The commands of one bash block: `\` continuations joined, comments and blank lines dropped. */
function bashCommands(block: string, firstLine: number): ReadmeItem[] {
  const items: ReadmeItem[] = [];
  let pending = "";
  let start = 0;
  block.split("\n").forEach((raw, i) => {
    if (pending === "") start = firstLine + i;
    const line = stripComment(raw).trimEnd();
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      return;
    }
    const command = (pending + line).replace(/\s+/g, " ").trim();
    pending = "";
    if (command !== "") items.push({ kind: "bash", text: command, line: start });
  });
  assert.equal(pending, "", `README.md:${start}: a command ends with a line continuation`);
  return items;
}

/**
 * Every command and code example of a markdown text, in document order. Throws on a fence
 * language it does not know, so that a new kind of block cannot slip past the docs test.
 */
export function readmeItems(markdown: string): ReadmeItem[] {
  const items: ReadmeItem[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)```(\S*)\s*$/);
    if (open === null) {
      for (const span of lines[i].matchAll(/`([^`]+)`/g)) {
        const text = span[1].replace(/\s+/g, " ").trim();
        if (COMMAND_WORDS.has(text.split(" ")[0])) {
          items.push({ kind: "inline", text, line: i + 1 });
        }
      }
      continue;
    }
    const [, indent, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    assert.ok(j < lines.length, `README.md:${i + 1}: unclosed code fence`);
    if (lang === "bash") items.push(...bashCommands(body.join("\n"), i + 2));
    else if (lang === "ts") items.push({ kind: "ts", text: body.join("\n"), line: i + 2 });
    else if (!NON_COMMAND_FENCES.has(lang)) {
      throw new Error(`README.md:${i + 1}: fence language '${lang}' is not handled by the test`);
    }
    i = j;
  }
  return items;
}

/** The repository entries a workspace links to (read-only use). */
const LINKED = ["lib", "cli", "scripts", "web", "mod.ts", "node_modules"];

/**
 * A scratch folder that works like a clone of the repository for `deno task ...`: deno.json and
 * deno.lock are copied, code and node_modules are symlinked, and `configs/` is a real folder of
 * links, so placeholder configs can be added. Commands run there write `runs/`, tokens and exports
 * into the scratch folder, never into the repository.
 */
export async function makeWorkspace(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-readme-" });
  for (const file of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(join(REPO_ROOT, file), join(dir, file));
  }
  for (const entry of LINKED) await Deno.symlink(join(REPO_ROOT, entry), join(dir, entry));
  await Deno.mkdir(join(dir, "configs"));
  for await (const entry of Deno.readDir(join(REPO_ROOT, "configs"))) {
    await Deno.symlink(join(REPO_ROOT, "configs", entry.name), join(dir, "configs", entry.name));
  }
  return dir;
}

/** What a shell command printed and returned. */
export interface ShellRun {
  /** The command line as run. */
  command: string;
  /** Exit code (124: killed after the time limit). */
  code: number;
  /** Standard output text. */
  stdout: string;
  /** Standard error text. */
  stderr: string;
}

/**
 * Runs `command` with bash in `cwd`, as a user would paste it, with the deno running this test
 * first on PATH. GNU `timeout` kills the whole process group (deno task's children included)
 * after `timeoutSeconds`.
 */
async function runShell(
  cwd: string,
  command: string,
  options: { env?: Record<string, string>; timeoutSeconds?: number } = {},
): Promise<ShellRun> {
  const path = `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`;
  const out = await new Deno.Command("timeout", {
    args: ["-k", "5", String(options.timeoutSeconds ?? 60), "bash", "-c", command],
    cwd,
    env: { NO_COLOR: "1", PATH: path, ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    command,
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  };
}

/** Asserts a shell command exited 0, showing what it printed otherwise. */
function assertSucceeded(run: ShellRun): void {
  const why = run.code === 124 ? " (timed out)" : "";
  assert.equal(
    run.code,
    0,
    `\`${run.command}\` exited ${run.code}${why}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
  );
}

/** True when `name` is an executable on PATH. */
export async function onPath(name: string): Promise<boolean> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `command -v ${name}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/** Runs `command` in the workspace and asserts it exited 0. */
export async function sh(
  ws: string,
  command: string,
  options: { env?: Record<string, string>; timeoutSeconds?: number } = {},
): Promise<ShellRun> {
  const run = await runShell(ws, command, options);
  assertSucceeded(run);
  return run;
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The text of a file of the repository (`path` relative to its root). */
export function read(path: string): Promise<string> {
  return Deno.readTextFile(join(REPO_ROOT, path));
}

/** How one README command is covered (see `tests/readme_test.ts`). */
export interface Coverage {
  /** `run`, `dry-run`, `ci`, `checked` or `mention`. */
  how: "run" | "dry-run" | "ci" | "checked" | "mention";
  /** Placeholders, overrides and checks, in words. */
  note: string;
  /** Runs or checks the command in workspace `ws`. */
  exercise: (ws: string, command: string) => Promise<void> | void;
}

/** How a ```ts example is covered: the block that contains `marker` is run and `check`ed. */
export interface TsExample {
  /** Text that identifies the block. */
  marker: string;
  /** What is substituted and checked, in words. */
  note: string;
  /** Checks what the example printed. */
  check: (stdout: string) => void;
}

/** The README's items, each once (where it first appears), in document order. */
export function uniqueItems(markdown: string): ReadmeItem[] {
  const seen = new Set<string>();
  return readmeItems(markdown).filter((item) => {
    const key = `${item.kind}:${item.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A bare task name in prose (`deno task generate`): the task exists in deno.json and a `run`
 * entry of `table` runs it. Null for anything else.
 */
function taskMention(text: string, table: Record<string, Coverage>): Coverage | null {
  const name = text.match(/^deno task ([\w-]+)$/)?.[1];
  if (name === undefined) return null;
  return {
    how: "mention",
    note: "the task exists in deno.json and another entry runs it",
    exercise: async () => {
      assert.ok(name in JSON.parse(await read("deno.json")).tasks, `no task ${name}`);
      const runs = Object.entries(table).filter(([command, c]) =>
        command.startsWith(`deno task ${name} `) && c.how === "run"
      );
      assert.ok(runs.length > 0, `no README line runs deno task ${name}`);
    },
  };
}

/** Writes a ```ts block into the workspace root, runs it and checks its output. */
async function runTsExample(ws: string, item: ReadmeItem, example: TsExample): Promise<void> {
  const file = `readme_example_${item.line}.ts`;
  await Deno.writeTextFile(join(ws, file), item.text);
  example.check((await sh(ws, `deno run -A ${file}`)).stdout);
}

/** How a README item is covered; throws when the tables do not know it. */
export function coverageOf(
  item: ReadmeItem,
  table: Record<string, Coverage>,
  tsExamples: TsExample[],
): { how: string; run: (ws: string) => Promise<void> } {
  if (item.kind === "ts") {
    const matches = tsExamples.filter((e) => item.text.includes(e.marker));
    assert.equal(matches.length, 1, `README.md:${item.line}: ts block matches ${matches.length}`);
    return { how: "run", run: (ws) => runTsExample(ws, item, matches[0]) };
  }
  const coverage = table[item.text] ??
    (item.kind === "inline" ? taskMention(item.text, table) : null);
  if (coverage === undefined || coverage === null) {
    throw new Error(
      `README.md:${item.line}: \`${item.text}\` is not in the COVERAGE table of ` +
        "tests/readme_test.ts; add how the test runs or checks it",
    );
  }
  return { how: coverage.how, run: async (ws) => await coverage.exercise(ws, item.text) };
}
