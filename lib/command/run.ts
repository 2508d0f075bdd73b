/**
 * How a command's `main` (`cli/*.ts`) turns into an exit code and an error line.
 *
 * @module
 */

/** A usage mistake: {@link runCommand} prints the usage text and exits with code 2. */
export class UsageError extends Error {}

/**
 * Runs a command's `main` on `Deno.args` and exits with its code. An error prints
 * `NAME: message` (or `NAME: describe(error)`) and exits 1; after a {@link UsageError} it also
 * prints `usage` (when given) and exits 2.
 */
export async function runCommand(
  name: string,
  main: (args: string[]) => Promise<number>,
  usage?: string,
  describe: (error: Error) => string = (error) => error.message,
): Promise<never> {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`${name}: ${e instanceof UsageError ? e.message : describe(e as Error)}`);
    if (e instanceof UsageError) {
      if (usage !== undefined) console.error(usage);
      Deno.exit(2);
    }
    Deno.exit(1);
  }
}
