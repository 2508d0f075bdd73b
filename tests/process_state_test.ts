/**
 * No test changes process-wide state (issue 15). Static: no file under tests/ calls the
 * environment or working-directory setters, and no library file sets the environment. At run
 * time: `deno task test` preloads `_process_guard.ts`, which makes those calls throw in every
 * test file's worker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { defaultCacheDir } from "../lib/checkpoint/remote.ts";
import { olmoCacheDir } from "../lib/tokenizer/hub.ts";
import { PROCESS_GUARD, ProcessStateMutation } from "./_process_guard.ts";
import { REPO_ROOT } from "./_shared.ts";

/** Process-state setters. */
const FORBIDDEN: { name: string; pattern: RegExp }[] = [
  { name: "Deno.env.set", pattern: /Deno\s*\.\s*env\s*\.\s*set\s*\(/ },
  { name: "Deno.env.delete", pattern: /Deno\s*\.\s*env\s*\.\s*delete\s*\(/ },
  { name: "Deno.chdir", pattern: /Deno\s*\.\s*chdir\s*\(/ },
  { name: "process.chdir", pattern: /process\s*\.\s*chdir\s*\(/ },
  { name: "process.env assignment", pattern: /process\s*\.\s*env\s*(\.\s*\w+|\[[^\]]+\])\s*=[^=]/ },
  { name: "delete process.env", pattern: /delete\s+process\s*\.\s*env/ },
];

/** Every .ts file under `dir`, recursively. */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "testdata") out.push(...(await tsFiles(path)));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** `file:line: call` for each forbidden call in the files (comments included: keep them out). */
async function findMutations(files: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const file of files) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines.forEach((line, i) => {
      for (const { name, pattern } of FORBIDDEN) {
        if (pattern.test(line)) hits.push(`${relative(REPO_ROOT, file)}:${i + 1}: ${name}`);
      }
    });
  }
  return hits;
}

Deno.test("static: no test file changes the environment or the working directory", async () => {
  // The guard and this file name the calls on purpose (the probes below check the guard).
  const own = [import.meta.filename, join(REPO_ROOT, "tests", "_process_guard.ts")];
  const files = (await tsFiles(join(REPO_ROOT, "tests"))).filter((f) => !own.includes(f));
  assert.ok(files.length > 50, `found only ${files.length} test files`);
  assert.deepEqual(await findMutations(files), []);
});

Deno.test("static: library code and commands set no process environment", async () => {
  const files = [
    ...(await tsFiles(join(REPO_ROOT, "lib"))),
    ...(await tsFiles(join(REPO_ROOT, "cli"))),
    ...(await tsFiles(join(REPO_ROOT, "scripts"))),
    join(REPO_ROOT, "mod.ts"),
  ];
  assert.deepEqual(await findMutations(files), []);
});

Deno.test("static: the scan finds each forbidden call", async () => {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-scan-" });
  try {
    const sample = join(dir, "sample.ts");
    const calls = [
      'Deno.env.set("A", "1");',
      'Deno.env.delete("A");',
      'Deno.chdir("/tmp");',
      'process.chdir("/tmp");',
      'process.env.A = "1";',
      'process.env["A"] = "1";',
      "delete process.env.A;",
      'const ok = Deno.env.get("A") === process.env.A;',
    ];
    await Deno.writeTextFile(sample, calls.join("\n"));
    const hits = (await findMutations([sample])).map((h) => h.replace(/^.*:(\d+): /, "$1 "));
    assert.deepEqual(hits, [
      "1 Deno.env.set",
      "2 Deno.env.delete",
      "3 Deno.chdir",
      "4 process.chdir",
      "5 process.env assignment",
      "6 process.env assignment",
      "7 delete process.env",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runtime: deno task test preloads the guard, which makes the setters throw", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  assert.match(config.tasks.test, /--preload[= ]tests\/_process_guard\.ts/);
  // Importing the guard installs it in this worker too when the file runs on its own.
  assert.equal((globalThis as { [PROCESS_GUARD]?: boolean })[PROCESS_GUARD], true);
  const before = Deno.env.toObject();
  const cwd = Deno.cwd();
  assert.throws(() => Deno.env.set("OLMO_TS_GUARD_PROBE", "1"), ProcessStateMutation);
  assert.throws(() => Deno.env.delete("PATH"), ProcessStateMutation);
  assert.throws(() => Deno.chdir("/"), /Deno\.chdir\("\/"\)/);
  assert.deepEqual(Deno.env.toObject(), before);
  assert.equal(Deno.cwd(), cwd);
});

Deno.test("runtime: with the preload, a test file that sets the environment fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-guard-" });
  try {
    const offender = join(dir, "offender_test.ts");
    await Deno.writeTextFile(
      offender,
      'Deno.test("sets env", () => {\n  Deno.env.set("OLMO_TS_GUARD_PROBE", "1");\n});\n',
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-config", "--preload", join(REPO_ROOT, "tests/_process_guard.ts")]
        .concat(offender),
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0, text);
    assert.match(text, /ProcessStateMutation|Deno\.env\.set\("OLMO_TS_GUARD_PROBE"\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cache folders are read through an env reader, so tests need not set variables", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(olmoCacheDir(env({ OLMO_TS_CACHE: "/c" })), "/c");
  assert.equal(olmoCacheDir(env({ XDG_CACHE_HOME: "/x" })), "/x/olmo-ts");
  assert.equal(olmoCacheDir(env({})), join(homedir(), ".cache", "olmo-ts"));
  assert.equal(defaultCacheDir(env({ OLMO_TS_CACHE: "/c" })), "/c");
  assert.equal(defaultCacheDir(env({})), join(homedir(), ".cache", "olmo-ts", "checkpoints"));
});
