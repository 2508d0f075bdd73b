/**
 * The last step of loading: checks a resolved config tree against the schema and converts it to
 * typed values. Strings from the command line or environment are coerced as OmegaConf does
 * (`"3"` → 3 for int, `"1e-4"` → 0.0001 for float, `"false"`/`"no"`/`"off"` → false for bool;
 * numbers and booleans → strings for str fields). Errors name the source, the key path, what was
 * expected and, for values that came from an interpolation, the interpolation.
 *
 * @module
 */
import {
  closestMatch,
  ConfigError,
  describeValue,
  formatKeyPath,
  type PathSegment,
} from "./errors.ts";
import { isPlainObject, MISSING, type Provenance, unknownKeyError } from "./merge.ts";
import { describeField, type FieldSchema, type ObjectSchema } from "./schema.ts";
import { parseDuration } from "./duration.ts";

const TRUE_STRINGS = new Set(["true", "yes", "on", "y", "1"]);
const FALSE_STRINGS = new Set(["false", "no", "off", "n", "0"]);

function fail(prov: Provenance, path: readonly PathSegment[], message: string): never {
  const from = prov.interpolationOf(path);
  const note = from !== undefined ? ` (resolved from '${from}')` : "";
  throw new ConfigError(`${prov.sourceOf(path)}: ${formatKeyPath(path)}: ${message}${note}`);
}

function typeError(
  prov: Provenance,
  path: readonly PathSegment[],
  field: FieldSchema,
  value: unknown,
): never {
  return fail(prov, path, `expected ${describeField(field)}, got ${describeValue(value)}`);
}

/** Validates and converts `value` for `field`; returns the typed value. */
export function validateValue(
  field: FieldSchema,
  value: unknown,
  path: readonly PathSegment[],
  prov: Provenance,
): unknown {
  if (value === MISSING) {
    fail(prov, path, "missing required value (it has no default)");
  }
  if (field.kind === "enum" && field.aliases) {
    for (const [legacy, current] of field.aliases) if (value === legacy) value = current;
  }
  if (field.kind === "any") return value;
  if (value === null || value === undefined) {
    if (field.kind !== "duration" && field.nullable) return null;
    return fail(prov, path, `may not be null; expected ${describeField(field)}`);
  }
  switch (field.kind) {
    case "int":
      if (typeof value === "number" && Number.isInteger(value)) return value;
      if (typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
      return typeError(prov, path, field, value);
    case "float":
      if (typeof value === "number") return value;
      if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) {
        return Number(value);
      }
      return typeError(prov, path, field, value);
    case "bool":
      if (typeof value === "boolean") return value;
      if (typeof value === "string" && TRUE_STRINGS.has(value.trim().toLowerCase())) return true;
      if (typeof value === "string" && FALSE_STRINGS.has(value.trim().toLowerCase())) return false;
      if (value === 0 || value === 1) return value === 1;
      return typeError(prov, path, field, value);
    case "str":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      return typeError(prov, path, field, value);
    case "enum": {
      if (typeof value === "string" && field.values.includes(value)) return value;
      const close = typeof value === "string" ? closestMatch(value, field.values) : null;
      const hint = close !== null ? ` (did you mean '${close}'?)` : "";
      return fail(
        prov,
        path,
        `invalid ${field.name} ${describeValue(value)}; expected one of: ` +
          `${field.values.join(", ")}${hint}`,
      );
    }
    case "duration":
      if (typeof value !== "number" && typeof value !== "string") {
        return typeError(prov, path, field, value);
      }
      try {
        parseDuration(value);
      } catch (e) {
        return fail(prov, path, (e as Error).message.replace(/^max_duration: /, ""));
      }
      return value;
    case "list":
      if (!Array.isArray(value)) return typeError(prov, path, field, value);
      return value.map((item, i) => validateValue(field.item, item, [...path, i], prov));
    case "tuple":
      if (!Array.isArray(value) || value.length !== field.items.length) {
        return typeError(prov, path, field, value);
      }
      return value.map((item, i) => validateValue(field.items[i], item, [...path, i], prov));
    case "dict": {
      if (!isPlainObject(value)) return typeError(prov, path, field, value);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        out[k] = validateValue(field.value, v, [...path, k], prov);
      }
      return out;
    }
    case "object":
      if (!isPlainObject(value)) return typeError(prov, path, field, value);
      return validateObject(field.schema, value, path, prov);
  }
}

/**
 * Validates a mapping against `schema` and returns a new object with every field in schema
 * order. Fields absent from `value` (possible when a whole section came from an interpolation)
 * take their defaults.
 */
export function validateObject(
  schema: ObjectSchema,
  value: Record<string, unknown>,
  path: readonly PathSegment[],
  prov: Provenance,
): Record<string, unknown> {
  for (const key of Object.keys(value)) {
    if (!(key in schema.fields)) throw unknownKeyError(prov.sourceOf(path), [...path, key], schema);
  }
  const defaults = schema.defaults();
  for (const key of schema.required) defaults[key] = MISSING;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.fields)) {
    const v = Object.hasOwn(value, key) ? value[key] : defaults[key];
    out[key] = validateValue(field, v, [...path, key], prov);
  }
  return out;
}
