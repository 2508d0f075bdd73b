/**
 * Fixtures and checks of the README docs test (`tests/readme_test.ts`): the README's placeholder
 * paths made real in the scratch workspace (`my-data/`, `runs/my-run`, `configs/my-run.yaml`,
 * `hosts.txt`) and checks shared by several README commands.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { TASKS } from "../lib/eval/tasks.ts";
import { listDir } from "./_cli.ts";
import { jsonLines, TASK_ROWS, taskParquet } from "./_eval_fixture.ts";
import { exists, read, sh } from "./_readme.ts";

/** A seeded uniform generator in [0, 1) (mulberry32), for reproducible fixture text. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes the `my-data/` placeholder: 40 documents of made-up words (20 as JSON lines, 20 in a
 * .txt file), varied enough for a byte-level BPE to reach 8192 tokens at minimum frequency 2.
 */
export async function writeMyData(dir: string): Promise<void> {
  const random = seededRandom(8192);
  const words = Array.from({ length: 4000 }, () => {
    const length = 3 + Math.floor(random() * 7);
    return Array.from({ length }, () => String.fromCharCode(97 + Math.floor(random() * 26)))
      .join("");
  });
  const documents = Array.from(
    { length: 40 },
    () =>
      Array.from({ length: 400 }, () => words[Math.floor(words.length * random() ** 2)]).join(" "),
  );
  await Deno.mkdir(dir, { recursive: true });
  const jsonl = documents.slice(0, 20).map((text) => JSON.stringify({ text }) + "\n").join("");
  await Deno.writeTextFile(join(dir, "part-0.jsonl"), jsonl);
  await Deno.writeTextFile(join(dir, "part-1.txt"), documents.slice(20).join("\n\n") + "\n");
}

/** Asserts a folder holds (at least) the given entries. */
export function assertHas(dir: string, names: string[]): void {
  const entries = listDir(dir);
  for (const name of names) assert.ok(entries.includes(name), `${dir} lacks ${name}: ${entries}`);
}

/** The training steps recorded in a run's metrics.jsonl. */
export async function trainSteps(runDir: string): Promise<number[]> {
  const records = await readMetricsFile(join(runDir, "metrics.jsonl"));
  return records.filter((r) => "train/CrossEntropyLoss" in r).map((r) => r.step);
}

/**
 * The `runs/my-run` placeholder: a copy of the quick-start run whose last sharded checkpoint is
 * renamed `step1000` (with `latest` pointing at it) and whose unsharded ones are left out.
 */
export async function ensureMyRun(ws: string): Promise<string> {
  const run = join(ws, "runs", "my-run");
  if (await exists(run)) return run;
  const source = join(ws, "runs", "quickstart-brown");
  const last = await Deno.readLink(join(source, "latest"));
  await Deno.mkdir(run);
  await sh(ws, `cp -r ${source}/{config.yaml,metrics.jsonl,train_data} ${run}/`);
  await sh(ws, `cp -r ${source}/${last} ${run}/step1000`);
  await Deno.symlink("step1000", join(run, "latest"));
  return run;
}

/** Removes what an earlier unshard line wrote, so each line runs as if on its own. */
export async function freshUnshard(ws: string): Promise<string> {
  const run = await ensureMyRun(ws);
  for (const out of [join(run, "step1000-unsharded"), join(ws, "data")]) {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
  return run;
}

/** `configs/my-run.yaml`: a tiny model on the Brown corpus, 2 steps. */
export async function ensureMyRunConfig(ws: string): Promise<void> {
  await Deno.writeTextFile(
    join(ws, "configs", "my-run.yaml"),
    `run_name: my-run-mpi
model:
  d_model: 32
  n_heads: 4
  n_layers: 1
  max_sequence_length: 64
  vocab_size: \${corpus.vocab_size:brown}
  embedding_size: \${corpus.vocab_size:brown}
  eos_token_id: \${corpus.eos_token_id:brown}
  pad_token_id: \${corpus.pad_token_id:brown}
tokenizer:
  identifier: \${corpus.tokenizer:brown}
data:
  paths: \${corpus.tokens:brown,train}
max_duration: 2
global_train_batch_size: 2
device_train_microbatch_size: 2
save_folder: runs/\${run_name}
save_interval: 2
`,
  );
  await Deno.writeTextFile(join(ws, "hosts.txt"), "node1 slots=8\nnode2 slots=8\n");
}

/** Checks a `deno task launch` line through `--dry-run`: launcher, rank count, script args. */
export async function dryRunLaunch(ws: string, command: string): Promise<void> {
  await ensureMyRunConfig(ws);
  const run = await sh(ws, command.replace("deno task launch", "deno task launch --dry-run"));
  const printed = run.stdout.trim();
  const mpiexec = command.includes("--mpi=openmpi") ? "mpiexec.openmpi" : "mpiexec.mpich";
  assert.ok(printed.startsWith(`${mpiexec} `), printed);
  const perNode = Number(command.match(/--nproc-per-node=(\d+)/)![1]);
  const nodes = command.includes("--host") ? 2 : 1;
  assert.match(printed, new RegExp(` -n ${perNode * nodes} `));
  const scriptAndArgs = command.slice(command.indexOf("cli/train.ts"));
  assert.ok(printed.endsWith(` run -A ${scriptAndArgs}`), printed);
}

/** Generates with a README line and checks something was printed. */
export async function generate(ws: string, command: string): Promise<void> {
  const run = await sh(ws, command);
  assert.ok(run.stdout.trim().length > 0, `no text from ${command}`);
  if (command.includes("--seed")) assert.equal((await sh(ws, command)).stdout, run.stdout);
}

/**
 * `deno task eval` on the quick-start run: three piqa documents as the Hub's parquet in a task
 * data folder named by `$OLMO_HF_DATASETS_CACHE_DIR`, and `my-task.jsonl`; checks the table.
 */
export async function evalTasks(ws: string, command: string): Promise<void> {
  const data = join(ws, "hf_datasets");
  const folder = join(data, "piqa", "none");
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeFile(
    join(folder, "validation-00000-of-00001.parquet"),
    new Uint8Array(taskParquet(TASKS.piqa, TASK_ROWS.piqa)),
  );
  await Deno.writeTextFile(
    join(ws, "my-task.jsonl"),
    jsonLines([
      { context: "The jury said", continuations: [" that", " banana"], label: 0 },
      { context: "It was a", continuations: [" good", " the"], label: 0 },
      { context: "He went to the", continuations: [" of", " city", " and"], label: 1 },
    ]),
  );
  const run = await sh(ws, command, { env: { OLMO_HF_DATASETS_CACHE_DIR: data } });
  const lines = run.stdout.trim().split("\n");
  assert.match(lines[0], /^task\s+metric\s+value\s+documents$/);
  assert.match(lines[1], /^piqa\s+len_norm\s+\d\.\d{4}\s+3$/);
  assert.match(lines[2], /^my-task\s+acc\s+\d\.\d{4}\s+3$/);
  assert.match(lines[3], /^my-task\s+len_norm\s+\d\.\d{4}\s+3$/);
}

/** `.ci/run` installs the Debian package `name` (its `APT_PACKAGES` list). */
export async function assertCiInstalls(name: string): Promise<void> {
  const list = (await read(".ci/run")).match(/^APT_PACKAGES=\(\n([^]*?)\n\)$/m);
  assert.ok(list !== null, ".ci/run has no APT_PACKAGES list");
  const packages = list[1].replace(/#.*/g, "").split(/\s+/);
  assert.ok(packages.includes(name), `.ci/run does not install ${name}: ${packages.join(" ")}`);
}

/** `deno task check` runs `command` (deno.json). */
export async function checkTaskRuns(_ws: string, command: string): Promise<void> {
  assert.ok(JSON.parse(await read("deno.json")).tasks.check.includes(command), command);
}

/**
 * Starts the README's `deno task serve` line (on a free port) in `ws`, checks what the pages'
 * API reports for the quick-start checkpoint and run and that the pages and bundle are served,
 * then stops the server.
 */
export async function serveAndProbe(ws: string, command: string): Promise<void> {
  const path = `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`;
  // setsid: the server and `deno task`'s child form one process group, stopped together below.
  const child = new Deno.Command("setsid", {
    args: ["bash", "-c", `exec ${command} --port 0`],
    cwd: ws,
    env: { NO_COLOR: "1", PATH: path },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    const deadline = Date.now() + 120_000;
    while (!/dashboard: +http:\/\/\S+\n/.test(printed)) {
      const { value, done } = await lines.read();
      assert.ok(!done && Date.now() < deadline, `serve printed no URL: ${printed}`);
      printed += value;
    }
    lines.releaseLock();
    const base = /playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(printed)?.[1];
    assert.ok(base, `serve did not listen on localhost: ${printed}`);
    const checkpoints = await (await fetch(new URL("/api/checkpoints", base))).json();
    assert.deepEqual(checkpoints[0].weights, ["model.safetensors"]);
    assert.equal(checkpoints[0].tokenizer, true, checkpoints[0].tokenizerError);
    const runs = await (await fetch(new URL("/api/runs", base))).json();
    assert.equal(runs[0].metrics, true);
    assert.ok(runs[0].checkpoints.some((c: { sharded: boolean }) => !c.sharded));
    for (const page of ["/", "/dashboard", "/bundle/playground_worker.js"]) {
      const response: Response = await fetch(new URL(page, base));
      assert.equal(response.status, 200, page);
      await response.body?.cancel();
    }
  } finally {
    Deno.kill(-child.pid, "SIGTERM");
    await child.status;
    await stderr;
  }
}
