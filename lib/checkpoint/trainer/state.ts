/**
 * The trainer state saved with every checkpoint (`train.json` unsharded, `rank{r}.json`
 * sharded): OLMo's `olmo/train.py` `Trainer.trainer_state_dict()` as JSON.
 *
 * @module
 */

/** Trainer state (OLMo's field names). Extra JSON fields are kept as they are. */
export interface TrainerState {
  /** Optimizer steps taken (1-based while training: the step just finished). */
  global_step: number;
  /** Batches consumed from the data loader. */
  global_data_step: number;
  /** Training instances seen, over all ranks (the data loader's start index on restart). */
  global_train_examples_seen: number;
  /** Training tokens seen, over all ranks. */
  global_train_tokens_seen: number;
  /** Number of processes of the run that wrote the state. */
  world_size: number;
  /** Sharded checkpoint folders of this run, oldest first (kept for pruning). */
  checkpoints: string[];
  /** Unsharded checkpoint folders of this run, oldest first. */
  unsharded_checkpoints: string[];
  /** Data-loader position beyond the counters above (the data module's JSON), if any. */
  data_position?: unknown;
  /** RNG state of the process that wrote it (the trainer's JSON), if any. */
  rng?: unknown;
  /** Other fields, kept as they are. */
  [extra: string]: unknown;
}

const COUNTERS = [
  "global_step",
  "global_data_step",
  "global_train_examples_seen",
  "global_train_tokens_seen",
] as const;

/**
 * Validates parsed JSON as a `TrainerState`. `source` names the file in errors.
 * @throws Error naming the file and key for a missing or malformed field.
 */
export function parseTrainerState(json: unknown, source: string): TrainerState {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${source}: trainer state must be a JSON object`);
  }
  const s = json as Record<string, unknown>;
  for (const key of [...COUNTERS, "world_size"]) {
    const v = s[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < (key === "world_size" ? 1 : 0)) {
      throw new Error(
        `${source}: "${key}" must be a ${key === "world_size" ? "positive" : "non-negative"} ` +
          `integer, got ${JSON.stringify(v)}`,
      );
    }
  }
  for (const key of ["checkpoints", "unsharded_checkpoints"]) {
    const v = s[key];
    if (!Array.isArray(v) || !v.every((p) => typeof p === "string")) {
      throw new Error(`${source}: "${key}" must be a list of paths, got ${JSON.stringify(v)}`);
    }
  }
  return s as TrainerState;
}

/** Reads and validates a trainer-state JSON file. */
export async function readTrainerState(path: string): Promise<TrainerState> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read trainer state ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseTrainerState(json, path);
}
