/**
 * Downstream evaluation end to end on a small random olmo-ts model: every OLMo task read from
 * the Hub's parquet layout and from JSON lines gives the metric values computed independently
 * here (one full forward pass per request, a plain float64 log-softmax, argmax by hand); batched
 * padded scoring equals unpadded forward passes; long contexts are cut from the left and scored
 * at the right positions; unscorable documents are counted skips; bad inputs are clear errors;
 * two ranks give the numbers of one.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DownstreamEvaluator, loadTaskRequests } from "../lib/eval/downstream_evaluator.ts";
import type { MetricValue } from "../lib/eval/metric.ts";
import { continuationLogLikelihoods } from "../lib/eval/scoring.ts";
import { selectTask } from "../lib/eval/select.ts";
import { MissingTaskDataError, taskDataDir } from "../lib/eval/task_files.ts";
import { buildDocument } from "../lib/eval/documents.ts";
import {
  customTask,
  type MetricType,
  type TaskRow,
  TASKS,
  type TaskSpec,
} from "../lib/eval/tasks.ts";
import { Olmo } from "../lib/model/olmo.ts";
import { tinyConfig } from "./_model_fixture.ts";
import {
  charEncode,
  jsonLines,
  referenceLogLikelihood,
  TASK_ROWS,
  writeAllTaskFiles,
} from "./_eval_fixture.ts";
import { withTempDir } from "./_temp_dir.ts";

tf.env().set("PROD", true);

const PAD = 0;
const WINDOW = 160;
const model = new Olmo(
  tinyConfig({
    vocab_size: 100,
    embedding_size: 128,
    eos_token_id: 99,
    pad_token_id: PAD,
    max_sequence_length: WINDOW,
    rope: true,
  }),
  { seed: 11 },
);
const ONE_RANK = { rank: 0, size: 1, allReduceSum: () => Promise.resolve() };

/** The task's metrics computed here from `referenceLogLikelihood`, without the library. */
async function referenceMetrics(task: TaskSpec, rows: TaskRow[]) {
  const perDoc: { ll: number[]; dc: number[]; len: number[]; label: number }[] = [];
  for (const row of rows) {
    const doc = buildDocument(task, row);
    const ll: number[] = [], dc: number[] = [], len: number[] = [];
    for (let i = 0; i < doc.continuations.length; i++) {
      const cont = charEncode(doc.continuations[i]);
      ll.push(await referenceLogLikelihood(model, charEncode(doc.contexts[i]), cont));
      if (task.metricTypes.includes("pmi_dc")) {
        dc.push(await referenceLogLikelihood(model, charEncode(doc.domainConditionals[i]), cont));
      }
      len.push([...doc.continuations[i]].length - 1);
    }
    perDoc.push({ ll, dc, len, label: doc.label });
  }
  const firstMax = (v: number[]) => v.indexOf(Math.max(...v));
  const out: Partial<Record<MetricType, number>> = {};
  for (const metric of task.metricTypes) {
    const preds = perDoc.map((d) =>
      firstMax(
        d.ll.map((ll, i) =>
          metric === "len_norm" ? ll / d.len[i] : metric === "pmi_dc" ? ll / d.dc[i] : ll
        ),
      )
    );
    const golds = perDoc.map((d) => d.label);
    if (metric === "f1") {
      const tp = preds.filter((p, i) => p === 0 && golds[i] === 0).length;
      const fp = preds.filter((p, i) => p === 0 && golds[i] !== 0).length;
      const fn = preds.filter((p, i) => p !== 0 && golds[i] === 0).length;
      out.f1 = 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    } else {
      out[metric] = preds.filter((p, i) => p === golds[i]).length / preds.length;
    }
  }
  return out;
}

/** Each request's log-likelihoods against the independent ones of its document's strings. */
async function checkRequestScores(evaluator: DownstreamEvaluator, task: TaskSpec, rows: TaskRow[]) {
  const scores = await evaluator.scoreRequests(model);
  assert.equal(scores.length, evaluator.data.requests.length);
  for (const s of scores) {
    const doc = buildDocument(task, rows[s.docId]);
    const cont = charEncode(doc.continuations[s.contId]);
    const ll = await referenceLogLikelihood(model, charEncode(doc.contexts[s.contId]), cont);
    assert.ok(Math.abs(s.logLikelihood - ll) < 1e-4, `${task.label} ${s.docId}/${s.contId}`);
    if (task.metricTypes.includes("pmi_dc")) {
      const dcPrefix = charEncode(doc.domainConditionals[s.contId]);
      const dc = await referenceLogLikelihood(model, dcPrefix, cont);
      assert.ok(Math.abs(s.dcLogLikelihood - dc) < 1e-4, `${task.label} dc ${s.docId}/${s.contId}`);
    }
    assert.equal(s.contStrLen, [...doc.continuations[s.contId]].length - 1);
    assert.equal(s.labelId, doc.label);
  }
}

async function evaluate(
  task: TaskSpec,
  files: string[],
  opts: { batchSize?: number; window?: number } = {},
): Promise<{ metrics: MetricValue[]; evaluator: DownstreamEvaluator }> {
  const data = await loadTaskRequests(task, files, {
    encode: charEncode,
    maxLength: opts.window ?? WINDOW,
  });
  const evaluator = new DownstreamEvaluator(task, data, {
    batchSize: opts.batchSize ?? 4,
    padTokenId: PAD,
    world: ONE_RANK,
  });
  return { metrics: await evaluator.evaluateMetrics(model), evaluator };
}

Deno.test("a padded batch scores continuations as unpadded full forward passes do", async () => {
  const items = [
    { query: [5, 6, 7, 8, 9, 10], prefixLen: 3, continuation: [8, 9, 10, 11] },
    { query: [20], prefixLen: 1, continuation: [21] },
    { query: [30, 31, 32], prefixLen: 2, continuation: [32, 33] },
  ];
  const got = await continuationLogLikelihoods(model, items, PAD);
  for (const [i, it] of items.entries()) {
    const want = await referenceLogLikelihood(
      model,
      it.query.slice(0, it.prefixLen),
      it.continuation,
    );
    assert.ok(Math.abs(got[i] - want) < 1e-4, `item ${i}: ${got[i]} vs ${want}`);
  }
});

for (const format of ["parquet", "jsonl"] as const) {
  Deno.test(`all 13 tasks from ${format} files: metrics equal the independent computation`, () =>
    withTempDir(async (dir) => {
      await writeAllTaskFiles(dir, format);
      for (const [label, rows] of Object.entries(TASK_ROWS)) {
        const { task, files } = await selectTask(label, { dataDir: dir });
        assert.equal(files.length, 1);
        assert.ok(files[0].endsWith(format === "parquet" ? ".parquet" : "validation.jsonl"));
        const { metrics, evaluator } = await evaluate(task, files);
        const want = await referenceMetrics(task, rows);
        await checkRequestScores(evaluator, task, rows);
        assert.deepEqual(
          Object.fromEntries(metrics.map((m) => [m.metric, m.value])),
          want,
          label,
        );
        for (const m of metrics) assert.equal(m.documents, rows.length, label);
      }
    }));
}

Deno.test("a custom task: acc and len_norm, any batch size, --limit", () =>
  withTempDir(async (dir) => {
    const rows = [
      { context: "Two plus two is", continuations: [" four", " five", " fish"], label: 0 },
      { context: "The sky is", continuations: [" blue", " made of cheese"], label: 0 },
      { context: "Cats say", continuations: [" woof", " meow"], label: 1 },
      { context: "Water is", continuations: [" dry", " wet", " loud", " green"], label: 1 },
      { context: "Fire is", continuations: [" cold", " hot"], label: 1 },
    ];
    const path = join(dir, "mine.jsonl");
    await Deno.writeTextFile(path, jsonLines(rows));
    const { task, files } = await selectTask(`custom:${path}`, { dataDir: dir });
    assert.equal(task.label, "mine");
    const want = await referenceMetrics(task, rows);
    for (const batchSize of [1, 3, 16]) {
      const { metrics } = await evaluate(task, files, { batchSize });
      assert.deepEqual(Object.fromEntries(metrics.map((m) => [m.metric, m.value])), want);
    }
    const limited = await loadTaskRequests(task, files, {
      encode: charEncode,
      maxLength: WINDOW,
      limit: 2,
    });
    assert.equal(limited.numDocuments, 2);
    assert.equal(limited.requests.length, 5);
  }));

Deno.test("a context longer than the window is cut from the left; scores use what is left", () =>
  withTempDir(async (dir) => {
    const window = 24;
    const context = "This context is much longer than the window of the model:";
    const rows = [{ context, continuations: [" yes", " no"], label: 1 }];
    const path = join(dir, "long.jsonl");
    await Deno.writeTextFile(path, jsonLines(rows));
    const task = customTask("long");
    const data = await loadTaskRequests(task, [path], { encode: charEncode, maxLength: window });
    assert.equal(data.truncated, 1);
    const ctx = charEncode(context);
    for (const r of data.requests) {
      assert.equal(r.query.length, window);
      assert.equal(r.ctxLen, window - (r.continuation.length - 1));
      assert.deepEqual(r.query.slice(0, r.ctxLen), ctx.slice(ctx.length - r.ctxLen));
    }
    // The metric from the truncated contexts, computed independently.
    const ll = [];
    for (const cont of [" yes", " no"]) {
      const c = charEncode(cont);
      ll.push(
        await referenceLogLikelihood(model, ctx.slice(ctx.length - (window - c.length + 1)), c),
      );
    }
    const evaluator = new DownstreamEvaluator(task, data, {
      batchSize: 2,
      padTokenId: PAD,
      world: ONE_RANK,
    });
    const [acc, lenNorm] = await evaluator.evaluateMetrics(model);
    assert.equal(acc.value, ll.indexOf(Math.max(...ll)) === 1 ? 1 : 0);
    const norm = ll.map((v, i) => v / [3, 2][i]);
    assert.equal(lenNorm.value, norm.indexOf(Math.max(...norm)) === 1 ? 1 : 0);
  }));

Deno.test("documents that cannot be scored are skipped and counted; the rest are scored", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "skips.jsonl");
    await Deno.writeTextFile(
      path,
      jsonLines([
        { context: "ok", continuations: [" a", " b"], label: 0 },
        { context: "too long", continuations: [" " + "x".repeat(40), " b"], label: 0 },
        { context: "empty", continuations: ["", " b"], label: 1 },
        { context: "", continuations: [" a", " b"], label: 1 },
        { context: "fine", continuations: [" c", " d"], label: 1 },
      ]),
    );
    const { metrics, evaluator } = await evaluate(customTask("skips"), [path], { window: 16 });
    assert.deepEqual(evaluator.data.skipped.map((s) => [s.where, s.reason]), [
      [`${path}:2`, "continuation 0 has 41 tokens, more than the model's context window of 16"],
      [`${path}:3`, "continuation 0 encodes to no tokens"],
      [`${path}:4`, "the context encodes to no tokens"],
    ]);
    assert.deepEqual(metrics.map((m) => m.documents), [2, 2]);
  }));

Deno.test("bad inputs: unknown task, missing files, empty split, missing fields, bad files", () =>
  withTempDir(async (dir) => {
    await assert.rejects(
      () => selectTask("piqa2", { dataDir: dir }),
      /unknown downstream task 'piqa2'/,
    );
    const missing = await selectTask("arc_easy", { dataDir: dir }).catch((e) => e);
    assert.ok(missing instanceof MissingTaskDataError);
    assert.match(
      missing.message,
      new RegExp(`looked for ${join(dir, "ai2_arc", "ARC-Easy")}/validation\\*\\.parquet`),
    );
    assert.match(missing.message, /Hugging Face dataset allenai\/ai2_arc \(config ARC-Easy\)/);
    assert.match(
      (await selectTask("piqa", { dataDir: dir }).catch((e) => e)).message,
      /piqa\/none\/validation\*\.parquet.*ybisk\/piqa \(its default config\)/,
    );

    const empty = join(dir, "empty.jsonl");
    await Deno.writeTextFile(empty, "\n");
    const load = (task: TaskSpec, files: string[]) =>
      loadTaskRequests(task, files, { encode: charEncode, maxLength: WINDOW });
    await assert.rejects(
      () => load(TASKS.piqa, [empty]),
      new RegExp(`${empty}: the split holds no documents`),
    );

    const partial = join(dir, "partial.jsonl");
    await Deno.writeTextFile(
      partial,
      jsonLines([TASK_ROWS.piqa[0], { goal: "g", sol1: "a", label: 0 }]),
    );
    await assert.rejects(
      () => load(TASKS.piqa, [partial]),
      new RegExp(`${partial}:2: task 'piqa': missing field 'sol2' \\(a string\\)`),
    );
    const notJson = join(dir, "bad.jsonl");
    await Deno.writeTextFile(notJson, '{"context": "a"}\n{oops\n');
    await assert.rejects(
      () => load(customTask("bad"), [notJson]),
      new RegExp(`${notJson}:2: not JSON`),
    );
    const notParquet = join(dir, "bad.parquet");
    await Deno.writeTextFile(notParquet, "PAR1 not really");
    await assert.rejects(
      () => load(TASKS.piqa, [notParquet]),
      /bad\.parquet: not a readable parquet file/,
    );
    await assert.rejects(
      () => load(customTask("gone"), [join(dir, "gone.jsonl")]),
      /gone\.jsonl: no such file/,
    );
    // Explicit paths (an evaluator's data.paths): the task's own files, or a custom task.
    const given = await selectTask("piqa", { dataDir: dir, paths: [partial] });
    assert.deepEqual([given.task, given.files], [TASKS.piqa, [partial]]);
    const own = await selectTask("my-task", { dataDir: dir, paths: [empty] });
    assert.deepEqual([own.task.label, own.task.metricTypes, own.files], [
      "my-task",
      ["acc", "len_norm"],
      [empty],
    ]);
    await assert.rejects(() => selectTask("custom:", { dataDir: dir }), /custom:FILE\.jsonl/);
    // The data folder: the configured one, else the environment variable.
    assert.equal(taskDataDir("/x", () => "/y"), "/x");
    assert.equal(
      taskDataDir(null, (n) => n === "OLMO_HF_DATASETS_CACHE_DIR" ? "/y" : undefined),
      "/y",
    );
  }));

Deno.test("subset_num_batches stops early; a document cut short is scored as OLMo scores it", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "three.jsonl");
    const rows = [
      { context: "A", continuations: [" b", " c", " d"], label: 2 },
      { context: "E", continuations: [" f", " g", " h"], label: 0 },
    ];
    await Deno.writeTextFile(path, jsonLines(rows));
    const task = customTask("three");
    const data = await loadTaskRequests(task, [path], { encode: charEncode, maxLength: WINDOW });
    const evaluator = (subsetNumBatches: number) =>
      new DownstreamEvaluator(task, data, {
        batchSize: 2,
        subsetNumBatches,
        padTokenId: PAD,
        world: ONE_RANK,
      });
    assert.equal(evaluator(-1).numBatches, 3);
    assert.equal(evaluator(9).numBatches, 3);
    // One batch: continuations 0 and 1 of document 0. OLMo scores it over those two, so its
    // answer (continuation 2) cannot win.
    const [acc] = await evaluator(1).evaluateMetrics(model);
    assert.deepEqual([acc.documents, acc.value, acc.incomplete], [1, 0, 0]);
    // Two batches: document 0 whole, document 1 with continuation 0 only (its answer: right).
    const ll = [];
    for (const c of rows[0].continuations) {
      ll.push(await referenceLogLikelihood(model, charEncode("A"), charEncode(c)));
    }
    const [acc2] = await evaluator(2).evaluateMetrics(model);
    const first = ll.indexOf(Math.max(...ll)) === 2 ? 1 : 0;
    assert.deepEqual([acc2.documents, acc2.value], [2, (first + 1) / 2]);
  }));

/** `size` in-process ranks whose `allReduceSum` adds their buffers. */
function simulatedWorlds(size: number) {
  const pending: Float64Array[] = [];
  let release: () => void = () => {};
  let done = new Promise<void>((r) => (release = r));
  return Array.from({ length: size }, (_, rank) => ({
    rank,
    size,
    async allReduceSum(buf: Float32Array | Float64Array) {
      pending.push(buf as Float64Array);
      const wait = done;
      if (pending.length === size) {
        const sum = new Float64Array(buf.length);
        for (const b of pending) b.forEach((v, i) => (sum[i] += v));
        for (const b of pending) b.set(sum);
        pending.length = 0;
        release();
        done = new Promise<void>((r) => (release = r));
      }
      await wait;
    },
  }));
}

Deno.test("two and three ranks split the requests and give the numbers of one rank", () =>
  withTempDir(async (dir) => {
    await writeAllTaskFiles(dir, "jsonl");
    for (const label of ["hellaswag", "boolq", "mrpc"]) {
      const { task, files } = await selectTask(label, { dataDir: dir });
      const data = await loadTaskRequests(task, files, { encode: charEncode, maxLength: WINDOW });
      const one = await new DownstreamEvaluator(task, data, {
        batchSize: 2,
        padTokenId: PAD,
        world: ONE_RANK,
      })
        .evaluateMetrics(model);
      for (const size of [2, 3]) {
        const results = await Promise.all(
          simulatedWorlds(size).map((world) =>
            new DownstreamEvaluator(task, data, { batchSize: 2, padTokenId: PAD, world })
              .evaluateMetrics(model)
          ),
        );
        for (const r of results) assert.deepEqual(r, one, `${label} on ${size} ranks`);
      }
    }
  }));
