/**
 * The README's commands and code examples, exercised as a user would run them.
 *
 * Every command of README.md (each line of a ```bash block, and each inline code span that starts
 * with a command word) must be a key of `COVERAGE`, and every ```ts block must match one entry of
 * `TS_EXAMPLES`; an unknown command, or a table entry the README no longer has, fails the first
 * test. The second test goes through the README in document order in a scratch workspace (a
 * clone-like folder, see `makeWorkspace`), so `runs/`, tokens and exports never land in the
 * repository; only the Brown corpus cache in `~/.cache/olmo-ts` is shared, as in the quick start.
 *
 * How a command is exercised (`how`):
 * - `run`: run for real with bash in the workspace. Training gets tiny overrides appended
 *   (`TINY`), placeholders are real fixtures (`runs/my-run`, `my-data/`, `configs/my-run.yaml`,
 *   `hosts.txt`) or substituted (`note` says which).
 * - `dry-run`: run with `--dry-run` and the printed command checked.
 * - `ci`: `.ci/run` runs it; the test checks that `.ci/run` (or deno.json) really does.
 * - `checked`: cannot run here (installers that need the network or root, Slurm); the test
 *   checks that what it names agrees with the code (package versions, hints, scripts).
 * - `mention`: the name of a command in prose; the command itself is run by another entry.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { BLAS_INSTALL_HINT } from "../lib/backend/blas_library.ts";
import { DNNL_INSTALL_HINT } from "../lib/backend/host/dnnl.ts";
import { TENSORFLOW_INSTALL_HINT } from "../lib/backend/tensorflow.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { hubIdOf } from "../lib/checkpoint/hf_transformers/hub_cache.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { assertBitExact, listDir } from "./_cli.ts";
import {
  type Coverage,
  coverageOf,
  exists,
  makeWorkspace,
  onPath,
  read,
  sh,
  type TsExample,
  uniqueItems,
} from "./_readme.ts";
import {
  assertCiInstalls,
  assertHas,
  checkTaskRuns,
  dryRunLaunch,
  ensureMyRun,
  ensureMyRunConfig,
  evalTasks,
  freshUnshard,
  generate,
  serveAndProbe,
  trainSteps,
  writeMyData,
} from "./_readme_fixtures.ts";
import { REPO_ROOT } from "./_shared.ts";

/** Overrides that shrink the quick start to seconds: 1 layer, d_model 32, 3 steps, 1 eval. */
const TINY = "--model.n_layers=1 --model.d_model=32 --save_interval=3 --eval_interval=3 " +
  "--device_eval_batch_size=4";

/** The README's commands and how each is exercised. */
const COVERAGE: Record<string, Coverage> = {
  "npm install -g deno@2": {
    how: "checked",
    note: ".ci/run installs Deno 2 with the same npm command (pinned) when no Deno 2 is on PATH",
    exercise: async () => {
      const ci = await read(".ci/run");
      assert.match(ci, /^DENO_VERSION="2\.\d+\.\d+"$/m);
      assert.ok(ci.includes('npm install -g "deno@${DENO_VERSION}"'));
    },
  },
  "deno task train configs/quickstart-brown.yaml": {
    how: "run",
    note: "TINY + --max_duration=3; checks the files the README lists (step3/, step3-unsharded/, " +
      "latest, latest-unsharded, metrics.jsonl with an eval, loss.svg)",
    exercise: async (ws, command) => {
      await sh(ws, `${command} --max_duration=3 ${TINY}`, { timeoutSeconds: 180 });
      const run = join(ws, "runs", "quickstart-brown");
      assertHas(run, ["metrics.jsonl", "loss.svg", "step3", "step3-unsharded"]);
      assert.equal(await Deno.readLink(join(run, "latest")), "step3");
      assert.equal(await Deno.readLink(join(run, "latest-unsharded")), "step3-unsharded");
      const records = await readMetricsFile(join(run, "metrics.jsonl"));
      assert.ok(records.some((r) => r.step === 3 && "eval/brown-validation/Perplexity" in r));
    },
  },
  "deno task test": {
    how: "ci",
    note: ".ci/run runs `deno task test` (this test is part of it)",
    exercise: async () => assert.ok((await read(".ci/run")).includes("deno task test 2>&1")),
  },
  'deno task generate --checkpoint runs/quickstart-brown/latest-unsharded "The jury said"': {
    how: "run",
    note: "on the tiny quick-start run; prints text",
    exercise: generate,
  },
  "deno task eval runs/quickstart-brown/latest-unsharded --tasks piqa,custom:my-task.jsonl --limit 50":
    {
      how: "run",
      note:
        "on the tiny quick-start run, with three piqa documents as the Hub's parquet in a task " +
        "data folder named by $OLMO_HF_DATASETS_CACHE_DIR and a three-line my-task.jsonl; checks the table",
      exercise: evalTasks,
    },
  "deno task eval CHECKPOINT --tasks piqa,arc_easy,custom:my.jsonl [--limit N] [--json]": {
    how: "mention",
    note: "synopsis; `--help` must work (the line above runs the command)",
    exercise: async (ws) => {
      const help = await sh(ws, "deno task eval --help");
      assert.match(help.stdout, /--tasks[^]*--limit[^]*--json/);
    },
  },
  "deno task train CONFIG.yaml [--key=value ...]": {
    how: "mention",
    note: "synopsis; `--help` must work (the training lines run the command)",
    exercise: async (ws) => {
      const help = await sh(ws, "deno task train --help");
      assert.match(help.stdout, /Config fields:[^]*optimizer\.learning_rate/);
    },
  },
  "deno task bench --config bench-tiny --steps 2 --warmup 1 --no-generate --no-data": {
    how: "run",
    note: "the quick bench line: a training row for bench-tiny with tokens/s and the PyTorch ratio",
    exercise: async (ws, command) => {
      const out = await sh(ws, command, { timeoutSeconds: 300 });
      assert.match(out.stdout, /bench-tiny/);
      assert.match(out.stdout, /tok\/s|tokens\/s/);
    },
  },
  "apt-get install libopenblas0-pthread libdnnl2": {
    how: "checked",
    note: "needs root; the native engine's missing-library messages name both packages and " +
      ".ci/run installs them",
    exercise: async (_ws, command) => {
      assert.ok(BLAS_INSTALL_HINT.includes("apt-get install libopenblas0-pthread"));
      assert.ok(DNNL_INSTALL_HINT.includes("apt-get install libdnnl2"));
      const ci = await read(".ci/run");
      for (const pkg of command.split(" ").slice(2)) assert.match(ci, new RegExp(`\\b${pkg}\\b`));
    },
  },
  "deno add npm:@tensorflow/tfjs-node@4.22.0": {
    how: "checked",
    note: "needs the network; the version is deno.json's tfjs pin and the tensorflow backend's " +
      "install hint prints this line",
    exercise: async (_ws, command) => {
      const pins = JSON.parse(await read("deno.json")).imports;
      assert.ok(command.endsWith(pins["@tensorflow/tfjs"].replace("npm:@tensorflow/tfjs", "")));
      assert.ok(TENSORFLOW_INSTALL_HINT.split("\n").some((line) => line.trim() === command));
    },
  },
  "deno install --allow-scripts=npm:@tensorflow/tfjs-node@4.22.0": {
    how: "checked",
    note: "downloads libtensorflow; the tensorflow backend's install hint prints this line",
    exercise: (_ws, command) =>
      assert.ok(TENSORFLOW_INSTALL_HINT.split("\n").some((line) => line.trim() === command)),
  },
  "deno task train configs/quickstart-brown.yaml --load_path=runs/quickstart-brown/latest": {
    how: "run",
    note: "TINY + --max_duration=5 on the tiny quick-start run: steps 1-5 in metrics.jsonl",
    exercise: async (ws, command) => {
      await sh(ws, `${command} --max_duration=5 ${TINY}`, { timeoutSeconds: 120 });
      const run = join(ws, "runs", "quickstart-brown");
      assert.deepEqual(await trainSteps(run), [1, 2, 3, 4, 5]);
      assert.equal(await Deno.readLink(join(run, "latest-unsharded")), "step5-unsharded");
    },
  },
  "deno task unshard runs/my-run/step1000": {
    how: "run",
    note: "runs/my-run = a copy of the tiny quick-start run with its last sharded checkpoint " +
      "renamed step1000 (each unshard line starts without the previous one's output)",
    exercise: async (ws, command) => {
      const run = await freshUnshard(ws);
      await sh(ws, command);
      assertHas(join(run, "step1000-unsharded"), [
        "config.yaml",
        "model.safetensors",
        "optim.safetensors",
        "optim.json",
        "train.json",
      ]);
    },
  },
  "deno task unshard runs/my-run/latest": {
    how: "run",
    note: "latest -> step1000 in runs/my-run; writes runs/my-run/step1000-unsharded",
    exercise: async (ws, command) => {
      const run = await freshUnshard(ws);
      await sh(ws, command);
      assertHas(join(run, "step1000-unsharded"), ["model.safetensors", "optim.safetensors"]);
    },
  },
  "deno task unshard runs/my-run/step1000 /data/export --overwrite": {
    how: "run",
    note:
      "/data/export -> data/export in the workspace, created beforehand (so --overwrite matters)",
    exercise: async (ws, command) => {
      await freshUnshard(ws);
      await Deno.mkdir(join(ws, "data", "export"), { recursive: true });
      await sh(ws, command.replace(" /data/export ", " data/export "));
      assertHas(join(ws, "data", "export"), ["model.safetensors", "optim.safetensors"]);
    },
  },
  "deno task unshard runs/my-run/step1000 --model-only": {
    how: "run",
    note: "no optimizer state in the output",
    exercise: async (ws, command) => {
      const run = await freshUnshard(ws);
      await sh(ws, command);
      const out = join(run, "step1000-unsharded");
      assertHas(out, ["model.safetensors", "train.json"]);
      assert.ok(!listDir(out).includes("optim.safetensors"));
    },
  },
  "deno task convert INPUT OUTPUT --to olmo-ts|olmo|hf|hf-olmo2|hf-olmo [--overwrite] [--tokenizer PATH]":
    {
      how: "mention",
      note: "synopsis; `--help` must list these options (the convert lines run the command)",
      exercise: async (ws) => {
        const help = await sh(ws, "deno task convert --help");
        const options = [
          "--to olmo-ts",
          "--to olmo ",
          "--to hf ",
          "--to hf-olmo2",
          "--to hf-olmo ",
          "--overwrite",
          "--tokenizer",
        ];
        for (const option of options) {
          assert.ok(help.stdout.includes(option), option);
        }
      },
    },
  "deno task convert runs/my-run/step1000-unsharded exported-olmo --to olmo": {
    how: "run",
    note: "input: the last unshard line's output; checks config.yaml + model.pt",
    exercise: async (ws, command) => {
      await sh(ws, command);
      assertHas(join(ws, "exported-olmo"), ["config.yaml", "model.pt"]);
    },
  },
  "deno task convert ~/olmo/step5000-unsharded my-olmo-ts --to olmo-ts": {
    how: "run",
    note: "~/olmo/step5000-unsharded -> olmo/step5000-unsharded, a copy of exported-olmo (an " +
      "OLMo model.pt folder); the weights must come back bit for bit",
    exercise: async (ws, command) => {
      const olmo = join(ws, "olmo", "step5000-unsharded");
      await Deno.mkdir(olmo, { recursive: true });
      await sh(ws, `cp exported-olmo/config.yaml exported-olmo/model.pt ${olmo}/`);
      await sh(ws, command.replace("~/olmo/", "olmo/"));
      const back = await readSafetensors(join(ws, "my-olmo-ts", "model.safetensors"));
      const original = join(ws, "runs", "my-run", "step1000-unsharded", "model.safetensors");
      assertBitExact(back.tensors, (await readSafetensors(original)).tensors, "round trip");
    },
  },
  'deno task generate --checkpoint allenai/OLMo-2-0425-1B --max-steps 20 "Language models are"': {
    how: "checked",
    note:
      "needs the 1B model in the local Hugging Face cache; tests/hf_transformers_test.ts runs " +
      "generate on a Hub id of a cached OLMo 2 folder (olmo-reference-v2)",
    exercise: (_ws, command) => {
      const id = command.split(" ")[4];
      assert.equal(hubIdOf(id), id);
    },
  },
  'deno task generate --checkpoint runs/quickstart-brown/latest-unsharded --beam-size 3 "The jury said"':
    { how: "run", note: "prints the best beam", exercise: generate },
  'deno task generate --checkpoint runs/quickstart-brown/latest-unsharded --sampler top-p --p 0.9 --temperature 0.8 --seed 1 "The jury said"':
    { how: "run", note: "run twice: the same seed prints the same text", exercise: generate },
  "deno task serve --checkpoint runs/quickstart-brown/latest-unsharded --run runs/quickstart-brown":
    {
      how: "run",
      note: "with --port 0, on the tiny quick-start run: the printed localhost URL serves both " +
        "pages and the bundle, the checkpoint (with its tokenizer) and the run are listed; the " +
        "pages themselves are tested in chromium by serve_browser_test.ts",
      exercise: serveAndProbe,
    },
  "deno task build-web": {
    how: "run",
    note: "writes the three bundle files into .cache/web/",
    exercise: async (ws, command) => {
      await sh(ws, command, { timeoutSeconds: 120 });
      for (const file of ["playground.js", "playground_worker.js", "dashboard.js"]) {
        assert.ok(await exists(join(ws, ".cache", "web", file)), file);
      }
    },
  },
  "deno task train-tokenizer my-data/ -o my-tokenizer.json --vocab-size 8192": {
    how: "run",
    note: "my-data/ = 40 made-up documents (.jsonl + .txt, `writeMyData`); must print the ids " +
      "the next training line uses",
    exercise: async (ws, command) => {
      await writeMyData(join(ws, "my-data"));
      const run = await sh(ws, command);
      assert.match(run.stdout, /vocab_size 8192, eos_token_id 8191, pad_token_id 8190/);
    },
  },
  "deno task prepare-data my-data/ -o my-tokens --tokenizer my-tokenizer.json --workers 2 --validate":
    {
      how: "run",
      note: "must write my-tokens/0_00000.npy, the file the next training line reads",
      exercise: async (ws, command) => {
        assert.match((await sh(ws, command)).stdout, /validated/);
        assert.ok(await exists(join(ws, "my-tokens", "0_00000.npy")));
      },
    },
  "deno task train configs/quickstart-brown.yaml --tokenizer.identifier=my-tokenizer.json --run_name=my-data --model.vocab_size=8192 --model.embedding_size=8192 --model.eos_token_id=8191 --model.pad_token_id=8190 '--data.paths=[my-tokens/0_00000.npy]' --evaluators=[]":
    {
      how: "run",
      note: "TINY + --max_duration=2, after the quick start (so the run needs its own name)",
      exercise: async (ws, command) => {
        await sh(ws, `${command} --max_duration=2 ${TINY}`, { timeoutSeconds: 120 });
        assert.deepEqual(await trainSteps(join(ws, "runs", "my-data")), [1, 2]);
      },
    },
  "deno task inspect-data --run runs/my-run --step 10 --world-size 2": {
    how: "run",
    note: "on runs/my-run (above); prints both ranks' instances",
    exercise: async (ws, command) => {
      await ensureMyRun(ws);
      const run = await sh(ws, command);
      assert.match(run.stdout, /^step 10: [^]*== rank 0: [^]*== rank 1: /);
    },
  },
  "deno task inspect-data --run runs/my-run --validate": {
    how: "run",
    note: "on runs/my-run (above); every id of its token files is checked",
    exercise: async (ws, command) => {
      await ensureMyRun(ws);
      const run = await sh(ws, command);
      assert.match(run.stdout, /validated \d+ token file\(s\), \d+ tokens: every id is < \d+/);
    },
  },
  "apt install mpich": {
    how: "ci",
    note: ".ci/run installs mpich",
    exercise: async (_ws, command) => await assertCiInstalls(command.split(" ")[2]),
  },
  "apt install openmpi-bin": {
    how: "ci",
    note: ".ci/run installs openmpi-bin",
    exercise: async (_ws, command) => await assertCiInstalls(command.split(" ")[2]),
  },
  "deno task launch --nproc-per-node=4 cli/train.ts configs/my-run.yaml --save_folder=runs/x": {
    how: "dry-run",
    note: "configs/my-run.yaml = a tiny Brown config; checks mpiexec.mpich, -n 4 and the script " +
      "arguments (a real run needs the trainer's multi-rank support)",
    exercise: dryRunLaunch,
  },
  "deno task launch --mpi=openmpi --nproc-per-node=4 cli/train.ts configs/my-run.yaml": {
    how: "dry-run",
    note: "mpiexec.openmpi, -n 4",
    exercise: dryRunLaunch,
  },
  "deno task launch --hosts node1,node2 --nproc-per-node=8 cli/train.ts configs/my-run.yaml": {
    how: "dry-run",
    note: "-n 16 over two hosts",
    exercise: dryRunLaunch,
  },
  "deno task launch --hostfile hosts.txt --nproc-per-node=8 cli/train.ts configs/my-run.yaml": {
    how: "dry-run",
    note: "hosts.txt = node1 and node2; -n 16",
    exercise: dryRunLaunch,
  },
  "mpiexec.mpich -genv MPI_LIB libmpich.so.12 -ppn $SLURM_NTASKS_PER_NODE -n $SLURM_NTASKS deno run -A cli/train.ts CONFIG ...":
    {
      how: "run",
      note: "when mpiexec.mpich is installed (CI installs it), outside Slurm with " +
        "SLURM_NTASKS=SLURM_NTASKS_PER_NODE=1 (the trainer takes one rank for now); " +
        "CONFIG ... -> configs/my-run.yaml",
      exercise: async (ws, command) => {
        if (!(await onPath("mpiexec.mpich"))) {
          console.log("mpiexec.mpich is not installed: skipped (CI installs mpich)");
          return;
        }
        await ensureMyRunConfig(ws);
        await sh(ws, command.replace("CONFIG ...", "configs/my-run.yaml"), {
          env: { SLURM_NTASKS: "1", SLURM_NTASKS_PER_NODE: "1" },
          timeoutSeconds: 120,
        });
        assert.deepEqual(await trainSteps(join(ws, "runs", "my-run-mpi")), [1, 2]);
      },
    },
  "srun --mpi=pmix deno run -A cli/train.ts ...": {
    how: "checked",
    note: "needs Slurm; cli/slurm/train.sbatch has this alternative and passes `bash -n`",
    exercise: async (ws) => {
      assert.match(await read("cli/slurm/train.sbatch"), /srun --mpi=pmix /);
      await sh(ws, `bash -n ${join(REPO_ROOT, "cli", "slurm", "train.sbatch")}`);
    },
  },
  "srun --mpi=pmi2 ...": {
    how: "checked",
    note: "needs Slurm; cli/slurm/train.sbatch has this alternative",
    exercise: async () => assert.match(await read("cli/slurm/train.sbatch"), /srun --mpi=pmi2 /),
  },
  "deno jupyter --install": {
    how: "ci",
    note: ".ci/run installs the kernel with it (plus --force)",
    exercise: async () => assert.ok((await read(".ci/run")).includes("deno jupyter --install")),
  },
  "deno task notebooks": {
    how: "ci",
    note: ".ci/run executes the notebooks with it",
    exercise: async () => assert.ok((await read(".ci/run")).includes("deno task notebooks ")),
  },
  "deno task check": {
    how: "ci",
    note: ".ci/run runs it",
    exercise: async () => assert.ok((await read(".ci/run")).includes("if deno task check; then")),
  },
  ".ci/run": {
    how: "ci",
    note: "what CI runs; it must pass `bash -n`",
    exercise: async (ws) => void await sh(ws, `bash -n ${join(REPO_ROOT, ".ci", "run")}`),
  },
  "deno fmt --check": { how: "ci", note: "`deno task check` runs it", exercise: checkTaskRuns },
  "deno lint": { how: "ci", note: "`deno task check` runs it", exercise: checkTaskRuns },
  "deno check": { how: "ci", note: "`deno task check` runs it", exercise: checkTaskRuns },
  "mpiexec": {
    how: "mention",
    note: "the MPI launcher; run by the mpiexec.mpich line, CI installs both MPIs",
    exercise: async () => {
      await assertCiInstalls("mpich");
      await assertCiInstalls("openmpi-bin");
    },
  },
  "mpiexec.mpich": {
    how: "mention",
    note: "run by its own line and by `deno task launch`",
    exercise: async () =>
      assert.match(await read("lib/distributed/launch_command.ts"), /"mpiexec\.mpich"/),
  },
  "mpiexec.openmpi": {
    how: "mention",
    note: "what `deno task launch --mpi=openmpi` runs",
    exercise: async () =>
      assert.match(await read("lib/distributed/launch_command.ts"), /"mpiexec\.openmpi"/),
  },
  "srun": {
    how: "mention",
    note: "see the srun lines",
    exercise: async () => assert.match(await read("cli/slurm/train.sbatch"), /^#\s+srun /m),
  },
};

/** The ```ts examples: each block must contain exactly one `marker`. */
const TS_EXAMPLES: TsExample[] = [{
  marker: "Olmo.fromCheckpoint(",
  note:
    "written into the workspace as is (its ./mod.ts and runs/quickstart-brown/latest-unsharded " +
    "resolve there) and run: prints decoded text, then 3 beam scores, best first",
  check: (stdout) => {
    // console.log(text, scores): the text, then the (1, 3) scores array, possibly wrapped.
    const scores = stdout.match(/^([^]*\S[^]*?)\s\[\s*\[([^\]]+)\]\s*\]\s*$/);
    assert.ok(scores !== null, `no text and scores: ${stdout}`);
    const values = scores[2].split(",").map((v) => Number(v.trim()));
    assert.equal(values.length, 3);
    assert.ok(values.every((v) => Number.isFinite(v) && v <= 0), scores[2]);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
  },
}];

Deno.test("README: every command is in the coverage table, and every table entry is in it", async () => {
  const items = uniqueItems(await read("README.md"));
  for (const item of items) coverageOf(item, COVERAGE, TS_EXAMPLES);
  const texts = new Set(items.map((item) => item.text));
  const stale = Object.keys(COVERAGE).filter((command) => !texts.has(command));
  assert.deepEqual(stale, [], "table entries no longer in README.md");
  const ts = items.filter((item) => item.kind === "ts");
  const unused = TS_EXAMPLES.filter((e) => !ts.some((item) => item.text.includes(e.marker)));
  assert.deepEqual(unused.map((e) => e.marker), [], "TS_EXAMPLES no longer in README.md");
});

Deno.test("README: commands and examples run as documented", async (t) => {
  const ws = await makeWorkspace();
  try {
    for (const item of uniqueItems(await read("README.md"))) {
      const { how, run } = coverageOf(item, COVERAGE, TS_EXAMPLES);
      const name = `README.md:${item.line} [${how}] ${item.text.split("\n")[0].slice(0, 90)}`;
      await t.step(name, () => run(ws));
    }
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});
