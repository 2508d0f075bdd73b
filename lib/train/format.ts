/**
 * OLMo's console formatting of metrics (`Trainer.log_metrics_to_console`).
 *
 * @module
 */

/** Formats a value as OLMo does: `<1e-4` raw, `>1000` with thousands separators, then .1f/.2f/.3f/.4f. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value < 1e-4) return pythonRepr(value);
  if (value > 1000) return Math.trunc(value).toLocaleString("en-US");
  if (value > 100) return value.toFixed(1);
  if (value > 10) return value.toFixed(2);
  if (value > 1) return value.toFixed(3);
  return value.toFixed(4);
}

/** Python's `str(float)` for the values this formatter passes through unchanged. */
function pythonRepr(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    // Python switches to exponent notation below 1e-4 and writes at least two exponent digits.
    return value.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/**
 * The console block OLMo logs every `console_log_interval` steps:
 * `[step=N/MAX]` then one `    name=value` line per metric, `optim/*` excluded.
 */
export function formatMetricsBlock(
  prefix: string,
  metrics: Record<string, number>,
): string {
  const lines = Object.entries(metrics)
    .filter(([name]) => !name.startsWith("optim/"))
    .map(([name, value]) => `    ${name}=${formatMetric(value)}`);
  return [`[${prefix}]`, ...lines].join("\n");
}
