/**
 * Loading and saving configs, as OLMo's `BaseConfig.load` / `new` / `save` (`olmo/config.py`): YAML
 * → merge into the schema defaults → merge command-line overrides → resolve interpolations →
 * validate. Saving writes the resolved config as YAML (atomically) in schema order.
 *
 * Legacy policy: keys OLMo itself accepts load, including deprecated fields
 * (`new_style_checkpoints`, `optimizer.no_decay_norm_and_bias`) and the spellings OLMo's later
 * `update_legacy_settings` rewrites (`activation_checkpointing: true|false`, optimizer
 * `decoupled_lionw` with `eps`). Any other unknown key is an error.
 *
 * @module
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { writeFileAtomic } from "../util/fs.ts";
import { ConfigError } from "./errors.ts";
import { InterpolationResolver } from "./interpolation.ts";
import {
  applyOverride,
  isPlainObject,
  mergeValue,
  Provenance,
  type Tree,
  unknownKeyError,
} from "./merge.ts";
import type { FieldSchema } from "./schema.ts";
import { TRAIN_CONFIG_SCHEMA, type TrainConfig } from "./train_config.ts";
import type { ResolverContext, ResolverFn } from "./resolvers.ts";
import { validateValue } from "./validate.ts";

/** Options of `loadTrainConfig`, `loadConfigSection` and `trainConfigFromObject`. */
export interface LoadOptions {
  /** `a.b=value` / `--a.b=value` overrides (OLMo dotlist), merged after the file. */
  overrides?: string[];
  /**
   * Default true. When false, `path.glob` patterns without matches give `[]`, and `path.choose`
   * / `path.last_checkpoint` without a hit give `""` instead of failing.
   */
  validatePaths?: boolean;
  /**
   * Resolvers for this load only, used before the process-wide ones of `registerResolver`. A
   * config that names the embedded corpus (`${corpus.tokens:brown}`, `${corpus.tokenizer:brown}`,
   * which may prepare the corpus and train its tokenizer) needs `corpusResolvers()` from
   * `lib/data` here, unless `registerCorpusResolvers()` was called before.
   */
  resolvers?: Readonly<Record<string, ResolverFn>>;
  /** Environment for `${oc.env:...}` (default: the process environment). */
  env?: (name: string) => string | undefined;
}

/** Source name for overrides in error messages. */
export const COMMAND_LINE = "command line";

/** The resolver context's `env`, only when the caller gave one. */
function envOf(opts: LoadOptions): Pick<ResolverContext, "env"> {
  return opts.env === undefined ? {} : { env: opts.env };
}

const TRAIN_FIELD: FieldSchema = { kind: "object", schema: TRAIN_CONFIG_SCHEMA };

async function readYamlMapping(path: string): Promise<Tree> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read config file '${path}': ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: invalid YAML: ${(e as Error).message}`);
  }
  if (raw === null || raw === undefined) return {};
  if (!isPlainObject(raw)) throw new ConfigError(`${path}: the top level must be a mapping`);
  return raw;
}

/** Merge, override, resolve and validate a whole `TrainConfig` from raw data. */
async function buildTrainConfig(raw: unknown, source: string, opts: LoadOptions) {
  const prov = new Provenance(source);
  const tree = mergeValue(TRAIN_FIELD, undefined, raw, [], source, prov);
  if (!isPlainObject(tree)) {
    throw new ConfigError(`${source}: a config must be a mapping, got ${typeof raw}`);
  }
  for (const o of opts.overrides ?? []) {
    applyOverride(TRAIN_CONFIG_SCHEMA, tree, o, COMMAND_LINE, prov);
  }
  const ctx = { validatePaths: opts.validatePaths ?? true, configPath: source, ...envOf(opts) };
  await new InterpolationResolver(tree, ctx, prov, opts.resolvers).resolveSubtree([]);
  return validateValue(TRAIN_FIELD, tree, [], prov) as TrainConfig;
}

/** Loads a training config from a YAML file (OLMo `TrainConfig.load`). */
export async function loadTrainConfig(path: string, opts: LoadOptions = {}): Promise<TrainConfig> {
  return await buildTrainConfig(await readYamlMapping(path), path, opts);
}

/**
 * Builds a config from a (partial, nested) object merged into the defaults, like OLMo's
 * `TrainConfig.new(**kwargs)`. Interpolations in it are resolved; `source` names it in errors.
 */
export async function trainConfigFromObject(
  obj: unknown,
  opts: LoadOptions & { source?: string } = {},
): Promise<TrainConfig> {
  return await buildTrainConfig(obj ?? {}, opts.source ?? "config object", opts);
}

/**
 * Loads one section (e.g. `model`, `tokenizer`) of a config file, such as a checkpoint's
 * `config.yaml`, validating only that section (OLMo's `load(path, key=...)`). Interpolations in
 * the section may refer to keys elsewhere in the file. Overrides may be written relative to the
 * section (`n_layers=2`) or with its name (`model.n_layers=2`).
 */
export async function loadConfigSection<K extends keyof TrainConfig>(
  path: string,
  key: K,
  opts: LoadOptions = {},
): Promise<TrainConfig[K]> {
  const raw = await readYamlMapping(path);
  const field = TRAIN_CONFIG_SCHEMA.fields[key];
  if (field === undefined) throw unknownKeyError(path, [key], TRAIN_CONFIG_SCHEMA);
  if (!Object.hasOwn(raw, key)) throw new ConfigError(`${path}: there is no '${key}' section`);
  const prov = new Provenance(path);
  const root: Tree = { ...raw, [key]: mergeValue(field, undefined, raw[key], [key], path, prov) };
  for (const o of opts.overrides ?? []) {
    const absolute = o.replace(/^-+/, "").split(/[.=]/)[0] === key;
    applyOverride(
      TRAIN_CONFIG_SCHEMA,
      root,
      absolute ? o : `${key}.${o.replace(/^-+/, "")}`,
      COMMAND_LINE,
      prov,
    );
  }
  const ctx = { validatePaths: opts.validatePaths ?? true, configPath: path, ...envOf(opts) };
  await new InterpolationResolver(root, ctx, prov, opts.resolvers).resolveSubtree([key]);
  return validateValue(field, root[key], [key], prov) as TrainConfig[K];
}

/** Escapes `${` as `\${` in every string, so saved values are never re-interpolated on load. */
function escapeInterpolations(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("${", "\\${");
  if (Array.isArray(value)) return value.map(escapeInterpolations);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeInterpolations(v)]));
  }
  return value;
}

/**
 * The config as YAML: validated, every field in OLMo's order, strings that contain `${`
 * escaped. `loadTrainConfig` of this text gives back an equal config.
 */
export function trainConfigToYaml(cfg: TrainConfig): string {
  const checked = validateValue(TRAIN_FIELD, cfg, [], new Provenance("config to save"));
  return stringifyYaml(escapeInterpolations(checked), { lineWidth: 0 });
}

/** Saves the resolved config as YAML (OLMo `save`), writing through a temporary file. */
export async function saveTrainConfig(cfg: TrainConfig, path: string): Promise<void> {
  await writeFileAtomic(path, trainConfigToYaml(cfg));
}
