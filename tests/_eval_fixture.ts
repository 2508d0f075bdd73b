/**
 * Small downstream task files for the evaluation tests: three documents per OLMo task (fields as
 * the Hugging Face datasets have them), written as the Hub's parquet (INT64 labels, nested
 * `choices` structs and `endings` lists) or as JSON lines in the task data folder layout; a
 * character-level encoder; and an independent log-likelihood from one full forward pass.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { parquetWriteBuffer } from "hyparquet-writer";
import type { Olmo } from "../lib/model/olmo.ts";
import { type FieldKind, type TaskRow, TASKS, type TaskSpec } from "../lib/eval/tasks.ts";

const choices = (text: string[]) => ({ text, label: text.map((_, i) => "ABCDE"[i]) });

/** Three documents of each OLMo task. */
export const TASK_ROWS: Record<string, TaskRow[]> = {
  piqa: [
    { goal: "Open a jar.", sol1: "Twist the lid.", sol2: "Push the lid down hard.", label: 0 },
    { goal: "Dry a shirt.", sol1: "Put it in water.", sol2: "Hang it in the sun.", label: 1 },
    { goal: "Cut bread.", sol1: "Use a knife.", sol2: "Use a spoon.", label: 0 },
  ],
  hellaswag: [
    {
      activity_label: "Cooking",
      ctx_a: "A man cracks eggs.",
      ctx_b: "he",
      endings: ["whisks them.", "eats the shells.", "sings [title] loudly.", "sleeps."],
      label: "0",
    },
    {
      activity_label: "Running",
      ctx_a: "A woman ties her shoes.",
      ctx_b: "",
      endings: ["she runs.", "she swims.", "she flies."],
      label: "0",
    },
    {
      activity_label: "Music",
      ctx_a: "[header] Play a drum.",
      ctx_b: "hit it",
      endings: ["with sticks.", "with soup."],
      label: "1",
    },
  ],
  winogrande: [
    {
      sentence: "Ann gave Bo a gift because _ was kind.",
      option1: "Ann",
      option2: "Bo",
      answer: "1",
    },
    {
      sentence: "The cup fell off the shelf because _ was tilted.",
      option1: "cup",
      option2: "shelf",
      answer: "2",
    },
    { sentence: "Sam beat Max since _ was faster.", option1: "Sam", option2: "Max", answer: "1" },
  ],
  openbook_qa: [
    {
      question_stem: "The sun is a",
      choices: choices(["star", "planet", "moon", "rock"]),
      answerKey: "A",
    },
    {
      question_stem: "Plants need",
      choices: choices(["salt", "light", "iron", "oil"]),
      answerKey: "B",
    },
    {
      question_stem: "Ice is frozen",
      choices: choices(["air", "fire", "water", "sand"]),
      answerKey: "C ",
    },
  ],
  boolq: [
    { question: "is the sky blue", passage: "The sky looks blue by day.", answer: true },
    { question: "do fish fly", passage: "Fish swim in water.", answer: false },
    { question: "is ice cold", passage: "Ice is frozen water.", answer: true },
  ],
  sciq: [
    {
      question: "What do plants make?",
      distractor1: "salt",
      distractor2: "iron",
      distractor3: "gold",
      correct_answer: "sugar",
      support: "Plants photosynthesize.",
    },
    {
      question: "What is H2O?",
      distractor1: "air",
      distractor2: "fire",
      distractor3: "earth",
      correct_answer: "water",
      support: "",
    },
    {
      question: "Which is a metal?",
      distractor1: "wood",
      distractor2: "glass",
      distractor3: "paper",
      correct_answer: "iron",
      support: "Metals conduct.",
    },
  ],
  arc_easy: [
    {
      question: "Which is hot?",
      choices: choices(["ice", "fire", "snow", "rain"]),
      answerKey: "B",
    },
    { question: "Which is alive?", choices: choices(["rock", "cat", "cup"]), answerKey: "2" },
    {
      question: "Which is wet?",
      choices: choices(["water", "sand", "dust", "ash"]),
      answerKey: "A",
    },
  ],
  arc_challenge: [
    {
      question: "Which is a gas?",
      choices: choices(["ice", "steam", "rock", "wood", "air"]),
      answerKey: "E",
    },
    { question: "What melts?", choices: choices(["ice", "stone", "glass", "air"]), answerKey: "1" },
    {
      question: "What orbits Earth?",
      choices: choices(["the Moon", "the Sun", "Mars"]),
      answerKey: "A",
    },
  ],
  copa: [
    {
      premise: "The man fell.",
      choice1: "He slipped.",
      choice2: "He sang.",
      question: "cause",
      label: 0,
    },
    {
      premise: "It rained.",
      choice1: "The ground got wet.",
      choice2: "The sun shone.",
      question: "effect",
      label: 0,
    },
    {
      premise: "I was hungry.",
      choice1: "I slept.",
      choice2: "I ate.",
      question: "effect",
      label: 1,
    },
  ],
  rte: [
    { sentence1: "A dog ran home.", sentence2: "A dog moved.", label: 0 },
    { sentence1: "The cat slept.", sentence2: "The cat ran a race.", label: 1 },
    { sentence1: "It is raining.", sentence2: "It is wet outside.", label: 0 },
  ],
  commitment_bank: [
    { premise: "She said it was late.", hypothesis: "it was late", label: 0 },
    { premise: "He denied the theft.", hypothesis: "he stole it", label: 1 },
    { premise: "Maybe it rained.", hypothesis: "it rained", label: 2 },
  ],
  mrpc: [
    { sentence1: "He did n't go .", sentence2: "He stayed home .", label: 1 },
    { sentence1: "The price rose ( again ) .", sentence2: "Cats are nice .", label: 0 },
    { sentence1: "She won .", sentence2: "She was the winner .", label: 1 },
  ],
  sst2: [
    { sentence: "a great , fun movie . ", label: 1 },
    { sentence: "it 's dull and slow . ", label: 0 },
    { sentence: "i loved it . ", label: 1 },
  ],
};

/** A character-level encoder over ids 1..90 (0 is free for padding). */
export function charEncode(text: string): number[] {
  return [...text].map((c) => 1 + (c.codePointAt(0)! % 90));
}

type SchemaElement = Record<string, unknown>;

function utf8(name: string): SchemaElement {
  return { name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" };
}

function stringList(name: string): SchemaElement[] {
  return [
    { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    utf8("element"),
  ];
}

/** Parquet schema elements of one field, as the Hub's files type it. */
function fieldSchema(name: string, kind: FieldKind, sample: unknown): SchemaElement[] {
  switch (kind) {
    case "int":
      return [{ name, type: "INT64", repetition_type: "OPTIONAL" }];
    case "int_or_str":
      return typeof sample === "string"
        ? [utf8(name)]
        : [{ name, type: "INT64", repetition_type: "OPTIONAL" }];
    case "bool":
      return [{ name, type: "BOOLEAN", repetition_type: "OPTIONAL" }];
    case "str":
      return [utf8(name)];
    case "str_list":
      return stringList(name);
    case "choices":
      return [
        { name, repetition_type: "OPTIONAL", num_children: 2 },
        ...stringList("text"),
        ...stringList("label"),
      ];
  }
}

/** `rows` of `task` as a parquet file (integers as INT64, like the Hub's files). */
export function taskParquet(task: TaskSpec, rows: TaskRow[]): ArrayBuffer {
  const fields = Object.entries(task.fields);
  const schema = [
    { name: "root", num_children: fields.length },
    ...fields.flatMap(([name, kind]) => fieldSchema(name, kind, rows[0][name])),
  ];
  const columnData = fields.map(([name]) => ({
    name,
    data: rows.map((r) => typeof r[name] === "number" ? BigInt(r[name] as number) : r[name]),
  }));
  // deno-lint-ignore no-explicit-any
  return parquetWriteBuffer({ columnData, schema } as any);
}

/** JSON lines of `rows`. */
export function jsonLines(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r) + "\n").join("");
}

/**
 * Writes every task's `TASK_ROWS` under `dataDir` in the task data folder layout: the Hub's
 * parquet file name, or `validation.jsonl`.
 */
export async function writeAllTaskFiles(
  dataDir: string,
  format: "parquet" | "jsonl",
): Promise<void> {
  for (const [label, rows] of Object.entries(TASK_ROWS)) {
    const task = TASKS[label];
    const folder = join(dataDir, task.datasetPath, task.datasetName ?? "none");
    await Deno.mkdir(folder, { recursive: true });
    if (format === "parquet") {
      const bytes = new Uint8Array(taskParquet(task, rows));
      await Deno.writeFile(join(folder, "validation-00000-of-00001.parquet"), bytes);
    } else {
      await Deno.writeTextFile(join(folder, "validation.jsonl"), jsonLines(rows));
    }
  }
}

/**
 * Σ log p(cont | prefix) from one full, unpadded forward pass over `prefix + cont[:-1]` and a
 * plain float64 log-softmax over every output column (remembered per model and input).
 */
export async function referenceLogLikelihood(
  model: Olmo,
  prefix: readonly number[],
  cont: readonly number[],
): Promise<number> {
  const key = `${prefix.join(",")}|${cont.join(",")}`;
  let models = REFERENCE_CACHE.get(model);
  if (models === undefined) REFERENCE_CACHE.set(model, models = new Map());
  const cached = models.get(key);
  if (cached !== undefined) return cached;
  const ids = [...prefix, ...cont.slice(0, -1)];
  const logitsT = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], "int32")).logits);
  const logits = (await logitsT.array())[0];
  logitsT.dispose();
  let total = 0;
  cont.forEach((token, j) => {
    const row = logits[prefix.length - 1 + j];
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    total += row[token] - lse;
  });
  models.set(key, total);
  return total;
}

/** Reference values already computed, per model (the tests ask for many twice). */
const REFERENCE_CACHE = new WeakMap<Olmo, Map<string, number>>();
