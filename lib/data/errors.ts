/**
 * Typed errors of the data module, so callers decide by class (`instanceof`) rather than by
 * matching message text. `MissingTokenDataError` is what the training command turns into its
 * "how to prepare data" explanation (`lib/train/missing_data.ts`).
 *
 * @module
 */

/** Options of {@link MissingTokenDataError}. */
export interface MissingTokenDataErrorOptions extends ErrorOptions {
  /**
   * The config key of the data at fault (`data.paths`, `evaluators[1].data.paths`), when the
   * thrower knows it; the data readers themselves do not.
   */
  configKey?: string;
}

/**
 * Token data that is not there: a token file that cannot be read, a data config that names no
 * files, or files that hold no complete instance. The message names the file or setting.
 */
export class MissingTokenDataError extends Error {
  /** The config key of the data at fault, or null when the thrower does not know it. */
  readonly configKey: string | null;

  /** @param message names the file or setting at fault */
  constructor(message: string, options: MissingTokenDataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MissingTokenDataError";
    this.configKey = options.configKey ?? null;
  }
}
