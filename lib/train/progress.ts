/**
 * Training progress on stderr: a `cli-progress` bar with the step, loss, throughput and ETA when
 * stderr is a terminal; otherwise (logs, CI) one plain line every `intervalMs`. Log lines printed
 * while the bar is shown go above it, so the bar never tears.
 *
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";
import type { TrainLogger } from "./log.ts";

/** What the progress display shows for the current step. */
export interface ProgressInfo {
  /** Training loss of the step (CE), if known. */
  loss?: number;
  /** Tokens per second, if known. */
  tokensPerSecond?: number;
}

/** Options of `TrainProgress`. */
export interface TrainProgressOptions {
  /** Force the bar on or off (default: on when stderr is a terminal). */
  tty?: boolean;
  /** Interval between plain progress lines off a terminal, ms. Default 30 000. */
  intervalMs?: number;
  /** Show nothing at all (non-zero ranks, tests). */
  silent?: boolean;
}

/** Formats seconds as `1h02m03s`, `2m03s` or `3s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m${String(r).padStart(2, "0")}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

/** A progress display over the steps `[startStep, maxSteps]`. */
export class TrainProgress {
  readonly #logger: TrainLogger;
  readonly #tty: boolean;
  readonly #silent: boolean;
  readonly #intervalMs: number;
  #bars: cliProgress.MultiBar | null = null;
  #bar: cliProgress.SingleBar | null = null;
  #startStep = 0;
  #maxSteps = 0;
  #startedMs = 0;
  #lastLineMs = 0;

  /** Log lines go through `logger` (or above the bar while it is shown). */
  constructor(logger: TrainLogger, opts: TrainProgressOptions = {}) {
    this.#logger = logger;
    this.#silent = opts.silent ?? false;
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    this.#intervalMs = opts.intervalMs ?? 30_000;
  }

  /** Starts showing progress; `startStep` steps are already done (a restart). */
  start(startStep: number, maxSteps: number): void {
    this.#startStep = startStep;
    this.#maxSteps = maxSteps;
    this.#startedMs = this.#lastLineMs = performance.now();
    if (this.#silent || !this.#tty) return;
    this.#bars = new cliProgress.MultiBar({
      format: "train |{bar}| step {value}/{total} | loss {loss} | {tps} tok/s | " +
        "elapsed {elapsed} | ETA {eta_left}",
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    this.#bar = this.#bars.create(maxSteps, startStep, {
      loss: "-",
      tps: "-",
      elapsed: "0s",
      eta_left: "?",
    });
  }

  /** Seconds left at the average pace of this process's steps so far. */
  #eta(step: number): number {
    const done = step - this.#startStep;
    if (done <= 0) return NaN;
    const perStep = (performance.now() - this.#startedMs) / 1000 / done;
    return perStep * (this.#maxSteps - step);
  }

  /** Reports that `step` is finished. */
  update(step: number, info: ProgressInfo = {}): void {
    if (this.#silent) return;
    const elapsed = formatDuration((performance.now() - this.#startedMs) / 1000);
    const loss = info.loss === undefined ? "-" : info.loss.toFixed(4);
    const tps = info.tokensPerSecond === undefined ? "-" : Math.round(info.tokensPerSecond);
    const eta = formatDuration(this.#eta(step));
    if (this.#bar !== null) {
      this.#bar.update(step, { loss, tps, elapsed, eta_left: eta });
      return;
    }
    const now = performance.now();
    if (now - this.#lastLineMs >= this.#intervalMs || step === this.#maxSteps) {
      this.#lastLineMs = now;
      const pct = this.#maxSteps > 0 ? ((100 * step) / this.#maxSteps).toFixed(1) : "100";
      console.error(
        `[progress] step ${step}/${this.#maxSteps} (${pct}%) | loss ${loss} | ${tps} tok/s | ` +
          `elapsed ${elapsed} | ETA ${eta}`,
      );
    }
  }

  /** An info line: above the bar when it is shown, else through the logger. */
  info(message: string): void {
    if (this.#bars !== null) this.#bars.log(message.endsWith("\n") ? message : `${message}\n`);
    else this.#logger.info(message);
  }

  /** A warning (always through the logger's warning channel, above the bar when shown). */
  warn(message: string): void {
    if (this.#bars !== null) this.#bars.log(`warning: ${message}\n`);
    else this.#logger.warn(message);
  }

  /** Stops the bar (leaving its last state on screen). */
  stop(): void {
    this.#bars?.stop();
    this.#bars = null;
    this.#bar = null;
  }
}
