/**
 * Which task a name means and where its files are: an OLMo task label (`piqa`) is looked up in
 * the task data folder, `custom:FILE.jsonl` is a custom task named after the file, and explicit
 * `paths` (an evaluator's `data.paths`) replace the folder lookup — for an OLMo label they hold
 * that task's split, for any other label they make a custom task of that name.
 *
 * @module
 */
import { basename } from "node:path";
import { findTaskFiles } from "./task_files.ts";
import { customTask, taskByLabel, TASKS, type TaskSpec } from "./tasks.ts";

/** A task and its data files. */
export interface TaskSelection {
  /** The task. */
  task: TaskSpec;
  /** Its files, read in order. */
  files: string[];
}

/** The prefix of a custom task on the command line. */
export const CUSTOM_PREFIX = "custom:";

/** A custom task's name from its file: the file name without `.jsonl`. */
export function customTaskName(path: string): string {
  return basename(path).replace(/\.jsonl$/, "");
}

/**
 * Resolves `name` to a task and its files (see the module doc).
 * @throws Error for an unknown label without paths, an empty `custom:` path, or (a
 * `MissingTaskDataError`) an OLMo task without files in `dataDir`.
 */
export async function selectTask(
  name: string,
  opts: { dataDir: string; paths?: readonly string[] | null },
): Promise<TaskSelection> {
  if (name.startsWith(CUSTOM_PREFIX)) {
    const path = name.slice(CUSTOM_PREFIX.length);
    if (path === "") {
      throw new Error(`'${name}': give the task's JSON-lines file: custom:FILE.jsonl`);
    }
    return { task: customTask(customTaskName(path)), files: [path] };
  }
  if (opts.paths && opts.paths.length > 0) {
    const task = Object.hasOwn(TASKS, name) ? TASKS[name] : customTask(name);
    return { task, files: [...opts.paths] };
  }
  const task = taskByLabel(name);
  return { task, files: await findTaskFiles(opts.dataDir, task) };
}
