/**
 * The config schema as data, and the builders every section is declared with. Each field is
 * declared once, as `name: field(TYPE, default, "doc")`, inside `defineSection(...)`; the
 * TypeScript type of a section (`ConfigOf`) and its defaults (`defaults()`) are derived from that
 * declaration, so a field cannot be typed, defaulted and validated differently in three places.
 * The merger, the validator, the saver and `--help` all walk the same descriptors.
 *
 * Adding a key is one line in its section's `defineSection` call, e.g. in `model_config.ts`:
 *
 * ```ts
 * rope_theta: field(FLOAT, 10000, "RoPE base frequency."),
 * ```
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

/**
 * The type a default of `V` must have. When `V` is not known yet (TypeScript infers from the
 * contextual `ConfigField` first) this is `unknown`, so the recursive `ValueOf` is never
 * expanded over every descriptor.
 */
type DefaultOf<V> = FieldSchema extends V ? unknown : ValueOf<V>;

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

/** Descriptors that may be made nullable (all but `duration`). */
type NullableSchema = Exclude<FieldSchema, { kind: "duration" }>;

/** `v` that also accepts `null`. */
export function nullable<const V extends NullableSchema>(v: V): V & { readonly nullable: true } {
  return { ...v, nullable: true };
}

/** A nullable integer. */
export const NULL_INT = nullable(INT);
/** A nullable number. */
export const NULL_FLOAT = nullable(FLOAT);
/** A nullable boolean. */
export const NULL_BOOL = nullable(BOOL);
/** A nullable string. */
export const NULL_STR = nullable(STR);

/**
 * One of `values` (an `as const` enum array); `name` is the enum's name in messages. `aliases`
 * are legacy spellings rewritten before validation.
 */
export function oneOf<const E extends string>(
  name: string,
  values: readonly E[],
  aliases?: EnumAliases,
): { readonly kind: "enum"; readonly name: string; readonly values: readonly E[] } {
  return { kind: "enum", name, values, ...(aliases === undefined ? {} : { aliases }) };
}

/** A list of `item`s. */
export function listOf<const I extends FieldSchema>(
  item: I,
): { readonly kind: "list"; readonly item: I } {
  return { kind: "list", item };
}

/** A fixed-length list, e.g. `tupleOf(FLOAT, FLOAT)` for `betas`. */
export function tupleOf<const T extends readonly FieldSchema[]>(
  ...items: T
): { readonly kind: "tuple"; readonly items: T } {
  return { kind: "tuple", items };
}

/** A mapping from strings to `value`s. */
export function dictOf<const W extends FieldSchema>(
  value: W,
): { readonly kind: "dict"; readonly value: W } {
  return { kind: "dict", value };
}

/** A nested config class. */
export function sectionOf<const S extends ObjectSchema>(
  schema: S,
): { readonly kind: "object"; readonly schema: S } {
  return { kind: "object", schema };
}

/**
 * A field of type `type` with default `dflt` (checked against the type) and its documentation.
 * Mutable defaults (lists, sections) are copied afresh for every config.
 */
export function field<const V extends FieldSchema>(
  type: V,
  dflt: NoInfer<DefaultOf<V>>,
  doc: string,
): ConfigField<V>;
export function field(type: FieldSchema, dflt: unknown, doc: string): ConfigField {
  return { ...type, default: dflt, doc };
}

/** A field without a default that every config must set (OLMo's `MISSING`). */
export function requiredField<const V extends FieldSchema>(
  type: V,
  doc: string,
): ConfigField<V> & { readonly required: true } {
  return { ...type, doc, required: true } as ConfigField<V> & { readonly required: true };
}

/** A nested section that defaults to the section's own defaults. */
export function sectionField<const S extends ObjectSchema>(
  schema: S,
  doc: string,
): ConfigField<{ readonly kind: "object"; readonly schema: S }> {
  return { kind: "object", schema, default: schema.defaults(), doc };
}

/**
 * Declares a config class: `name` for messages, `fields` in OLMo's order (the order of saved
 * YAML). `legacy` rewrites old spellings in raw YAML before merging.
 */
export function defineSection<const F extends SectionFields>(
  name: string,
  fields: F,
  opts: { legacy?: ObjectSchema["legacy"] } = {},
): SectionSchema<F> {
  const entries = Object.entries(fields);
  return {
    name,
    fields,
    defaults: () =>
      Object.fromEntries(
        entries.filter(([, f]) => !f.required).map(([k, f]) => [k, structuredClone(f.default)]),
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
  return field.kind !== "duration" && field.nullable ? `${base} | null` : base;
}
