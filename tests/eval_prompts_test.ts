/**
 * The prompts of OLMo's 13 downstream tasks and `custom`, character for character against
 * expectations written by hand from `olmo/eval/downstream.py` (late 2023), including its quirks
 * (SciQ's missing newline before "Answer:", HellaSwag's bracket and double-space clean-up,
 * WinoGrande's one context per option, MRPC/SST-2 detokenisation); the Python string semantics
 * they rely on; and documents that lack a field or whose answer is no continuation.
 *
 * @module
 */
import assert from "node:assert/strict";
import { pyCapitalize, pyDropLast, pyLen, pyLowerFirst, pyStrip } from "../lib/eval/py_strings.ts";
import { buildDocument } from "../lib/eval/documents.ts";
import {
  customTask,
  type McDocument,
  TASK_LABELS,
  taskByLabel,
  type TaskRow,
} from "../lib/eval/tasks.ts";

/** A document whose continuations all share one context and one domain conditional. */
function sharedDoc(context: string, continuations: string[], dc: string, label: number) {
  return {
    contexts: continuations.map(() => context),
    continuations,
    domainConditionals: continuations.map(() => dc),
    label,
  };
}

const CASES: [string, TaskRow, McDocument, string][] = [
  [
    "piqa",
    {
      goal: "How do I ready a guinea pig cage?",
      sol1: "Provide bedding.",
      sol2: "Jeans.",
      label: 0,
    },
    sharedDoc(
      "Question: How do I ready a guinea pig cage?\nAnswer:",
      [" Provide bedding.", " Jeans."],
      "Answer:",
      0,
    ),
    "len_norm",
  ],
  [
    "hellaswag",
    {
      activity_label: "Roof shingle removal",
      ctx_a: "A man is sitting on a roof.",
      ctx_b: "he",
      endings: ["is using wrap.", "is ripping level tiles off.", "is holding a cube.", "starts."],
      label: "3",
    },
    sharedDoc(
      "Roof shingle removal: A man is sitting on a roof. He",
      [" is using wrap.", " is ripping level tiles off.", " is holding a cube.", " starts."],
      "He",
      3,
    ),
    "len_norm",
  ],
  [
    "hellaswag",
    {
      activity_label: "Home and Garden",
      ctx_a: "[header] How to clean a pool. [title] Skim the surface.",
      ctx_b: "USE a net [step] daily",
      endings: ["  Then  [substeps] rinse. "],
      label: 0,
    },
    sharedDoc(
      "Home and Garden: How to clean a pool.. Skim the surface. Use a net daily",
      [" Then  rinse."],
      "Use a net daily",
      0,
    ),
    "len_norm",
  ],
  [
    "hellaswag",
    {
      activity_label: "Music",
      ctx_a: "A woman plays the violin.",
      ctx_b: "",
      endings: ["She bows.", "She sits."],
      label: "1",
    },
    sharedDoc("Music: A woman plays the violin.", [" She bows.", " She sits."], "violin.", 1),
    "len_norm",
  ],
  [
    "winogrande",
    {
      sentence: "People think _ is embarassed, because Samantha made snide comments.",
      option1: "Samantha",
      option2: "Rebecca",
      answer: "2",
    },
    {
      contexts: ["People think Samantha", "People think Rebecca"],
      continuations: [
        " is embarassed, because Samantha made snide comments.",
        " is embarassed, because Samantha made snide comments.",
      ],
      domainConditionals: ["Samantha", "Rebecca"],
      label: 1,
    },
    "acc",
  ],
  [
    "openbook_qa",
    {
      question_stem: "Frilled sharks live deep, which is why they are known as",
      choices: { text: ["Deep sea animals", "fish"], label: ["A", "B"] },
      answerKey: "A",
    },
    sharedDoc(
      "Frilled sharks live deep, which is why they are known as",
      [" Deep sea animals", " fish"],
      "as",
      0,
    ),
    "len_norm",
  ],
  [
    "boolq",
    {
      question: "is ncis new orleans over for the season",
      passage: "NCIS: New Orleans (season 4) -- The fourth season.",
      answer: true,
    },
    sharedDoc(
      "NCIS: New Orleans (season 4) -- The fourth season.\n" +
        "Question: is ncis new orleans over for the season?\nAnswer:",
      [" yes", " no"],
      "Answer:",
      0,
    ),
    "pmi_dc",
  ],
  [
    "sciq",
    {
      question: "Who proposed the theory of evolution by natural selection?",
      distractor1: "Linnaeus",
      distractor2: "shaw",
      distractor3: "Scopes",
      correct_answer: "darwin",
      support: "",
    },
    sharedDoc(
      "\nQuestion: Who proposed the theory of evolution by natural selection?Answer:",
      [" Linnaeus", " shaw", " Scopes", " darwin"],
      "Answer:",
      3,
    ),
    "acc",
  ],
  [
    "arc_easy",
    {
      question: "Which technology was developed most recently?",
      choices: {
        text: ["cellular telephone", "television", "refrigerator", "airplane"],
        label: ["A", "B", "C", "D"],
      },
      answerKey: "3",
    },
    sharedDoc(
      "Question: Which technology was developed most recently?\nAnswer:",
      [" cellular telephone", " television", " refrigerator", " airplane"],
      "Answer:",
      2,
    ),
    "acc",
  ],
  [
    "arc_challenge",
    {
      question: "Which is a gas?",
      choices: { text: ["ice", "steam", "rock", "wood", "air"], label: ["A", "B", "C", "D", "E"] },
      answerKey: "E",
    },
    sharedDoc(
      "Question: Which is a gas?\nAnswer:",
      [" ice", " steam", " rock", " wood", " air"],
      "Answer:",
      4,
    ),
    "pmi_dc",
  ],
  [
    "copa",
    {
      premise: " The pair of students came under scrutiny by the teacher. ",
      choice1: "The students both received excellent grades.",
      choice2: "Their responses on the assignment were identical.",
      question: "cause",
      label: 1,
    },
    sharedDoc(
      "The pair of students came under scrutiny by the teacher because",
      [
        " the students both received excellent grades.",
        " their responses on the assignment were identical.",
      ],
      "because",
      1,
    ),
    "acc",
  ],
  [
    "copa",
    {
      premise: "The man fell.",
      choice1: "He cried.",
      choice2: "Éclairs fell.",
      question: "effect",
      label: 0,
    },
    sharedDoc("The man fell therefore", [" he cried.", " éclairs fell."], "therefore", 0),
    "acc",
  ],
  [
    "rte",
    {
      sentence1: "The number of Danes opposed has increased.",
      sentence2: "The introduction of the euro has been opposed.",
      label: 0,
    },
    sharedDoc(
      "The number of Danes opposed has increased.\n" +
        "Question: The introduction of the euro has been opposed. True or False?\nAnswer:",
      [" True", " False"],
      "Answer:",
      0,
    ),
    "len_norm",
  ],
  [
    "commitment_bank",
    {
      premise: "It may be said that the siege had a bad effect.",
      hypothesis: "the siege had a bad effect",
      label: 2,
    },
    sharedDoc(
      "It may be said that the siege had a bad effect.\n" +
        "Question: the siege had a bad effect. True, False or Neither?\nAnswer:",
      [" True", " False", " Neither"],
      "Answer:",
      2,
    ),
    "acc",
  ],
  [
    "mrpc",
    {
      sentence1:
        'In fiction : Edward P. Jones ( " The Known World " ) and Scott Spencer ( " A Ship Made of Paper " ) .',
      sentence2: "He did n't say , he 's sure .",
      label: 1,
    },
    sharedDoc(
      'Sentence 1: In fiction : Edward P. Jones ("The Known World") and Scott Spencer ' +
        "(\"A Ship Made of Paper\").\nSentence 2: He didn't say, he's sure.\n" +
        "Question: Do both sentences mean the same thing?\nAnswer:",
      [" yes", " no"],
      "Answer:",
      0,
    ),
    "f1",
  ],
  [
    "sst2",
    {
      sentence:
        "harrison 's flowers puts its heart in the right place , but its brains are in no particular place at all . ",
      label: 1,
    },
    sharedDoc(
      "harrison's flowers puts its heart in the right place, but its brains are in no " +
        "particular place at all. \nQuestion: Is this sentence positive or negative?\nAnswer:",
      [" negative", " positive"],
      "Answer:",
      1,
    ),
    "acc",
  ],
];

Deno.test("each task's prompts, continuations, domain conditionals and answer are OLMo's", () => {
  for (const [label, row, expected, metric] of CASES) {
    const task = taskByLabel(label);
    assert.deepEqual(buildDocument(task, row), expected, label);
    assert.deepEqual(task.metricTypes, [metric], label);
  }
  // Every OLMo task label is covered above.
  assert.deepEqual([...new Set(CASES.map(([l]) => l))].sort(), [...TASK_LABELS].sort());
  assert.equal(TASK_LABELS.length, 13);
});

Deno.test("custom tasks use their fields as they are, with OLMo's default domain conditional", () => {
  const task = customTask("arith");
  assert.deepEqual(
    buildDocument(task, { context: "2+2=", continuations: [" 4", " 5"], label: 0 }),
    sharedDoc("2+2=", [" 4", " 5"], " ", 0),
  );
  assert.deepEqual(task.metricTypes, ["acc", "len_norm"]);
  assert.throws(
    () => buildDocument(task, { context: "x", continuations: [" a"], label: "0" }),
    /field 'label' must be an integer, got "0"/,
  );
});

Deno.test("documents without the task's fields or with an impossible answer are errors", () => {
  const piqa = taskByLabel("piqa");
  assert.throws(
    () => buildDocument(piqa, { goal: "g", sol1: "a", label: 0 }),
    /missing field 'sol2' \(a string\)/,
  );
  assert.throws(
    () => buildDocument(piqa, { goal: "g", sol1: "a", sol2: 3, label: 0 }),
    /field 'sol2' must be a string, got 3/,
  );
  assert.throws(
    () => buildDocument(piqa, { goal: "g", sol1: "a", sol2: "b", label: 2 }),
    /the answer \(index 2\) is not one of the 2 continuations/,
  );
  assert.throws(
    () =>
      buildDocument(taskByLabel("winogrande"), {
        sentence: "no blank",
        option1: "a",
        option2: "b",
        answer: "1",
      }),
    /field 'sentence' has no "_" to fill/,
  );
  assert.throws(
    () =>
      buildDocument(taskByLabel("arc_easy"), {
        question: "q",
        choices: { text: ["a"], label: ["A"] },
        answerKey: "F",
      }),
    /the answer \(index -1\)/,
  );
  assert.throws(
    () =>
      buildDocument(taskByLabel("hellaswag"), {
        activity_label: "a",
        ctx_a: "b",
        ctx_b: "c",
        endings: ["d"],
        label: "",
      }),
    /field 'label' must be an integer or a string of digits, got ""/,
  );
  assert.throws(
    () => taskByLabel("piqa2"),
    /unknown downstream task 'piqa2': expected one of piqa, /,
  );
  assert.throws(() => taskByLabel("toString"), /unknown downstream task 'toString'/);
});

Deno.test("Python string semantics: strip, capitalize, s[0].lower(), s[:-1], len", () => {
  assert.equal(pyStrip("\x1c\t x y \u3000\n"), "x y"); // Python strips U+001C, JS trim does not
  assert.equal(pyStrip("\ufeffx "), "\ufeffx"); // JS trim strips U+FEFF, Python does not
  assert.equal(pyCapitalize("hELLO wORLD"), "Hello world");
  assert.equal(pyCapitalize(""), "");
  assert.equal(pyLowerFirst("ÉCLAIR"), "éCLAIR");
  assert.equal(pyDropLast("café😀"), "café");
  assert.equal(pyLen("😀a"), 2);
  assert.throws(() => pyLowerFirst(""), /string index out of range/);
});
