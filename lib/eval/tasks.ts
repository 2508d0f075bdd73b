/**
 * OLMo's zero-shot multiple-choice tasks (`olmo/eval/downstream.py`, `label_to_task_map`, as of
 * late 2023): for each task label, where its data comes from (the Hugging Face dataset and
 * config OLMo loads, split `validation`), the fields a document must have, how a document becomes
 * prompts (context, continuations with their leading space, domain-conditional prompts for
 * `pmi_dc`) and its answer, and OLMo's metric type. Plus `custom`: JSON lines of
 * `{context, continuations, label}` used as they are.
 *
 * The prompt builders reproduce OLMo's strings character for character, including its quirks:
 * SciQ's `"\nAnswer:".strip()` makes the prompt end `"...QUESTIONAnswer:"`, and WinoGrande has
 * one context per option and a single continuation.
 *
 * @module
 */
import { pyCapitalize, pyDropLast, pyLowerFirst, pyStrip } from "./py_strings.ts";

/** The metrics of OLMo's `ICLMetric`. */
export type MetricType = "acc" | "len_norm" | "pmi_dc" | "f1";

/** A document of a task's split: one parquet row or JSON line. */
export type TaskRow = Record<string, unknown>;

/** One document as requests: continuation `i` is scored after `contexts[i]`. */
export interface McDocument {
  /** The context of each continuation (the same string repeated, except for WinoGrande). */
  contexts: string[];
  /** The continuations (OLMo's tasks give each a leading space). */
  continuations: string[];
  /** The domain-conditional prompt of each continuation (`pmi_dc`'s denominator). */
  domainConditionals: string[];
  /** Index of the right continuation. */
  label: number;
}

/** What a field must hold: a string, an integer, an integer or digit string, a boolean, ... */
export type FieldKind = "str" | "int" | "int_or_str" | "bool" | "str_list" | "choices";

/** A task: its data source, required fields, prompt format and metric. */
export interface TaskSpec {
  /** The task label (`piqa`, ...; a custom task's name). */
  label: string;
  /** OLMo's `dataset_path` (the local folder's first level). */
  datasetPath: string;
  /** OLMo's `dataset_name` (the config); null is the folder `none`. */
  datasetName: string | null;
  /** The Hugging Face Hub dataset repository the split comes from (null for custom tasks). */
  hubId: string | null;
  /** The metrics reported: OLMo's one `metric_type` (custom tasks: `acc` and `len_norm`). */
  metricTypes: MetricType[];
  /** Fields every document needs, with their kinds. */
  fields: Record<string, FieldKind>;
  /** Builds a document's requests from a validated row (throws for an unusable row). */
  build(row: TaskRow): McDocument;
}

/** Documents with one context shared by all continuations and one domain conditional. */
function shared(context: string, continuations: string[], dc: string, label: number): McDocument {
  return {
    contexts: continuations.map(() => context),
    continuations,
    domainConditionals: continuations.map(() => dc),
    label,
  };
}

const str = (row: TaskRow, key: string) => row[key] as string;
const int = (row: TaskRow, key: string): number => {
  const v = row[key];
  if (typeof v === "string") {
    if (!/^\s*[+-]?\d+\s*$/.test(v)) throw new Error(`field '${key}' is not an integer: "${v}"`);
    return Number(v); // Python int("3")
  }
  return Number(v);
};
const choicesText = (row: TaskRow, key: string) => (row[key] as { text: string[] }).text;

/** MRPC's and SST-2's detokenisation (`preprocess` of both classes). */
function glueDetokenize(s: string): string {
  return s.replaceAll(" n't", "n't")
    .replaceAll(" )", ")")
    .replaceAll("( ", "(")
    .replaceAll('" ', '"')
    .replaceAll(' "', '"')
    .replace(/ (['.,])/g, "$1");
}

/** HellaSwag's `preprocess` (the brackets are WikiHow artifacts). */
function hellaswagPreprocess(text: string): string {
  return pyStrip(text).replaceAll(" [title]", ". ").replace(/\[.*?\]/g, "").replaceAll("  ", " ");
}

/** ARC's answer key as an index: digits `1`–`5` stand for `A`–`E`. */
function arcLabel(row: TaskRow): number {
  const key = str(row, "answerKey");
  const letter = ({ "1": "A", "2": "B", "3": "C", "4": "D", "5": "E" } as Record<string, string>)[
    key
  ] ?? key;
  return ["A", "B", "C", "D", "E"].indexOf(letter);
}

function arc(label: string, name: string, metric: MetricType): TaskSpec {
  return {
    label,
    datasetPath: "ai2_arc",
    datasetName: name,
    hubId: "allenai/ai2_arc",
    metricTypes: [metric],
    fields: { question: "str", choices: "choices", answerKey: "str" },
    build: (row) =>
      shared(
        "Question: " + str(row, "question") + "\nAnswer:",
        choicesText(row, "choices").map((c) => " " + c),
        "Answer:",
        arcLabel(row),
      ),
  };
}

/** OLMo's 13 tasks by label (`label_to_task_map`). */
export const TASKS: Readonly<Record<string, TaskSpec>> = {
  piqa: {
    label: "piqa",
    datasetPath: "piqa",
    datasetName: null,
    hubId: "ybisk/piqa",
    metricTypes: ["len_norm"],
    fields: { goal: "str", sol1: "str", sol2: "str", label: "int" },
    build: (row) =>
      shared(
        "Question: " + str(row, "goal") + "\nAnswer:",
        [" " + str(row, "sol1"), " " + str(row, "sol2")],
        "Answer:",
        int(row, "label"),
      ),
  },
  hellaswag: {
    label: "hellaswag",
    datasetPath: "hellaswag",
    datasetName: null,
    hubId: "Rowan/hellaswag",
    metricTypes: ["len_norm"],
    fields: {
      activity_label: "str",
      ctx_a: "str",
      ctx_b: "str",
      endings: "str_list",
      label: "int_or_str",
    },
    build: (row) => {
      const ctxB = pyCapitalize(str(row, "ctx_b"));
      let dc = hellaswagPreprocess(ctxB);
      if (dc.length === 0) dc = hellaswagPreprocess(str(row, "ctx_a")).split(" ").at(-1)!;
      return shared(
        hellaswagPreprocess(str(row, "activity_label") + ": " + str(row, "ctx_a") + " " + ctxB),
        (row.endings as string[]).map((e) => " " + hellaswagPreprocess(e)),
        dc,
        int(row, "label"),
      );
    },
  },
  winogrande: {
    label: "winogrande",
    datasetPath: "winogrande",
    datasetName: "winogrande_xl",
    hubId: "allenai/winogrande",
    metricTypes: ["acc"],
    fields: { sentence: "str", option1: "str", option2: "str", answer: "int_or_str" },
    build: (row) => {
      const sentence = str(row, "sentence");
      const blank = sentence.indexOf("_");
      if (blank < 0) throw new Error(`field 'sentence' has no "_" to fill: "${sentence}"`);
      const options = [str(row, "option1"), str(row, "option2")];
      const continuation = " " + pyStrip(sentence.slice(blank + 1));
      return {
        contexts: options.map((o) => sentence.slice(0, blank) + o),
        continuations: options.map(() => continuation),
        domainConditionals: options,
        label: int(row, "answer") - 1,
      };
    },
  },
  openbook_qa: {
    label: "openbook_qa",
    datasetPath: "openbookqa",
    datasetName: null,
    hubId: "allenai/openbookqa",
    metricTypes: ["len_norm"],
    fields: { question_stem: "str", choices: "choices", answerKey: "str" },
    build: (row) =>
      shared(
        str(row, "question_stem"),
        choicesText(row, "choices").map((c) => " " + c),
        pyStrip(str(row, "question_stem")).split(" ").at(-1)!,
        ["A", "B", "C", "D"].indexOf(pyStrip(str(row, "answerKey"))),
      ),
  },
  boolq: {
    label: "boolq",
    datasetPath: "boolq",
    datasetName: null,
    hubId: "google/boolq",
    metricTypes: ["pmi_dc"],
    fields: { question: "str", passage: "str", answer: "bool" },
    build: (row) =>
      shared(
        str(row, "passage") + "\nQuestion: " + str(row, "question") + "?\nAnswer:",
        [" yes", " no"],
        "Answer:",
        row.answer ? 0 : 1,
      ),
  },
  sciq: {
    label: "sciq",
    datasetPath: "sciq",
    datasetName: null,
    hubId: "allenai/sciq",
    metricTypes: ["acc"],
    fields: {
      question: "str",
      distractor1: "str",
      distractor2: "str",
      distractor3: "str",
      correct_answer: "str",
      support: "str",
    },
    build: (row) =>
      shared(
        // OLMo strips "\nAnswer:" itself, so no newline comes before "Answer:".
        str(row, "support") + "\nQuestion: " + str(row, "question") + "Answer:",
        ["distractor1", "distractor2", "distractor3", "correct_answer"].map((k) =>
          " " + str(row, k)
        ),
        "Answer:",
        3,
      ),
  },
  arc_easy: arc("arc_easy", "ARC-Easy", "acc"),
  arc_challenge: arc("arc_challenge", "ARC-Challenge", "pmi_dc"),
  copa: {
    label: "copa",
    datasetPath: "super_glue",
    datasetName: "copa",
    hubId: "aps/super_glue",
    metricTypes: ["acc"],
    fields: { premise: "str", choice1: "str", choice2: "str", question: "str", label: "int" },
    build: (row) => {
      const connector = str(row, "question") === "cause" ? "because" : "therefore";
      return shared(
        pyDropLast(pyStrip(str(row, "premise"))) + " " + connector,
        [" " + pyLowerFirst(str(row, "choice1")), " " + pyLowerFirst(str(row, "choice2"))],
        connector,
        int(row, "label"),
      );
    },
  },
  rte: {
    label: "rte",
    datasetPath: "glue",
    datasetName: "rte",
    hubId: "nyu-mll/glue",
    metricTypes: ["len_norm"],
    fields: { sentence1: "str", sentence2: "str", label: "int" },
    build: (row) =>
      shared(
        str(row, "sentence1") + "\nQuestion: " + str(row, "sentence2") +
          " True or False?\nAnswer:",
        [" True", " False"],
        "Answer:",
        int(row, "label"),
      ),
  },
  commitment_bank: {
    label: "commitment_bank",
    datasetPath: "super_glue",
    datasetName: "cb",
    hubId: "aps/super_glue",
    metricTypes: ["acc"],
    fields: { premise: "str", hypothesis: "str", label: "int" },
    build: (row) =>
      shared(
        str(row, "premise") + "\nQuestion: " + str(row, "hypothesis") +
          ". True, False or Neither?\nAnswer:",
        [" True", " False", " Neither"],
        "Answer:",
        int(row, "label"),
      ),
  },
  mrpc: {
    label: "mrpc",
    datasetPath: "glue",
    datasetName: "mrpc",
    hubId: "nyu-mll/glue",
    metricTypes: ["f1"],
    fields: { sentence1: "str", sentence2: "str", label: "int" },
    build: (row) =>
      shared(
        "Sentence 1: " + glueDetokenize(str(row, "sentence1")) + "\nSentence 2: " +
          glueDetokenize(str(row, "sentence2")) +
          "\nQuestion: Do both sentences mean the same thing?\nAnswer:",
        [" yes", " no"],
        "Answer:",
        int(row, "label") ? 0 : 1,
      ),
  },
  sst2: {
    label: "sst2",
    datasetPath: "glue",
    datasetName: "sst2",
    hubId: "nyu-mll/glue",
    metricTypes: ["acc"],
    fields: { sentence: "str", label: "int" },
    build: (row) =>
      shared(
        glueDetokenize(str(row, "sentence")) +
          "\nQuestion: Is this sentence positive or negative?\nAnswer:",
        [" negative", " positive"],
        "Answer:",
        int(row, "label"),
      ),
  },
};

/** The labels of OLMo's tasks, in `label_to_task_map` order. */
export const TASK_LABELS: readonly string[] = Object.keys(TASKS);

/**
 * A custom task named `label`: each JSON line is `{context, continuations, label}`, used as it is
 * (give continuations their leading space, as OLMo's tasks do). The domain conditional is OLMo's
 * default `" "`; the metrics are `acc` and `len_norm`.
 */
export function customTask(label: string): TaskSpec {
  return {
    label,
    datasetPath: "",
    datasetName: null,
    hubId: null,
    metricTypes: ["acc", "len_norm"],
    fields: { context: "str", continuations: "str_list", label: "int" },
    build: (row) => {
      const continuations = row.continuations as string[];
      return shared(str(row, "context"), continuations, " ", int(row, "label"));
    },
  };
}

/** The task of an OLMo label; throws listing the known labels for any other. */
export function taskByLabel(label: string): TaskSpec {
  if (!Object.hasOwn(TASKS, label)) {
    throw new Error(
      `unknown downstream task '${label}': expected one of ${TASK_LABELS.join(", ")}, ` +
        "or a custom task (custom:FILE.jsonl on the command line; data.paths: [FILE.jsonl] " +
        "in an evaluator config)",
    );
  }
  return TASKS[label];
}
