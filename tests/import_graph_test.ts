/**
 * The static import graph of `lib/` (as `deno info` resolves it, `import type` included) has no
 * circle, neither between files nor between the folders of `lib/` (a subfolder such as
 * `checkpoint/trainer` counts as part of its folder, whose `mod.ts` re-exports it), and `lib/model` stays pure: it imports
 * only `config` (types) and `util`, and uses no Deno or Node APIs. The cycle finder is checked
 * on small graphs first, including one written as real files, so the test can fail.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { REPO_ROOT } from "./_shared.ts";
import { withTempDir } from "./_temp_dir.ts";

/** Module → the modules it imports statically. */
type Graph = Map<string, string[]>;

/** Every circle of `graph`: its strongly connected components with a cycle, each sorted. */
function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The graph between the folders of `graph`'s modules (`lib/a/x.ts` → `a`), self-arrows left out. */
function folderGraph(graph: Graph): Graph {
  const folder = (module: string) => module.split("/")[0];
  const out: Graph = new Map();
  for (const [from, tos] of graph) {
    const arrows = new Set(out.get(folder(from)) ?? []);
    for (const to of tos) if (folder(to) !== folder(from)) arrows.add(folder(to));
    out.set(folder(from), [...arrows]);
  }
  return out;
}

/** Every `.ts` file under `dir`. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...tsFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

interface DenoInfo {
  modules: {
    specifier: string;
    dependencies?: {
      specifier: string;
      code?: { specifier?: string };
      type?: { specifier?: string };
      isDynamic?: boolean;
    }[];
  }[];
}

/**
 * The static import graph of the `.ts` files under `root`, by path relative to `root`, from
 * `deno info --json` on a module that imports them all; imports leaving `root` are left out.
 */
async function importGraph(root: string, config?: string): Promise<Graph> {
  const files = tsFiles(root);
  const entry = join(await Deno.makeTempDir({ prefix: "olmo-import-graph-" }), "all.ts");
  try {
    Deno.writeTextFileSync(
      entry,
      files.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};`).join("\n") + "\n",
    );
    const args = ["info", "--json", ...(config ? ["--config", config] : ["--no-config"]), entry];
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const info = JSON.parse(new TextDecoder().decode(stdout)) as DenoInfo;
    const inRoot = (specifier: string | undefined) => {
      if (specifier === undefined || !specifier.startsWith("file:")) return null;
      const path = relative(root, fileURLToPath(specifier));
      return path.startsWith("..") ? null : path;
    };
    const graph: Graph = new Map(files.map((f) => [relative(root, f), []]));
    for (const module of info.modules) {
      const from = inRoot(module.specifier);
      if (from === null) continue;
      const tos = new Set<string>();
      for (const dep of module.dependencies ?? []) {
        if (dep.isDynamic) continue;
        for (const resolved of [dep.code?.specifier, dep.type?.specifier]) {
          const to = inRoot(resolved);
          if (to !== null) tos.add(to);
        }
      }
      graph.set(from, [...tos].sort());
    }
    return graph;
  } finally {
    await Deno.remove(join(entry, ".."), { recursive: true });
  }
}

Deno.test("findCycles: finds circles (also a self-import) and nothing in an acyclic graph", () => {
  const graph: Graph = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
    ["e", ["e"]],
    ["f", ["a"]],
  ]);
  assert.deepEqual(findCycles(graph), [["a", "b", "c"], ["e"]]);
  assert.deepEqual(findCycles(new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]])), []);
  assert.deepEqual(
    folderGraph(
      new Map([["x/1.ts", ["y/1.ts", "x/2.ts"]], ["y/1.ts", ["x/2.ts"]], ["x/2.ts", []]]),
    ),
    new Map([["x", ["y"]], ["y", ["x"]]]),
  );
});

Deno.test("importGraph: a type-only circle between real files is found", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(join(dir, "m"));
    Deno.writeTextFileSync(
      join(dir, "m", "a.ts"),
      'import type { B } from "./b.ts";\nexport type A = B;\n',
    );
    Deno.writeTextFileSync(
      join(dir, "m", "b.ts"),
      'import { c } from "../c.ts";\nexport type B = number;\nexport const b = c;\n',
    );
    Deno.writeTextFileSync(
      join(dir, "c.ts"),
      '// import { x } from "./m/a.ts";\nexport const c = 1;\n',
    );
    const graph = await importGraph(dir);
    assert.deepEqual(findCycles(graph), []);
    Deno.writeTextFileSync(
      join(dir, "c.ts"),
      'import type { A } from "./m/a.ts";\nexport const c: A = 1;\n',
    );
    assert.deepEqual(findCycles(await importGraph(dir)), [["c.ts", "m/a.ts", "m/b.ts"]]);
  });
});

const LIB = join(REPO_ROOT, "lib");
const CONFIG = join(REPO_ROOT, "deno.json");

Deno.test("lib/: no import circle between files or folders", async () => {
  const graph = await importGraph(LIB, CONFIG);
  assert.ok(graph.size > 100, `only ${graph.size} modules found under lib/`);
  assert.deepEqual(findCycles(graph), [], "files importing each other in a circle");
  assert.deepEqual(findCycles(folderGraph(graph)), [], "folders importing each other in a circle");
});

Deno.test("lib/model is pure: only config and util imports, no Deno or Node APIs", async () => {
  const graph = await importGraph(LIB, CONFIG);
  for (const [from, tos] of graph) {
    if (!from.startsWith("model/")) continue;
    for (const to of tos) {
      assert.ok(/^(model|config|util)\//.test(to), `lib/${from} imports lib/${to}`);
    }
    const source = Deno.readTextFileSync(join(LIB, from));
    assert.doesNotMatch(source, /\bDeno\.|from "node:/, `lib/${from} uses a Deno or Node API`);
  }
});
