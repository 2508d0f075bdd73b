/**
 * `ConfigError` (OLMo's `OlmoConfigurationError`) and the helpers that make its messages name the
 * source, the key path and the closest valid key.
 *
 * @module
 */

/** Any problem with a configuration: unknown key, wrong type, bad enum value, interpolation. */
export class ConfigError extends Error {
  /** A config error whose `message` names the source (file or "command line"), key path and problem. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/**
 * An interpolation that could not be resolved. `keyPath` is the key whose value it is
 * (`data.paths`, `evaluators[0].data.paths`); `cause` is what the resolver or lookup threw.
 */
export class InterpolationError extends ConfigError {
  /**
   * @param message names the source, the key, the interpolation and the reason
   * @param keyPath the key whose interpolation failed, as `formatKeyPath` writes it
   */
  constructor(message: string, readonly keyPath: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InterpolationError";
  }
}

/**
 * A path resolver (`path.glob`, `path.choose`) found nothing on disk: a glob without matches, or
 * none of the choices exists. Loaders that explain missing data test for it with `instanceof`.
 */
export class PathNotFoundError extends Error {
  /** @param message names the pattern or paths that were looked for */
  constructor(message: string) {
    super(message);
    this.name = "PathNotFoundError";
  }
}

/** One step of a key path: a field or dict key, or a list index. */
export type PathSegment = string | number;

/** `["evaluators", 0, "label"]` → `evaluators[0].label`; `[]` → `(root)`. */
export function formatKeyPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out === "" ? "(root)" : out;
}

/** Levenshtein edit distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (case, `-` and `_` ignored), or null when none is within
 * about a third of the word's length.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | null {
  const norm = (s: string) => s.toLowerCase().replaceAll("-", "_");
  const w = norm(word);
  let best: string | null = null;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, norm(c));
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = Math.max(2, Math.floor(w.length / 3));
  return bestDist <= limit ? best : null;
}

/** A short description of a value for messages: `'abc'`, `3`, `a list`, `a mapping`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return `'${value}' (a string)`;
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${String(value)} (a ${typeof value})`;
}
