/**
 * OmegaConf-style interpolation, resolved after all overrides are merged (so `--run_name=x`
 * changes every `${run_name}`):
 * - `${a.b}` / `${evaluators[0].label}`: the value at an absolute key path;
 * - `${name:arg1,arg2}`: a registered resolver (`resolvers.ts`); arguments may nest
 *   interpolations and may be quoted (`'a,b'`); unquoted arguments are trimmed;
 * - `\${` is a literal `${`.
 * A value that is exactly one interpolation keeps the resolved type (list, number, mapping);
 * an interpolation inside a longer string is stringified. Resolver results are not re-resolved.
 *
 * @module
 */
import { closestMatch, formatKeyPath, InterpolationError, type PathSegment } from "./errors.ts";
import { isInterpolation, isPlainObject, MISSING, type Provenance, type Tree } from "./merge.ts";
import { getResolver, type ResolverContext, type ResolverFn, resolverNames } from "./resolvers.ts";

/** A parsed piece of a string: literal text, a key reference or a resolver call. */
export type Part =
  | { lit: string }
  | { ref: string }
  | { call: string; args: Part[][] };

/** Parses a string with `${...}` interpolations; throws an `Error` describing malformed syntax. */
export function parseInterpolations(text: string): Part[] {
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`malformed interpolation (${why} at character ${pos + 1})`);
  };
  const pushLit = (parts: Part[], lit: string) => {
    if (lit !== "") parts.push({ lit });
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  // Reads `${...}` starting at pos.
  const parseInterp = (): Part => {
    pos += 2;
    skipSpace();
    const start = pos;
    while (pos < text.length && !/[\s:}]/.test(text[pos]) && !text.startsWith("${", pos)) pos++;
    const name = text.slice(start, pos);
    skipSpace();
    if (text[pos] === "}") {
      pos++;
      if (name === "") fail("empty '${}'");
      return { ref: name };
    }
    if (text[pos] !== ":") return fail("expected '}' or ':'");
    pos++;
    if (!/^[A-Za-z_][\w.]*$/.test(name)) fail(`bad resolver name '${name}'`);
    const args: Part[][] = [];
    skipSpace();
    if (text[pos] === "}") {
      pos++;
      return { call: name, args };
    }
    for (;;) {
      args.push(parseArg());
      if (text[pos] === ",") pos++;
      else if (text[pos] === "}") {
        pos++;
        return { call: name, args };
      } else fail("missing '}'");
    }
  };
  // Reads one resolver argument, up to a top-level ',' or '}'.
  const parseArg = (): Part[] => {
    const parts: Part[] = [];
    skipSpace();
    const quote = text[pos] === "'" || text[pos] === '"' ? text[pos] : null;
    if (quote !== null) pos++;
    let lit = "";
    while (pos < text.length) {
      const c = text[pos];
      if (quote === null && (c === "," || c === "}")) break;
      if (quote !== null && c === quote) break;
      if (text.startsWith("\\${", pos)) {
        lit += "${";
        pos += 3;
      } else if (c === "\\" && pos + 1 < text.length && ",}'\"\\".includes(text[pos + 1])) {
        lit += text[pos + 1];
        pos += 2;
      } else if (text.startsWith("${", pos)) {
        pushLit(parts, lit);
        lit = "";
        parts.push(parseInterp());
      } else {
        lit += c;
        pos++;
      }
    }
    if (pos >= text.length) fail(quote !== null ? `unterminated ${quote}` : "missing '}'");
    if (quote !== null) {
      pos++;
      skipSpace();
    } else lit = lit.trimEnd();
    pushLit(parts, lit);
    return parts;
  };

  const parts: Part[] = [];
  let lit = "";
  while (pos < text.length) {
    if (text.startsWith("\\${", pos)) {
      lit += "${";
      pos += 3;
    } else if (text.startsWith("${", pos)) {
      pushLit(parts, lit);
      lit = "";
      parts.push(parseInterp());
    } else lit += text[pos++];
  }
  pushLit(parts, lit);
  return parts;
}

/** Splits a reference such as `a.b[0].c` or `a.0.c` into key path segments. */
function parseRef(ref: string): PathSegment[] {
  if (ref.startsWith(".")) {
    throw new Error(`relative reference '${ref}' is not supported; write the absolute key path`);
  }
  const out: PathSegment[] = [];
  for (const piece of ref.replace(/\[(\d+)\]/g, ".$1").split(".")) {
    if (piece === "") throw new Error(`malformed reference '${ref}'`);
    out.push(/^\d+$/.test(piece) ? Number(piece) : piece);
  }
  return out;
}

/** Stringifies a resolved value for embedding in a longer string. */
function stringify(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "null";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Deep copy of a resolved subtree (plain objects, arrays and primitives). */
function cloneTree(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneTree);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneTree(v)]));
  }
  return value;
}

/** Resolves every interpolation of one config tree in place. */
export class InterpolationResolver {
  readonly #resolved = new Set<string>();
  readonly #inProgress: string[] = [];

  /**
   * @param root The merged tree; references are absolute from here.
   * @param ctx Passed to every resolver.
   * @param prov Names the source of each value in error messages.
   * @param resolvers Resolvers for this tree only, used before the registered ones.
   */
  constructor(
    readonly root: Tree,
    readonly ctx: ResolverContext,
    readonly prov: Provenance,
    readonly resolvers: Readonly<Record<string, ResolverFn>> = {},
  ) {}

  /** Resolves every interpolation in the subtree at `path`. */
  async resolveSubtree(path: PathSegment[]): Promise<void> {
    const key = formatKeyPath(path);
    if (this.#resolved.has(key)) return;
    const node = this.#get(path);
    if (isInterpolation(node)) await this.#resolveLeaf(path, node);
    else if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) await this.resolveSubtree([...path, i]);
    } else if (isPlainObject(node)) {
      for (const k of Object.keys(node)) await this.resolveSubtree([...path, k]);
    }
  }

  #get(path: readonly PathSegment[]): unknown {
    let node: unknown = this.root;
    for (const seg of path) node = (node as Record<string | number, unknown>)[seg];
    return node;
  }

  #set(path: readonly PathSegment[], value: unknown): void {
    const parent = this.#get(path.slice(0, -1)) as Record<string | number, unknown>;
    parent[path[path.length - 1]] = value;
  }

  async #resolveLeaf(path: PathSegment[], text: string): Promise<unknown> {
    const key = formatKeyPath(path);
    if (this.#inProgress.includes(key)) {
      const cycle = [...this.#inProgress.slice(this.#inProgress.indexOf(key)), key];
      throw new InterpolationError(
        `${this.prov.sourceOf(path)}: interpolation cycle: ${cycle.join(" -> ")}`,
        key,
      );
    }
    this.#inProgress.push(key);
    try {
      this.prov.setInterpolation(path, text);
      const value = await this.#evaluate(parseInterpolations(text));
      this.#set(path, value);
      this.#resolved.add(key);
      return value;
    } catch (e) {
      if (e instanceof InterpolationError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new InterpolationError(
        `${this.prov.sourceOf(path)}: cannot resolve '${key}' = '${text}': ${why}`,
        key,
        { cause: e },
      );
    } finally {
      this.#inProgress.pop();
    }
  }

  async #evaluate(parts: Part[]): Promise<unknown> {
    if (parts.length === 1 && !("lit" in parts[0])) return await this.#evaluatePart(parts[0]);
    let out = "";
    for (const part of parts) {
      out += "lit" in part ? part.lit : stringify(await this.#evaluatePart(part));
    }
    return out;
  }

  async #evaluatePart(part: { ref: string } | { call: string; args: Part[][] }): Promise<unknown> {
    if ("ref" in part) return cloneTree(await this.#lookup(part.ref));
    const fn = Object.hasOwn(this.resolvers, part.call)
      ? this.resolvers[part.call]
      : getResolver(part.call);
    if (fn === undefined) {
      const close = closestMatch(part.call, [...Object.keys(this.resolvers), ...resolverNames()]);
      const hint = close !== null
        ? ` (did you mean '${close}'?)`
        : part.call.startsWith("corpus.")
        ? " (the corpus.* resolvers come from lib/data: pass `resolvers: corpusResolvers()` " +
          "in the load options, or call registerCorpusResolvers() first)"
        : "";
      throw new Error(`unknown resolver '${part.call}'${hint}`);
    }
    const args: string[] = [];
    for (const arg of part.args) args.push(stringify(await this.#evaluate(arg)));
    return await fn(args, this.ctx);
  }

  /**
   * The fully resolved value at the absolute reference `ref`. Below a resolved interpolation the
   * values are literal (resolver results are never re-resolved).
   */
  async #lookup(ref: string): Promise<unknown> {
    const path: PathSegment[] = [];
    let node: unknown = this.root;
    let literal = false;
    for (const seg of parseRef(ref)) {
      if (!literal && isInterpolation(node)) {
        node = await this.#resolveLeaf([...path], node);
        literal = true;
      }
      const found = Array.isArray(node)
        ? typeof seg === "number" && seg < node.length
        : isPlainObject(node) && Object.hasOwn(node, String(seg));
      if (!found) throw new Error(`key '${ref}' not found`);
      node = (node as Record<string | number, unknown>)[Array.isArray(node) ? seg : String(seg)];
      path.push(seg);
      if (this.#resolved.has(formatKeyPath(path))) literal = true;
    }
    if (!literal && isInterpolation(node)) node = await this.#resolveLeaf(path, node);
    else if (!literal && typeof node === "object" && node !== null) {
      await this.resolveSubtree(path);
      node = this.#get(path);
    }
    return this.#finish(ref, node);
  }

  #finish(ref: string, node: unknown): unknown {
    if (node === MISSING) throw new Error(`'${ref}' is a required value that is not set`);
    return node;
  }
}
