/**
 * Merging raw YAML and command-line overrides into a config tree shaped by the schema, with
 * OmegaConf's semantics: mappings merge key by key into the defaults, lists replace, `null`
 * replaces, and unknown keys are errors. Values are not type-checked here (an interpolation may
 * stand anywhere until it is resolved); `validate.ts` does that at the end. `Provenance` remembers
 * where each value came from so later errors can name the file or "command line".
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { closestMatch, ConfigError, formatKeyPath, type PathSegment } from "./errors.ts";
import type { FieldSchema, ObjectSchema } from "./schema.ts";
import { TRAIN_CONFIG_SCHEMA } from "./train_config.ts";

/** Placeholder for a required field nobody set (OmegaConf's `???`). */
export const MISSING: unique symbol = Symbol("MISSING");

/** A config tree node: plain objects, arrays, primitives, interpolation strings, `MISSING`. */
export type Tree = Record<string, unknown>;

/** Where the values of one config tree came from. */
export class Provenance {
  readonly #sources = new Map<string, string>();
  readonly #interpolations = new Map<string, string>();

  /** @param fallback Source named for values nobody set (defaults). */
  constructor(readonly fallback: string) {}

  /** Records that the value at `path` was set by `source`. */
  setSource(path: readonly PathSegment[], source: string): void {
    this.#sources.set(formatKeyPath(path), source);
  }

  /** The source of the value at `path`, or of its nearest ancestor. */
  sourceOf(path: readonly PathSegment[]): string {
    for (let n = path.length; n >= 0; n--) {
      const s = this.#sources.get(formatKeyPath(path.slice(0, n)));
      if (s !== undefined) return s;
    }
    return this.fallback;
  }

  /** Records the interpolation text a value was resolved from. */
  setInterpolation(path: readonly PathSegment[], text: string): void {
    this.#interpolations.set(formatKeyPath(path), text);
  }

  /** The interpolation text the value at `path` came from, if any. */
  interpolationOf(path: readonly PathSegment[]): string | undefined {
    return this.#interpolations.get(formatKeyPath(path));
  }
}

/** True for a string that holds `${...}` (possibly escaped as `\${`). */
export function isInterpolation(value: unknown): value is string {
  return typeof value === "string" && value.includes("${");
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Tree {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A fresh defaults object for `schema`, with required fields set to `MISSING`. */
export function freshDefaults(schema: ObjectSchema): Tree {
  const out = schema.defaults();
  for (const key of schema.required) out[key] = MISSING;
  return out;
}

/** Every `a.b.c` field path of the train schema whose last key is `key` (for suggestions). */
function fieldPathsNamed(key: string, schema: ObjectSchema, prefix: string[] = []): string[] {
  const found: string[] = [];
  for (const [name, field] of Object.entries(schema.fields)) {
    if (name === key) found.push([...prefix, name].join("."));
    if (field.kind === "object") {
      found.push(...fieldPathsNamed(key, field.schema, [...prefix, name]));
    }
  }
  return found;
}

/** The "unknown key" error, with the closest valid key or the list of valid keys. */
export function unknownKeyError(
  source: string,
  path: readonly PathSegment[],
  schema: ObjectSchema,
): ConfigError {
  const key = String(path[path.length - 1]);
  const valid = Object.keys(schema.fields);
  const close = closestMatch(key, valid);
  let hint: string;
  if (close !== null) {
    hint = ` (did you mean '${formatKeyPath([...path.slice(0, -1), close])}'?)`;
  } else {
    const elsewhere = fieldPathsNamed(key, TRAIN_CONFIG_SCHEMA);
    hint = elsewhere.length > 0
      ? ` (did you mean '${elsewhere[0]}'?)`
      : `; valid keys of ${schema.name}: ${valid.join(", ")}`;
  }
  return new ConfigError(`${source}: unknown key '${formatKeyPath(path)}'${hint}`);
}

/**
 * Merges `incoming` (raw YAML data) into `current` (the tree value at `path`, possibly undefined)
 * and returns the merged value. Mappings merge into `current` or into fresh defaults; lists,
 * scalars, `null` and interpolation strings replace.
 */
export function mergeValue(
  field: FieldSchema,
  current: unknown,
  incoming: unknown,
  path: readonly PathSegment[],
  source: string,
  prov: Provenance,
): unknown {
  prov.setSource(path, source);
  if (isInterpolation(incoming)) return incoming;
  if (field.kind === "object" && isPlainObject(incoming)) {
    const { schema } = field;
    const base = isPlainObject(current) ? current : freshDefaults(schema);
    const raw = schema.legacy ? schema.legacy(incoming) : incoming;
    for (const [key, value] of Object.entries(raw)) {
      if (!(key in schema.fields)) throw unknownKeyError(source, [...path, key], schema);
      base[key] = mergeValue(schema.fields[key], base[key], value, [...path, key], source, prov);
    }
    return base;
  }
  if (field.kind === "dict" && isPlainObject(incoming)) {
    const base = isPlainObject(current) ? current : {};
    for (const [key, value] of Object.entries(incoming)) {
      base[key] = mergeValue(field.value, base[key], value, [...path, key], source, prov);
    }
    return base;
  }
  if ((field.kind === "list" || field.kind === "tuple") && Array.isArray(incoming)) {
    return incoming.map((item, i) => {
      const itemField = field.kind === "list" ? field.item : field.items[i];
      return itemField === undefined
        ? item
        : mergeValue(itemField, undefined, item, [...path, i], source, prov);
    });
  }
  return incoming;
}

/**
 * OLMo's `clean_opt`: no `=` means `=true`; in the key, strip leading and trailing dashes and
 * turn `-` into `_` (`--save-overwrite` → `save_overwrite=true`). As in OLMo this applies to dict
 * keys too; set a dashed dict key through its parent (`--data.datasets={a-b: [x.npy]}`).
 */
export function cleanOverride(arg: string): string {
  const withValue = arg.includes("=") ? arg : `${arg}=true`;
  const eq = withValue.indexOf("=");
  const key = withValue.slice(0, eq).replace(/^-+/, "").replace(/-+$/, "").replaceAll("-", "_");
  return `${key}=${withValue.slice(eq + 1)}`;
}

/** Splits an override into its key and its YAML-parsed value (`null`, `[]`, `[0.9,0.99]`, ...). */
export function parseOverride(arg: string, source: string): { key: string; value: unknown } {
  const cleaned = cleanOverride(arg);
  const eq = cleaned.indexOf("=");
  const key = cleaned.slice(0, eq);
  const text = cleaned.slice(eq + 1);
  if (key === "" || key.split(".").some((s) => s === "")) {
    throw new ConfigError(`${source}: malformed override '${arg}' (expected --a.b=value)`);
  }
  try {
    return { key, value: parseYaml(text) };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ConfigError(`${source}: override '${arg}': value is not valid YAML: ${msg}`);
  }
}

/**
 * Applies one `a.b.c=value` override (cleaned by `cleanOverride`) to `root`, a tree of
 * `rootSchema`. List elements are addressed by index (`evaluators.0.label`). A null optional
 * section (`wandb`) is created from its defaults on the way down.
 */
export function applyOverride(
  rootSchema: ObjectSchema,
  root: Tree,
  override: string,
  source: string,
  prov: Provenance,
): void {
  const { key, value } = parseOverride(override, source);
  const segments = key.split(".");
  let field: FieldSchema = { kind: "object", schema: rootSchema };
  let node: unknown = root;
  const path: PathSegment[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    const at = formatKeyPath(path);
    if (isInterpolation(node)) {
      throw new ConfigError(`${source}: cannot set '${key}': '${at}' is an interpolation`);
    }
    if ((field.kind === "object" || field.kind === "dict") && !isPlainObject(node)) {
      throw new ConfigError(`${source}: cannot set '${key}': '${at}' is not a mapping`);
    }
    let childField: FieldSchema;
    let childKey: PathSegment;
    if (field.kind === "object") {
      if (!(seg in field.schema.fields)) {
        throw unknownKeyError(source, [...path, seg], field.schema);
      }
      childField = field.schema.fields[seg];
      childKey = seg;
    } else if (field.kind === "dict") {
      childField = field.value;
      childKey = seg;
    } else if ((field.kind === "list" || field.kind === "tuple") && Array.isArray(node)) {
      const index = /^\d+$/.test(seg) ? Number(seg) : -1;
      if (index < 0 || index >= node.length) {
        throw new ConfigError(
          `${source}: cannot set '${key}': '${at}' has ${node.length} items, no index '${seg}'`,
        );
      }
      childField = field.kind === "list" ? field.item : field.items[index];
      childKey = index;
    } else {
      throw new ConfigError(`${source}: cannot set '${key}': '${at}' has no key '${seg}'`);
    }
    const parent = node as Record<string | number, unknown>;
    path.push(childKey);
    if (last) {
      parent[childKey] = mergeValue(childField, parent[childKey], value, path, source, prov);
      return;
    }
    let child = parent[childKey];
    if ((child === null || child === undefined) && childField.kind === "object") {
      child = parent[childKey] = freshDefaults(childField.schema);
    } else if ((child === null || child === undefined) && childField.kind === "dict") {
      child = parent[childKey] = {};
    }
    field = childField;
    node = child;
  }
}
