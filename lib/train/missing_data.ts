/**
 * The error for training or evaluation data that is not there, with what to do about it: where
 * the config looks, how to make token files with `deno task prepare-data`, and how to point the
 * config at them. `deno task train configs/c4-tiny.yaml` on a machine without C4 ends here
 * instead of in a stack trace.
 *
 * @module
 */
import { InterpolationError, PathNotFoundError } from "../config/errors.ts";

/** Missing token files; the message says where they must be and how to prepare them. */
export class MissingDataError extends Error {
  /** @param message the full explanation (see `missingDataMessage`) */
  constructor(message: string) {
    super(message);
    this.name = "MissingDataError";
  }
}

const DATA_KEY = /^(?:data|evaluators\[\d+\]\.data)\./;

/**
 * The config key (`data.paths`, `evaluators[0].data.paths`, ...) when `error` is the config
 * loader failing to resolve a data path interpolation (a glob without matches, no existing
 * choice); null for any other error.
 */
export function missingDataKey(error: unknown): string | null {
  if (!(error instanceof InterpolationError) || !(error.cause instanceof PathNotFoundError)) {
    return null;
  }
  return DATA_KEY.test(error.keyPath) ? error.keyPath : null;
}

/** What the explanation mentions. */
export interface MissingDataContext {
  /** The config file, for the commands shown. */
  configPath: string;
  /** `tokenizer.identifier` of the config (the tokenizer the token files must come from). */
  tokenizer: string;
  /** The config key at fault (`data.paths`, `evaluators[1].data.datasets`, ...). */
  key: string;
}

/** The explanation for missing data (`detail` is the underlying error message). */
export function missingDataMessage(detail: string, ctx: MissingDataContext): string {
  const isEval = ctx.key.startsWith("evaluators");
  const what = isEval ? "evaluation data" : "training data";
  const lines = [
    `${ctx.configPath}: the ${what} (${ctx.key}) is missing.`,
    `  ${detail}`,
    "",
    "olmo-ts trains on token files (.npy, OLMo's memmap format); they must exist where the config",
    "points (the comments at the top of the config say where that is). To make them from text",
    '(.jsonl/.json.gz with a "text" field, or .txt):',
    `  deno task prepare-data YOUR_TEXT.jsonl.gz ... -o data/my-tokens --tokenizer ${ctx.tokenizer}`,
    "then either put them where the config looks, or pass the paths it prints:",
    `  deno task train ${ctx.configPath} --${ctx.key}=[data/my-tokens/0_00000.npy]`,
  ];
  if (isEval) {
    lines.push(`or train without evaluation: deno task train ${ctx.configPath} --evaluators=[]`);
  }
  lines.push(
    "",
    "To try training without any data preparation, use the built-in Brown corpus:",
    "  deno task train configs/quickstart-brown.yaml",
  );
  return lines.join("\n");
}
