/**
 * The trainer's log lines. Like OLMo (`LOG_FILTER_TYPE=rank0_only`), only rank 0 prints progress
 * and metrics; warnings are printed by rank 0 too, so a message appears once per run.
 *
 * @module
 */

/** Where the trainer's messages go. */
export interface TrainLogger {
  /** An informational line (metrics blocks, progress, checkpoint paths). */
  info(message: string): void;
  /** A warning (ignored settings, skipped evaluators, ...). */
  warn(message: string): void;
}

/** A logger that drops everything (tests, non-zero ranks). */
export const SILENT_LOGGER: TrainLogger = { info() {}, warn() {} };

/**
 * Info lines to stdout, warnings to stderr (prefixed `warning: `); only when `enabled` (rank 0
 * by default).
 */
export function consoleLogger(enabled = true): TrainLogger {
  if (!enabled) return SILENT_LOGGER;
  return {
    info: (message) => console.log(message),
    warn: (message) => console.error(`warning: ${message}`),
  };
}
