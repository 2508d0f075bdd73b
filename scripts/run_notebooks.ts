/**
 * Executes notebooks headless with the Deno Jupyter kernel (`deno task notebooks`), the way CI
 * does: `jupyter nbconvert --to notebook --execute` writes each executed copy to
 * `.cache/notebooks/` (the committed notebooks are never touched), and a failing cell fails the
 * notebook. Prints one `notebook ok: …` / `notebook FAILED: …` line per notebook, then
 * `notebooks: N passed, N failed`, and exits 1 when any failed.
 *
 * Needs Debian's `jupyter-core jupyter-client python3-nbclient jupyter-nbconvert` (or pip's
 * `nbconvert`). The Deno kernel is (re)installed when missing or registered for another deno
 * binary, because its `kernel.json` stores the absolute path of the deno that installed it.
 *
 * ```bash
 * deno task notebooks                                    # all of notebooks/*.ipynb
 * deno task notebooks notebooks/03_inspect_data.ipynb    # one
 * OLMO_NB_STEPS=40 deno task notebooks --timeout 300     # notebooks read OLMO_NB_* variables
 * ```
 *
 * @module
 */
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";
import { basename, join, relative } from "node:path";
import { listNotebooks } from "./strip_notebooks.ts";

/** Where executed copies go (override with `OLMO_EXECUTED_NOTEBOOKS`). */
export const EXECUTED_NOTEBOOKS_DIR: string = Deno.env.get("OLMO_EXECUTED_NOTEBOOKS") ??
  join(import.meta.dirname!, "..", ".cache", "notebooks");

const KERNEL_NAME = "deno";

async function output(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const result = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return { code: result.code, stdout: new TextDecoder().decode(result.stdout) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: 127, stdout: "" };
    throw e;
  }
}

function realPath(path: string): string | null {
  try {
    return Deno.realPathSync(path);
  } catch {
    return null;
  }
}

/** Installs the Deno kernel for this deno binary unless it is already registered for it. */
async function ensureDenoKernel(): Promise<void> {
  const list = await output("jupyter", ["kernelspec", "list", "--json"]);
  if (list.code === 127) {
    throw new Error(
      "jupyter not found; install it (Debian: apt-get install jupyter-core jupyter-client " +
        "python3-nbclient jupyter-nbconvert python3-ipykernel)",
    );
  }
  if (list.code !== 0) throw new Error(`jupyter kernelspec list failed (exit ${list.code})`);
  const specs = JSON.parse(list.stdout).kernelspecs as Record<
    string,
    { spec?: { argv?: string[] } }
  >;
  const registered = specs[KERNEL_NAME]?.spec?.argv?.[0];
  if (registered !== undefined && realPath(registered) === Deno.execPath()) return;
  console.error(
    `installing the Deno Jupyter kernel for ${Deno.execPath()}` +
      (registered ? ` (was registered for ${registered})` : ""),
  );
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install", "--force"],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (install.code !== 0) throw new Error(`deno jupyter --install failed (exit ${install.code})`);
}

/** Executes one notebook into `outDir`; returns whether every cell ran without error. */
async function executeNotebook(
  path: string,
  outDir: string,
  timeoutS: number,
): Promise<{ ok: boolean; seconds: number; logPath: string; code: number }> {
  const name = basename(path, ".ipynb");
  const executedPath = join(outDir, `${name}.ipynb`);
  const logPath = join(outDir, `${name}.log`);
  // A failed run must not leave the previous run's copy behind for the output checks.
  try {
    Deno.removeSync(executedPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const start = performance.now();
  const child = new Deno.Command("jupyter", {
    args: [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
      `--ExecutePreprocessor.timeout=${timeoutS}`,
      "--output-dir",
      outDir,
      "--output",
      name,
      path,
    ],
    env: { NO_COLOR: "1", PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    stdout: "piped",
    stderr: "piped",
    // A backstop: nbconvert enforces the per-cell timeout itself and shuts the kernel down.
    signal: AbortSignal.timeout((timeoutS + 60) * 1000),
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  const seconds = (performance.now() - start) / 1000;
  const log = new Uint8Array(stdout.length + stderr.length);
  log.set(stdout);
  log.set(stderr, stdout.length);
  Deno.writeFileSync(logPath, log);
  let ok = code === 0;
  try {
    Deno.statSync(executedPath);
  } catch {
    ok = false;
  }
  return { ok, seconds, logPath, code };
}

/** The failing cell and its error from an nbconvert log (else the log's last lines). */
function failureReport(logPath: string): string {
  const lines = Deno.readTextFileSync(logPath).trimEnd().split("\n");
  const start = lines.findIndex((l) => l.includes("CellExecutionError:"));
  return (start >= 0 ? lines.slice(start, start + 60) : lines.slice(-40)).join("\n");
}

const SPEC = {
  name: "deno task notebooks",
  usage: "[--out-dir DIR] [--timeout SECONDS] [notebook.ipynb ...]",
  description: `Executes notebooks into ${EXECUTED_NOTEBOOKS_DIR} (default).`,
  options: {
    "out-dir": {
      type: "string",
      default: EXECUTED_NOTEBOOKS_DIR,
      placeholder: "DIR",
      describe: "where the executed copies go",
    },
    timeout: { type: "number", default: 600, placeholder: "SECONDS", describe: "per cell" },
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

async function main(args: string[]): Promise<number> {
  const { help, options: values, positionals } = parseCommandLine(args, SPEC);
  if (help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const timeoutS = values.timeout;
  if (!(timeoutS > 0)) {
    throw new UsageError(`--timeout must be a positive number of seconds, got "${timeoutS}"`);
  }
  const outDir = values["out-dir"];
  const paths = positionals.length > 0 ? positionals : listNotebooks();
  await ensureDenoKernel();
  Deno.mkdirSync(outDir, { recursive: true });

  let passed = 0, failed = 0;
  for (const path of paths) {
    const shown = relative(Deno.cwd(), path);
    const result = await executeNotebook(path, outDir, timeoutS);
    const took = `${result.seconds.toFixed(1)} s`;
    if (result.ok) {
      passed++;
      console.log(`notebook ok: ${shown} (${took})`);
    } else {
      failed++;
      console.log(failureReport(result.logPath));
      console.log(
        `notebook FAILED: ${shown} (exit ${result.code}, ${took}; log: ${
          relative(Deno.cwd(), result.logPath)
        })`,
      );
    }
  }
  console.log(`notebooks: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) await runCommand("notebooks", main);
