/**
 * `deno task train` end to end, as a user runs it (a subprocess of `cli/train.ts`): a tiny
 * config trains, evaluates and checkpoints into its run folder, printing OLMo's console blocks
 * and plain progress lines off a terminal (a progress bar with an ETA on one); a restart through
 * `${path.last_checkpoint:...}` continues it without `--save_overwrite`, and its metrics and
 * data-indices files hold every step once; a config whose data is missing fails fast with
 * instructions.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readGlobalIndices } from "../lib/data/iterable_dataset.ts";
import { readDataIndices } from "../lib/train/data_indices.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { REPO_ROOT } from "./_shared.ts";
import { makeTinyEnv, writeTinyConfigYaml } from "./_train_fixture.ts";

async function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "cli", "train.ts"), ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task train: a tiny run writes metrics, plot, checkpoints and links; restarts", async () => {
  const env = await makeTinyEnv();
  try {
    const config = join(env.dir, "tiny-e2e.yaml");
    await writeTinyConfigYaml(env, config, join(env.dir, "runs", "${run_name}"), {
      run_name: null,
      evaluators: [{ label: "held-out", data: { paths: [env.validation] } }],
      eval_interval: 3,
      console_log_interval: 2,
      save_num_checkpoints_to_keep: 2,
    });
    const first = await train([config, "--backend=wasm"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /run_name is not set; using 'tiny-e2e'/);
    assert.match(first.stdout, /\[step=2\/6\]\n {4}train\/CrossEntropyLoss=/);
    // OLMo's console: the evaluator's bare label heads its block; optim/* never printed.
    assert.match(
      first.stdout,
      /Running evaluation for 'held-out'\.{3}\n\[eval_step=2\/3\]\n\[eval_step=3\/3\]\n/,
    );
    assert.match(first.stdout, /^held-out\n {4}eval\/held-out\/CrossEntropyLoss=\d\.\d{3}\n/m);
    assert.doesNotMatch(first.stdout, /optim\//);
    // Off a terminal: plain progress lines (the last step always), no bar.
    assert.match(first.stderr, /\[progress\] step 6\/6 \(100\.0%\) \| loss \d\.\d{4} \|.* ETA 0s/);
    assert.doesNotMatch(first.stderr, /train \|/);

    const run = join(env.dir, "runs", "tiny-e2e");
    const records = await readMetricsFile(join(run, "metrics.jsonl"));
    const trainSteps = records.filter((r) => "train/CrossEntropyLoss" in r).map((r) => r.step);
    const evalSteps = records.filter((r) => "eval/held-out/Perplexity" in r).map((r) => r.step);
    assert.deepEqual(trainSteps, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(evalSteps, [3, 6]);
    for (const name of ["optim/total_grad_norm", "optim/learning_rate_group0"]) {
      assert.ok(records.every((r) => !("train/CrossEntropyLoss" in r) || name in r), name);
    }
    // loss.svg: a training curve and an evaluation curve, each a path, with their legends.
    const svg = await Deno.readTextFile(join(run, "loss.svg"));
    assert.match(svg, /^<svg[^]*<\/svg>\n$/);
    assert.match(svg, />train\/CrossEntropyLoss<\/text>/);
    assert.match(svg, />eval\/held-out<\/text>/);
    assert.equal(svg.match(/<path d="M/g)?.length, 2);
    assert.match(await Deno.readTextFile(join(run, "config.yaml")), /^run_name: tiny-e2e$/m);
    // 64 instances of 16 tokens: the global order is 64 uint32 indices.
    assert.equal((await Deno.stat(join(run, "train_data", "global_indices.npy"))).size, 64 * 4);
    // Keep 2 sharded checkpoints: step0 (pre-train) was pruned at step 6.
    await assert.rejects(() => Deno.stat(join(run, "step0")));
    for (const d of ["step3", "step6", "step6-unsharded"]) {
      assert.ok((await Deno.stat(join(run, d))).isDirectory, d);
    }
    assert.equal(await Deno.readLink(join(run, "latest")), "step6");
    assert.equal(await Deno.readLink(join(run, "latest-unsharded")), "step6-unsharded");

    // Restart into the same folder from its newest checkpoint (step6: sharded wins the tie with
    // step6-unsharded), two more steps.
    const last = `\${path.last_checkpoint:${run}}`;
    const again = await train([config, `--load_path=${last}`, "--max_duration=8"]);
    assert.equal(again.code, 0, again.stderr);
    const after = await readMetricsFile(join(run, "metrics.jsonl"));
    assert.deepEqual(
      after.filter((r) => "train/CrossEntropyLoss" in r).map((r) => r.step),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(await Deno.readLink(join(run, "latest-unsharded")), "step8-unsharded");
    assert.match(again.stdout, /restored olmo-ts checkpoint .*step6 at step 6/);
    // data-indices: each step once, with the instances of the global order at that step.
    const global = readGlobalIndices(join(run, "train_data", "global_indices.npy"));
    const indices = await readDataIndices(join(run, "data-indices", "rank0.tsv.gz"));
    assert.deepEqual(indices.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const { step, indices: got } of indices) {
      assert.deepEqual(got, [...global.subarray((step - 1) * 4, step * 4)], `step ${step}`);
    }
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

/** `script` (util-linux) runs a command on a pseudo-terminal; absent on some systems. */
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "on a terminal, deno task train shows a progress bar with the step, loss and ETA",
  ignore: SCRIPT === undefined,
  fn: async () => {
    const env = await makeTinyEnv();
    try {
      const config = join(env.dir, "tty.yaml");
      await writeTinyConfigYaml(env, config, join(env.dir, "run"), {});
      // A wide terminal, so the bar is not cut at the pty's default width (80 columns in CI).
      const command = `stty cols 200; ${Deno.execPath()} run -A ${
        join(REPO_ROOT, "cli", "train.ts")
      } ${config}`;
      const out = await new Deno.Command(SCRIPT!, {
        args: ["-qec", command, "/dev/null"],
        cwd: REPO_ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      // The terminal's output, without cursor-control sequences, one line per redraw.
      const csi = new RegExp(String.fromCharCode(27) + "\\[[0-9;?]*[A-Za-z]", "g");
      const text = new TextDecoder().decode(out.stdout).replace(csi, "")
        .replaceAll("\r", "\n");
      assert.equal(out.code, 0, text);
      assert.match(text, /train \|[█░]{40}\| step 6\/6 \| loss \d\.\d{4} \| \d+ tok\/s \| elapsed/);
      assert.match(text, /\| ETA \d+s/);
      assert.doesNotMatch(text, /\[progress\]/);
    } finally {
      await Deno.remove(env.dir, { recursive: true });
    }
  },
});

Deno.test("deno task train configs/c4-tiny.yaml without C4 data fails fast with instructions", async () => {
  const r = await train([join(REPO_ROOT, "configs", "c4-tiny.yaml")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the training data \(data\.paths\) is missing/);
  assert.match(r.stderr, /deno task prepare-data .* --tokenizer gpt2/);
  assert.match(r.stderr, /configs\/quickstart-brown\.yaml/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
});
