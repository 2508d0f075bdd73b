/**
 * The config schema as data. Each section's fields are written once, as an `as const` object
 * literal of descriptors (kind, nullability, enum values, default, doc), and passed to
 * `defineSection`; the section's TypeScript type (`ConfigOf`) and its defaults (`defaults()`)
 * are derived from that one declaration, and TypeScript checks each default against its kind.
 * The merger, the validator, the saver and `--help` all walk the same descriptors.
 *
 * Adding a key is one entry in its section's field list, e.g. in `model_config.ts`:
 *
 * ```ts
 * rope_theta: { ...FLOAT, default: 10000, doc: "RoPE base frequency." },
 * ```
 *
 * (The field lists are plain literals rather than builder calls so that the public types stay
 * explicit for `deno lint`'s no-slow-types rule.)
 *
 * @module
 */

/** Legacy spellings OLMo's loader rewrites: `[old value, new value]`. */
export type EnumAliases = readonly (readonly [unknown, string | null])[];

/** Descriptor of one config value: how it is checked, merged and described. */
export type FieldSchema =
  | { readonly kind: "int" | "float" | "bool" | "str"; readonly nullable?: boolean }
  | {
    readonly kind: "enum";
    /** Enum name for messages, e.g. `OptimizerType`. */
    readonly name: string;
    readonly values: readonly string[];
    readonly nullable?: boolean;
    /** Legacy spellings OLMo's loader rewrites. */
    readonly aliases?: EnumAliases;
  }
  /** `max_duration`: a number of steps or a duration string (`"2e9T"`). */
  | { readonly kind: "duration" }
  /** Any YAML value, kept as is (OLMo's `Dict[str, Any]` arguments). */
  | { readonly kind: "any" }
  | { readonly kind: "list"; readonly item: FieldSchema; readonly nullable?: boolean }
  | { readonly kind: "tuple"; readonly items: readonly FieldSchema[]; readonly nullable?: boolean }
  | { readonly kind: "dict"; readonly value: FieldSchema; readonly nullable?: boolean }
  | { readonly kind: "object"; readonly schema: ObjectSchema; readonly nullable?: boolean };

/** A field of a config class: its value descriptor plus its default and documentation. */
export type ConfigField<V extends FieldSchema = FieldSchema> = V & {
  /** The default (absent for `required` fields); copied afresh by `defaults()`. */
  readonly default?: unknown;
  /** What the field means, shown by `--help`. */
  readonly doc: string;
  /** True for fields without a default that every instance must set (OLMo's `MISSING`). */
  readonly required?: boolean;
};

/** Descriptor of a config class: its fields in OLMo's order and a factory for its defaults. */
export interface ObjectSchema {
  /** Class name for messages, e.g. `OptimizerConfig`. */
  readonly name: string;
  /** Field descriptors, in the order fields are saved. */
  readonly fields: Readonly<Record<string, ConfigField>>;
  /** A fresh object holding every default (required fields are absent). */
  readonly defaults: () => Record<string, unknown>;
  /** Fields without a default that every instance must set (OLMo's `MISSING`). */
  readonly required: readonly string[];
  /** Rewrites legacy spellings in a raw YAML mapping before it is merged (OLMo's loader). */
  readonly legacy?: (raw: Record<string, unknown>) => Record<string, unknown>;
}

/** The fields of a section, as written in its `defineSection` call. */
export type SectionFields = Readonly<Record<string, ConfigField>>;

/** An `ObjectSchema` that keeps the exact type of its fields, for `ConfigOf`. */
export interface SectionSchema<F extends SectionFields> extends ObjectSchema {
  /** Field descriptors, in the order fields are saved. */
  readonly fields: F;
  /** A fresh object holding every default (required fields are absent). */
  readonly defaults: () => DefaultsOf<F>;
}

type BaseValueOf<V> = V extends { kind: "int" | "float" } ? number
  : V extends { kind: "bool" } ? boolean
  : V extends { kind: "str" } ? string
  : V extends { kind: "enum"; values: readonly (infer E)[] } ? E
  : V extends { kind: "duration" } ? number | string
  : V extends { kind: "any" } ? unknown
  : V extends { kind: "list"; item: infer I } ? ValueOf<I>[]
  : V extends { kind: "tuple"; items: infer T extends readonly unknown[] }
    ? { -readonly [N in keyof T]: ValueOf<T[N]> }
  : V extends { kind: "dict"; value: infer W } ? Record<string, ValueOf<W>>
  : V extends { kind: "object"; schema: SectionSchema<infer F> } ? ConfigOf<F>
  : never;

/** The TypeScript type of values a descriptor accepts (`null` included when nullable). */
export type ValueOf<V> = V extends { nullable: true } ? BaseValueOf<V> | null : BaseValueOf<V>;

/** The TypeScript type of a config section, derived from its fields. */
export type ConfigOf<F> = { -readonly [K in keyof F]: ValueOf<F[K]> };

type RequiredKeys<F> = { [K in keyof F]: F[K] extends { required: true } ? K : never }[keyof F];

/** A section's defaults: every field except the required ones. */
export type DefaultsOf<F> = Omit<ConfigOf<F>, RequiredKeys<F>>;

/** An integer. */
export const INT = { kind: "int" } as const;
/** A number. */
export const FLOAT = { kind: "float" } as const;
/** A boolean (YAML `true`/`false`; `"yes"`/`"off"`/... from the command line). */
export const BOOL = { kind: "bool" } as const;
/** A string. */
export const STR = { kind: "str" } as const;
/** `max_duration`: a number of steps or a duration string (`"2e9T"`). */
export const DURATION = { kind: "duration" } as const;
/** Any value (OLMo's `Any`), kept as is. */
export const ANY = { kind: "any" } as const;
/** A nullable integer. */
export const NULL_INT = { kind: "int", nullable: true } as const;
/** A nullable number. */
export const NULL_FLOAT = { kind: "float", nullable: true } as const;
/** A nullable boolean. */
export const NULL_BOOL = { kind: "bool", nullable: true } as const;
/** A nullable string. */
export const NULL_STR = { kind: "str", nullable: true } as const;

/** The type a field's `default` must have: its value type with readonly lists (`as const`). */
type DefaultValue<V> = V extends { nullable: true } ? BaseDefault<V> | null : BaseDefault<V>;
type BaseDefault<V> = V extends { kind: "list"; item: infer I } ? readonly DefaultValue<I>[]
  : V extends { kind: "tuple"; items: infer T extends readonly unknown[] }
    ? { readonly [N in keyof T]: DefaultValue<T[N]> }
  : V extends { kind: "dict"; value: infer W } ? { readonly [key: string]: DefaultValue<W> }
  : BaseValueOf<V>;

/**
 * What `defineSection` demands of each field: a `default` of the field's own type, except for
 * `required` fields (none) and sections (their own defaults; `null` when the section is nullable).
 */
type CheckedFields<F> = {
  [K in keyof F]: F[K] extends { required: true } ? unknown
    : F[K] extends { kind: "object"; nullable: true } ? { readonly default: null }
    : F[K] extends { kind: "object" } ? { readonly kind: "object"; readonly default?: never }
    : { readonly default: DefaultValue<F[K]> };
};

/**
 * Declares a config class from its fields, written once as an `as const` object literal in
 * OLMo's order (the order of saved YAML); TypeScript checks every `default` against its field's
 * type. `defaults()` copies the declared defaults afresh (a section field without a `default`
 * takes its section's defaults). `legacy` rewrites old spellings in raw YAML before merging.
 */
export function defineSection<const F extends SectionFields & CheckedFields<F>>(
  name: string,
  fields: F,
  opts: { legacy?: ObjectSchema["legacy"] } = {},
): SectionSchema<F> {
  const entries: [string, ConfigField][] = Object.entries(fields);
  const defaultOf = (f: ConfigField): unknown =>
    f.kind === "object" && !("default" in f) ? f.schema.defaults() : structuredClone(f.default);
  return {
    name,
    fields,
    defaults: () =>
      Object.fromEntries(
        entries.filter(([, f]) => !f.required).map(([k, f]) => [k, defaultOf(f)]),
      ) as DefaultsOf<F>,
    required: entries.filter(([, f]) => f.required).map(([k]) => k),
    legacy: opts.legacy,
  };
}

/** A short type description for messages and `--help`, e.g. `int`, `list[str] | null`. */
export function describeField(field: FieldSchema): string {
  const base = (() => {
    switch (field.kind) {
      case "enum":
        return field.values.join("|");
      case "duration":
        return 'int | str (e.g. "2e9T")';
      case "list":
        return `list[${describeField(field.item)}]`;
      case "tuple":
        return `[${field.items.map(describeField).join(", ")}]`;
      case "dict":
        return `dict[str, ${describeField(field.value)}]`;
      case "object":
        return field.schema.name;
      default:
        return field.kind;
    }
  })();
  return field.kind !== "duration" && field.kind !== "any" && field.nullable
    ? `${base} | null`
    : base;
}
