/**
 * A task's document from a raw row: the row's fields are checked against the task's
 * (`TaskSpec.fields`), then its prompts are built and its answer is checked to index one of its
 * continuations. A row that fails is an error naming the field, never a silent skip.
 *
 * @module
 */
import type { FieldKind, McDocument, TaskRow, TaskSpec } from "./tasks.ts";

function describeKind(kind: FieldKind): string {
  return {
    str: "a string",
    int: "an integer",
    int_or_str: "an integer or a string of digits",
    bool: "a boolean",
    str_list: "a list of strings",
    choices: "{text: [strings], label: [strings]}",
  }[kind];
}

function hasKind(value: unknown, kind: FieldKind): boolean {
  const isStrList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  switch (kind) {
    case "str":
      return typeof value === "string";
    case "int":
      return typeof value === "number" && Number.isInteger(value);
    case "int_or_str":
      return (typeof value === "number" && Number.isInteger(value)) ||
        (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value));
    case "bool":
      return typeof value === "boolean";
    case "str_list":
      return isStrList(value);
    case "choices":
      return typeof value === "object" && value !== null &&
        isStrList((value as { text?: unknown }).text);
  }
}

/**
 * Builds a row's document: checks the task's fields (kinds) and that the label indexes a
 * continuation. Throws an `Error` naming the first bad field or the label.
 */
export function buildDocument(task: TaskSpec, row: TaskRow): McDocument {
  for (const [key, kind] of Object.entries(task.fields)) {
    if (!(key in row)) throw new Error(`missing field '${key}' (${describeKind(kind)})`);
    if (!hasKind(row[key], kind)) {
      throw new Error(
        `field '${key}' must be ${describeKind(kind)}, got ${JSON.stringify(row[key])}`,
      );
    }
  }
  const doc = task.build(row);
  if (!(Number.isInteger(doc.label) && doc.label >= 0 && doc.label < doc.continuations.length)) {
    throw new Error(
      `the answer (index ${doc.label}) is not one of the ${doc.continuations.length} ` +
        "continuations",
    );
  }
  return doc;
}
