/**
 * Plumbing shared by the command-line entry points (`cli/*.ts`): how a command's own yargs
 * parser is finished and parsed, and how its `main` turns into an exit code and an error line.
 *
 * @module
 */

/** A usage mistake: {@link runCommand} prints the usage text and exits with code 2. */
export class UsageError extends Error {}

/**
 * Checks a parse result's `--key`s (every property except `_` and `$0`) against `known`.
 * @throws UsageError naming the first unknown option.
 */
export function rejectUnknownOptions(
  parsed: Record<string, unknown>,
  known: readonly string[],
): void {
  const unknown = Object.keys(parsed).filter((k) => k !== "_" && k !== "$0" && !known.includes(k));
  if (unknown.length > 0) throw new UsageError(`unknown option --${unknown[0]}`);
}

/** The yargs calls {@link parseStrictArgs} makes (yargs ships no TypeScript types). */
export interface StrictArgsParser {
  /** Rejects unknown options and arguments. */
  strict(): StrictArgsParser;
  /** Turns `--version` off. */
  version(enabled: false): StrictArgsParser;
  /** Adds `--help`. */
  help(): StrictArgsParser;
  /** Whether yargs may exit the process. */
  exitProcess(enabled: boolean): StrictArgsParser;
  /** Handles a parse failure. */
  fail(handler: (message: string | null, error: Error | undefined) => never): StrictArgsParser;
  /** Parses the arguments. */
  parse(): unknown;
}

/**
 * Finishes a command's yargs parser (its options already declared) and parses: unknown options
 * are errors, `--help` prints the help (the result then has `help: true`), there is no
 * `--version`, and bad arguments throw an `Error` with yargs' message instead of exiting.
 */
export async function parseStrictArgs<T>(parser: StrictArgsParser): Promise<T> {
  return await parser
    .strict()
    .version(false)
    .help()
    .exitProcess(false)
    .fail((message: string | null, error: Error | undefined) => {
      throw error ?? new Error(message ?? "invalid arguments");
    })
    .parse() as T;
}

/**
 * Runs a command's `main` on `Deno.args` and exits with its code. An error prints
 * `NAME: message` and exits 1; after a {@link UsageError} it also prints `usage` (when given)
 * and exits 2.
 */
export async function runCommand(
  name: string,
  main: (args: string[]) => Promise<number>,
  usage?: string,
): Promise<never> {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    if (e instanceof UsageError) {
      if (usage !== undefined) console.error(usage);
      Deno.exit(2);
    }
    Deno.exit(1);
  }
}
