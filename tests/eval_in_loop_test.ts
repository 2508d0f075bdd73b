/**
 * Downstream evaluators in training and `deno task eval`: a tiny run with an `lm` evaluator,
 * two OLMo tasks (parquet and JSON lines, one of them `pmi_dc`) and a custom task logs
 * `eval/downstream/{label}_{metric}` at every `eval_interval` (console, `metrics.jsonl`, the
 * evaluation panel of `loss.svg`); `deno task eval` on the final checkpoint gives the numbers the
 * run logged for that step; the command's table, JSON lines and errors.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { formatEvalTable, parseEvalArgs, runEval } from "../cli/eval.ts";
import { TASKS } from "../lib/eval/tasks.ts";
import { Olmo } from "../lib/facade/mod.ts";
import type { TrainLogger } from "../lib/train/log.ts";
import { readMetricsFile } from "../lib/train/metrics_sink.ts";
import { runTraining } from "../lib/train/run.ts";
import { assertExit, runCli } from "./_cli.ts";
import { HAS_SHARED, referenceCaseDir, REPO_ROOT } from "./_shared.ts";
import { jsonLines, referenceLogLikelihood, taskParquet } from "./_eval_fixture.ts";
import { makeTinyEnv, tinyTrainConfig, wordLevelTokenizerJson } from "./_train_fixture.ts";
import { withTempDir } from "./_temp_dir.ts";

/** `script` (util-linux) runs a command on a pseudo-terminal; absent on some systems. */
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** Word-level documents (the tiny tokenizer knows `w0` … `w63`). */
const PIQA_ROWS = [
  { goal: "w1 w2 w3", sol1: "w4 w5", sol2: "w9 w10 w11", label: 0 },
  { goal: "w5 w6", sol1: "w20", sol2: "w7 w8", label: 1 },
  { goal: "w30 w31 w32", sol1: "w33", sol2: "w40 w41", label: 0 },
];
const BOOLQ_ROWS = [
  { question: "w1 w2", passage: "w3 w4 w5", answer: true },
  { question: "w6", passage: "w7 w8", answer: false },
  { question: "w9 w10", passage: "w11", answer: true },
];
const ARITH_ROWS = [
  { context: "w1 w2", continuations: [" w3", " w7 w8"], label: 0 },
  { context: "w10 w11 w12", continuations: [" w13", " w2", " w50"], label: 0 },
  { context: "w20", continuations: [" w40", " w21"], label: 1 },
  // A continuation longer than the 16-token window: skipped and reported.
  { context: "w1", continuations: [" w2", " w3".repeat(17)], label: 0 },
];
const DOWNSTREAM_METRICS = [
  "eval/downstream/arith_acc",
  "eval/downstream/arith_len_norm",
  "eval/downstream/boolq_pmi_dc",
  "eval/downstream/piqa_len_norm",
];

Deno.test("in-loop downstream metrics are logged, recorded and plotted; deno task eval agrees", async () => {
  const env = await makeTinyEnv();
  try {
    const tasks = join(env.dir, "tasks");
    await Deno.mkdir(join(tasks, "piqa", "none"), { recursive: true });
    await Deno.writeFile(
      join(tasks, "piqa", "none", "validation-00000-of-00001.parquet"),
      new Uint8Array(taskParquet(TASKS.piqa, PIQA_ROWS)),
    );
    await Deno.mkdir(join(tasks, "boolq", "none", "validation"), { recursive: true });
    await Deno.writeTextFile(
      join(tasks, "boolq", "none", "validation", "0000.jsonl"),
      jsonLines(BOOLQ_ROWS),
    );
    const arith = join(env.dir, "arith.jsonl");
    await Deno.writeTextFile(arith, jsonLines(ARITH_ROWS));

    const save = join(env.dir, "run");
    const lines: string[] = [];
    const logger: TrainLogger = {
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(`warning: ${m}`),
    };
    const result = await runTraining(
      await tinyTrainConfig(env, save, {
        eval_interval: 3,
        console_log_interval: 1000,
        hf_datasets_cache_dir: tasks,
        evaluators: [
          { label: "held-out", data: { paths: [env.validation] } },
          { label: "piqa", type: "downstream" },
          { label: "boolq", type: "downstream", device_eval_batch_size: 2 },
          { label: "arith", type: "downstream", data: { paths: [arith] } },
        ],
        model: { residual_dropout: 0 },
      }),
      { logger, progress: { silent: true } },
    );
    assert.equal(result.fit?.step, 6);
    const evals = (await readMetricsFile(join(save, "metrics.jsonl")))
      .filter((r) => "eval/held-out/CrossEntropyLoss" in r);
    assert.deepEqual(evals.map((r) => r.step), [3, 6]);
    for (const record of evals) {
      const names = Object.keys(record).filter((k) => k.startsWith("eval/downstream/")).sort();
      assert.deepEqual(names, DOWNSTREAM_METRICS);
      for (const name of names) assert.ok(record[name] >= 0 && record[name] <= 1, name);
    }
    assert.ok(
      lines.some((l) => l.startsWith("piqa\n    eval/downstream/piqa_len_norm=")),
      lines.join("\n"),
    );
    const skipped = `skipped 1 of 4 documents (${arith}:4: continuation 1 has 17 tokens, more ` +
      "than the model's context window of 16)";
    assert.ok(lines.includes(`warning: evaluators[3] (arith): ${skipped}`), lines.join("\n"));
    const svg = await Deno.readTextFile(join(save, "loss.svg"));
    assert.match(svg, />evaluation: eval\/downstream\/\*<\/text>/);
    for (const name of DOWNSTREAM_METRICS) {
      assert.match(svg, new RegExp(`>${name.replace("eval/downstream/", "")}</text>`));
    }

    // The command on the step-6 checkpoint: the same values.
    const warnings: string[] = [];
    const rows = await runEval({
      checkpoint: join(save, "step6-unsharded"),
      tasks: ["piqa", "boolq", `custom:${arith}`],
      json: false,
      dataDir: tasks,
      batchSize: 4,
      backend: "cpu",
    }, { warn: (m) => warnings.push(m), progress: false });
    assert.deepEqual(warnings, [`arith: ${skipped}`]);
    assert.deepEqual(
      rows.map((r) => [`eval/downstream/${r.task}_${r.metric}`, r.value, r.documents]).sort(),
      DOWNSTREAM_METRICS.map((name) => [name, evals[1][name], 3]),
    );

    // The command line: JSON lines in a subprocess; errors.
    const json = await runCli("eval.ts", [
      join(save, "step6-unsharded"),
      "--tasks",
      `piqa,custom:${arith}`,
      "--data-dir",
      tasks,
      "--json",
      "--limit",
      "2",
      "--backend",
      "cpu",
    ]);
    assertExit(json, 0);
    const parsed = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(parsed.map((r) => [r.task, r.metric, r.documents, r.skipped]), [
      ["piqa", "len_norm", 2, 0],
      ["arith", "acc", 2, 0],
      ["arith", "len_norm", 2, 0],
    ]);
    if (SCRIPT !== undefined) {
      // On a terminal: a progress bar on stderr (a wide pty, so the bar is not cut).
      const command = `stty cols 200; ${Deno.execPath()} run -A ${
        join(REPO_ROOT, "cli", "eval.ts")
      } ${join(save, "step6-unsharded")} --tasks piqa --data-dir ${tasks} --backend cpu`;
      const out = await new Deno.Command(SCRIPT, {
        args: ["-qec", command, "/dev/null"],
        cwd: REPO_ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const csi = new RegExp(String.fromCharCode(27) + "\\[[0-9;?]*[A-Za-z]", "g");
      const text = new TextDecoder().decode(out.stdout).replace(csi, "").replaceAll("\r", "\n");
      assert.equal(out.code, 0, text);
      assert.match(text, /eval \|[█░]{40}\| piqa \| batch 1\/1 \| ETA/);
      assert.match(text, /piqa +len_norm +\d\.\d{4} +3/);
    }
    const missing = await runCli("eval.ts", [
      join(save, "step6-unsharded"),
      "--tasks",
      "sciq",
      "--data-dir",
      tasks,
    ]);
    assertExit(missing, 1);
    assert.match(
      missing.stderr,
      /eval: downstream task 'sciq': no data files: looked for .*sciq\/none\/validation\*\.parquet/,
    );
    assert.match(missing.stderr, /allenai\/sciq/);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("deno task eval: arguments and the table", () => {
  assert.deepEqual(
    parseEvalArgs(["ckpt", "--tasks", "piqa, arc_easy,custom:a.jsonl", "--limit", "5"]),
    {
      checkpoint: "ckpt",
      tasks: ["piqa", "arc_easy", "custom:a.jsonl"],
      limit: 5,
      json: false,
      dataDir: null,
      batchSize: 16,
      backend: "auto",
    },
  );
  assert.throws(
    () => parseEvalArgs(["ckpt", "--tasks", "piqa", "--limit", "0"]),
    /--limit must be an integer ≥ 1/,
  );
  assert.throws(() => parseEvalArgs(["ckpt", "--tasks", ","]), /--tasks names no task/);
  assert.throws(() => parseEvalArgs(["--tasks", "piqa"]), /the checkpoint is required/);
  assert.throws(
    () => parseEvalArgs(["ckpt", "--tasks", "piqa", "--bogus"]),
    /unknown option --bogus/,
  );
  assert.equal(
    formatEvalTable([
      { task: "piqa", metric: "len_norm", value: 0.5, documents: 1838, skipped: 0 },
      { task: "arc_challenge", metric: "pmi_dc", value: 1 / 3, documents: 299, skipped: 0 },
      { task: "mine", metric: "acc", value: NaN, documents: 0, skipped: 2 },
    ]),
    "task           metric     value  documents\n" +
      "piqa           len_norm  0.5000       1838\n" +
      "arc_challenge  pmi_dc    0.3333        299\n" +
      "mine           acc          nan          0\n",
  );
});

Deno.test({
  name: "deno task eval on OLMo's own model.pt (reference case) with a word-level tokenizer",
  ignore: !HAS_SHARED,
  fn: () =>
    withTempDir(async (dir) => {
      const caseDir = referenceCaseDir("rope-swiglu-seq");
      // Without a tokenizer (its config names gpt2, not available offline): a clear error.
      await assert.rejects(
        () =>
          runEval({
            checkpoint: caseDir,
            tasks: ["custom:x.jsonl"],
            json: false,
            dataDir: dir,
            batchSize: 2,
            backend: "cpu",
          }, { warn: () => {}, progress: false }),
        /cannot load the tokenizer of .*rope-swiglu-seq[^]*put its tokenizer\.json in the checkpoint/,
      );
      const ckpt = join(dir, "ckpt");
      await Deno.mkdir(ckpt);
      for (const f of ["config.yaml", "model.pt"]) {
        await Deno.copyFile(join(caseDir, f), join(ckpt, f));
      }
      await Deno.writeTextFile(join(ckpt, "tokenizer.json"), wordLevelTokenizerJson(250));
      const rows = [
        { context: "w1 w2 w3", continuations: [" w4", " w100 w7", " w9"], label: 0 },
        { context: "w10 w11", continuations: [" w12 w13", " w200"], label: 1 },
        { context: "w30", continuations: [" w31", " w32", " w33", " w34"], label: 3 },
      ];
      const path = join(dir, "words.jsonl");
      await Deno.writeTextFile(path, jsonLines(rows));
      const got = await runEval({
        checkpoint: ckpt,
        tasks: [`custom:${path}`],
        json: false,
        dataDir: dir,
        batchSize: 3,
        backend: "cpu",
      }, { warn: (m) => assert.fail(m), progress: false });
      // Independently: full forward passes of the loaded reference model.
      const model = await Olmo.fromCheckpoint(ckpt, { backend: "cpu" });
      try {
        const ids = (text: string) => text.trim().split(" ").map((w) => Number(w.slice(1)));
        const want = { acc: 0, len_norm: 0 };
        for (const row of rows) {
          const ll = [];
          for (const c of row.continuations) {
            ll.push(await referenceLogLikelihood(model, ids(row.context), ids(c)));
          }
          const norm = ll.map((v, i) => v / (row.continuations[i].length - 1));
          want.acc += ll.indexOf(Math.max(...ll)) === row.label ? 1 / 3 : 0;
          want.len_norm += norm.indexOf(Math.max(...norm)) === row.label ? 1 / 3 : 0;
        }
        assert.deepEqual(got.map((r) => [r.metric, r.documents]), [["acc", 3], ["len_norm", 3]]);
        assert.ok(Math.abs(got[0].value - want.acc) < 1e-9, `${got[0].value} vs ${want.acc}`);
        assert.ok(Math.abs(got[1].value - want.len_norm) < 1e-9);
      } finally {
        model.dispose();
      }
    }),
});
