/**
 * The project layout that ARCHITECTURE.md describes: every folder of `lib/` has a `mod.ts` whose
 * module doc says what the folder is for, every subpath export of `deno.json` is such a
 * `mod.ts`, and every task runs a command of `cli/` or a development tool of `scripts/`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./_shared.ts";

const LIB = join(REPO_ROOT, "lib");
const denoJson = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json"))) as {
  exports: Record<string, string>;
  tasks: Record<string, string>;
};

Deno.test("every lib/ folder has a mod.ts with a module doc", () => {
  const folders = [...Deno.readDirSync(LIB)].filter((e) => e.isDirectory).map((e) => e.name);
  assert.ok(folders.length >= 10, `lib/ has only ${folders.join(", ")}`);
  for (const folder of folders) {
    const path = join(LIB, folder, "mod.ts");
    assert.ok(existsSync(path), `lib/${folder} has no mod.ts`);
    const doc = /^\/\*\*\n([\s\S]*?)\*\//.exec(Deno.readTextFileSync(path));
    assert.ok(doc !== null, `lib/${folder}/mod.ts does not start with a doc comment`);
    assert.match(doc[1], /@module/, `lib/${folder}/mod.ts: the doc comment is not a module doc`);
    assert.ok(doc[1].split(/\s+/).length > 12, `lib/${folder}/mod.ts: the module doc says little`);
  }
});

Deno.test("deno.json: the root and one subpath per public folder, each a mod.ts", () => {
  assert.equal(denoJson.exports["."], "./mod.ts");
  for (const [subpath, target] of Object.entries(denoJson.exports)) {
    if (subpath === ".") continue;
    assert.equal(target, `./lib/${subpath.slice(2)}/mod.ts`, subpath);
    assert.ok(existsSync(join(REPO_ROOT, target)), `${subpath}: ${target} does not exist`);
  }
  for (const folder of ["model", "train", "checkpoint", "distributed", "data", "generate"]) {
    assert.ok(`./${folder}` in denoJson.exports, `no ./${folder} export`);
  }
});

Deno.test("deno.json tasks run commands of cli/ or development tools of scripts/", () => {
  for (const [task, command] of Object.entries(denoJson.tasks)) {
    const script = /deno run -A ((?:cli|scripts)\/[\w/]+\.ts)$/.exec(command)?.[1];
    if (script === undefined) {
      assert.match(command, /^deno (fmt|test|lint|check)\b/, `task ${task}: ${command}`);
      continue;
    }
    assert.ok(existsSync(join(REPO_ROOT, script)), `task ${task}: ${script} does not exist`);
  }
  for (const task of ["train", "bench", "generate", "launch", "unshard", "convert"]) {
    assert.match(denoJson.tasks[task], / cli\//, `task ${task} is not a command of cli/`);
  }
});
