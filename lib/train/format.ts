/**
 * OLMo's console formatting of metrics (`Trainer.log_metrics_to_console`).
 *
 * @module
 */

/**
 * Formats a value as OLMo does: `<1e-4` as Python's `str`, `>1000` as an integer with thousands
 * separators, then `.1f`/`.2f`/`.3f`/`.4f` (rounding exact ties to even, as Python does).
 */
export function formatMetric(value: number): string {
  if (Number.isNaN(value)) return "nan"; // Python: every comparison is false → f"{nan:.4f}"
  if (value === Infinity) return "inf"; // (Python would fail on int(inf))
  if (value < 1e-4) return pythonRepr(value);
  if (value > 1000) return BigInt(Math.trunc(value)).toLocaleString("en-US");
  if (value > 100) return toFixedHalfEven(value, 1);
  if (value > 10) return toFixedHalfEven(value, 2);
  if (value > 1) return toFixedHalfEven(value, 3);
  return toFixedHalfEven(value, 4);
}

/**
 * `value.toFixed(digits)` for a positive value, except that an exact tie goes to the even last
 * digit (Python's formatting) instead of up. `toFixed` works on the exact binary value, so a tie
 * is a value whose exact decimal expansion ends in 5 right after the kept digits.
 */
function toFixedHalfEven(value: number, digits: number): string {
  const rounded = value.toFixed(digits);
  const exact = value.toFixed(100).replace(/0+$/, "");
  const dot = exact.indexOf(".");
  if (exact.length !== dot + digits + 2 || !exact.endsWith("5")) return rounded;
  const down = exact.slice(0, -1).replace(/\.$/, "");
  return Number(down.at(-1)) % 2 === 0 ? down : rounded;
}

/** Python's `str(float)` for the values this formatter passes through unchanged. */
function pythonRepr(value: number): string {
  if (value === -Infinity) return "-inf";
  if (Object.is(value, -0)) return "-0.0";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    // Python switches to exponent notation below 1e-4 and writes at least two exponent digits.
    return value.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/**
 * A console block as OLMo's `log_metrics_to_console`: the `prefix` line (`[step=N/MAX]` for a
 * training step, the evaluator's label for an evaluation) then one `    name=value` line per
 * metric, `optim/*` excluded.
 */
export function formatMetricsBlock(
  prefix: string,
  metrics: Record<string, number>,
): string {
  const lines = Object.entries(metrics)
    .filter(([name]) => !name.startsWith("optim/"))
    .map(([name, value]) => `    ${name}=${formatMetric(value)}`);
  return [prefix, ...lines].join("\n");
}
