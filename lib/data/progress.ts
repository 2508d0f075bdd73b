/**
 * Progress display for data preparation, on stderr: an animated `cli-progress` bar on a
 * terminal, plain periodic lines otherwise (cli-progress prints nothing off a TTY).
 *
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";

/** Counters shown next to the bar. */
export interface ProgressCounts {
  /** Tokens written so far. */
  tokens: number;
  /** Documents written so far. */
  documents: number;
}

/** A progress display over a known total of work units (input bytes). */
export interface ProgressReporter {
  /** Reports `done` units of the total and the running counters. */
  update(done: number, counts: ProgressCounts): void;
  /** Finishes the display (prints a final line off a TTY). */
  stop(): void;
}

/** A reporter that shows nothing. */
export const SILENT_PROGRESS: ProgressReporter = { update() {}, stop() {} };

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/**
 * A bar labelled `label` over `total` units with tokens, tokens/s and documents. Off a terminal
 * (`terminal` defaults to whether stderr is one) it prints a line every `intervalMs` (default
 * 10 s) and at the end.
 */
export function createProgress(
  label: string,
  total: number,
  options: { intervalMs?: number; terminal?: boolean } = {},
): ProgressReporter {
  const started = performance.now();
  const rate = (tokens: number) => tokens / Math.max((performance.now() - started) / 1000, 1e-3);
  if (options.terminal ?? Deno.stderr.isTerminal()) {
    const bar = new cliProgress.SingleBar({
      format: `${label} |{bar}| {percentage}% | {tokens} tokens | {rate} tok/s | {documents} docs` +
        " | ETA {eta_formatted}",
      hideCursor: true,
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic);
    bar.start(Math.max(total, 1), 0, { tokens: "0", rate: "0", documents: "0" });
    let last: ProgressCounts = { tokens: 0, documents: 0 };
    return {
      update(done, counts) {
        last = counts;
        bar.update(Math.min(done, total), {
          tokens: formatCount(counts.tokens),
          rate: formatCount(rate(counts.tokens)),
          documents: formatCount(counts.documents),
        });
      },
      stop() {
        bar.update(Math.max(total, 1), {
          tokens: formatCount(last.tokens),
          rate: formatCount(rate(last.tokens)),
          documents: formatCount(last.documents),
        });
        bar.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 10_000;
  let lastPrint = started;
  let last: ProgressCounts = { tokens: 0, documents: 0 };
  let lastDone = 0;
  const line = (done: number) => {
    const pct = total > 0 ? Math.min(100, (100 * done) / total).toFixed(0) : "100";
    console.error(
      `${label}: ${pct}% | ${formatCount(last.tokens)} tokens | ` +
        `${formatCount(rate(last.tokens))} tok/s | ${formatCount(last.documents)} docs`,
    );
  };
  return {
    update(done, counts) {
      last = counts;
      lastDone = done;
      const now = performance.now();
      if (now - lastPrint >= interval) {
        lastPrint = now;
        line(done);
      }
    },
    stop() {
      line(Math.max(lastDone, total));
    },
  };
}
