/**
 * The interpolation resolvers (`${name:arg1,arg2}`): the registry other modules add to with
 * `registerResolver`, and the built-ins OLMo configs use: `oc.env`, `path.glob`, `path.choose`
 * (`path.last_checkpoint` is registered by `lib/checkpoint/trainer/run_folder.ts`, which owns the
 * checkpoint folder names).
 *
 * @module
 */
import { ConfigError, PathNotFoundError } from "./errors.ts";
import { globPaths } from "./glob.ts";
import { pathExists } from "../util/fs.ts";
import { isUrl } from "../util/url.ts";

/** What a resolver knows about the load it runs in. */
export interface ResolverContext {
  /** False when loading with `validatePaths: false`: missing paths give `""` / `[]`, not errors. */
  validatePaths: boolean;
  /** The config file being loaded ("" for configs built from objects). */
  configPath: string;
  /**
   * Reads an environment variable for `${oc.env:...}`; absent: the process environment. Tests
   * pass a map here instead of changing the process environment.
   */
  env?: (name: string) => string | undefined;
}

/**
 * A resolver: gets its arguments as strings (nested interpolations already resolved) and returns
 * the value. When the interpolation is the whole YAML value the returned type is kept (a list
 * stays a list); inside a longer string it is stringified. Throw an `Error` to reject.
 */
export type ResolverFn = (
  args: string[],
  ctx: ResolverContext,
) => unknown | Promise<unknown>;

const RESOLVERS = new Map<string, ResolverFn>();

/**
 * Registers (or replaces) the resolver used for `${name:...}`. Names are dotted identifiers such
 * as `path.glob`; the data module adds e.g. `corpus`.
 */
export function registerResolver(name: string, fn: ResolverFn): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
    throw new ConfigError(`registerResolver: invalid resolver name '${name}'`);
  }
  RESOLVERS.set(name, fn);
}

/** The resolver registered as `name`, if any. */
export function getResolver(name: string): ResolverFn | undefined {
  return RESOLVERS.get(name);
}

/** Names of every registered resolver (for "did you mean" messages). */
export function resolverNames(): string[] {
  return [...RESOLVERS.keys()];
}

registerResolver("oc.env", (args, ctx) => {
  if (args.length < 1 || args.length > 2) {
    throw new Error(`oc.env takes VAR or VAR,default; got ${args.length} arguments`);
  }
  const value = (ctx.env ?? ((name: string) => Deno.env.get(name)))(args[0]);
  if (value !== undefined) return value;
  if (args.length === 2) return args[1] === "null" ? null : args[1];
  throw new Error(
    `environment variable '${args[0]}' is not set and no default is given ` +
      `(write \${oc.env:${args[0]},DEFAULT})`,
  );
});

registerResolver("path.glob", async (patterns, ctx) => {
  const out: string[] = [];
  for (const pattern of patterns) {
    const matches = await globPaths(pattern);
    if (matches.length === 0 && ctx.validatePaths) {
      throw new PathNotFoundError(`'${pattern}' does not match any files or dirs`);
    }
    out.push(...matches);
  }
  return out;
});

registerResolver("path.choose", async (paths, ctx) => {
  for (const path of paths) {
    if (isUrl(path) || (await pathExists(path))) return path;
  }
  if (ctx.validatePaths) {
    throw new PathNotFoundError(`none of these paths exists: ${paths.join(", ")}`);
  }
  return "";
});
