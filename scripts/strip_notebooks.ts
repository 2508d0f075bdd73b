/**
 * Removes outputs, execution counts and run metadata from notebooks, so that git holds only
 * their code (`deno task nb-strip`). With `--check` it changes nothing and exits 1 when a
 * notebook still has run state.
 *
 * ```bash
 * deno task nb-strip                     # every notebooks/*.ipynb, in place
 * deno task nb-strip --check             # CI-style check
 * deno task nb-strip notebooks/01_beam_search.ipynb
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
import { runCommand } from "../lib/command/run.ts";
import { join } from "node:path";
import { hasRunState, readNotebook, stripNotebook, writeNotebook } from "./notebook_format.ts";

/** The notebooks folder of the repository. */
export const NOTEBOOKS_DIR: string = join(import.meta.dirname!, "..", "notebooks");

/** Every `.ipynb` in `dir`, sorted by name. */
export function listNotebooks(dir: string = NOTEBOOKS_DIR): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => join(dir, e.name))
    .sort();
}

const SPEC = {
  name: "deno task nb-strip",
  usage: "[--check] [notebook.ipynb ...]",
  options: {
    check: { type: "boolean", default: false, describe: "only report notebooks with outputs" },
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

async function main(args: string[]): Promise<number> {
  const { help, options: values, positionals } = parseCommandLine(args, SPEC);
  if (help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const paths = positionals.length > 0 ? positionals : listNotebooks();
  let dirty = 0;
  for (const path of paths) {
    const nb = readNotebook(path);
    if (!hasRunState(nb)) continue;
    dirty++;
    if (values.check) {
      console.error(`${path}: has outputs or execution counts; run \`deno task nb-strip\``);
    } else {
      await writeNotebook(path, stripNotebook(nb));
      console.error(`stripped ${path}`);
    }
  }
  return values.check && dirty > 0 ? 1 : 0;
}

if (import.meta.main) await runCommand("nb-strip", main);
