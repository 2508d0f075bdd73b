/**
 * `deno task train CONFIG.yaml [--key=value ...]`: trains an OLMo model (OLMo's
 * `scripts/train.py`). Any config field can be overridden (`--max_duration=100`,
 * `--save_overwrite`, `--backend=wasm`); `--help` lists them all.
 *
 * Without `run_name` in the config or on the command line, the run is named after the config
 * file (`configs/quickstart-brown.yaml` → `quickstart-brown`); OLMo requires it.
 * Ctrl-C once saves a checkpoint after the current step and stops; twice exits at once.
 *
 * Under `deno task launch --nproc-per-node=N` every rank runs this script (data parallel with
 * ZeRO sharding); only rank 0 prints progress. A rank that fails prints its error prefixed with
 * `[rank r/N]` and aborts the whole job (the others may be waiting in a collective), so the
 * launcher exits non-zero at once; a run that ends normally finalizes MPI on every rank. Under
 * mpiexec, Ctrl-C stops every rank at once (mpiexec kills the job; the last checkpoint stays
 * intact); ranks that receive SIGINT themselves (e.g. from `srun`) agree at the next
 * `canceled_check_interval` step to save a checkpoint and stop.
 *
 * @module
 */
import { basename, extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { runCommand } from "../lib/command/run.ts";
import { parseTrainArgs } from "../lib/command/train_args.ts";
import {
  ConfigError,
  configFieldsHelp,
  loadTrainConfig,
  type TrainConfig,
  trainUsage,
} from "../lib/config/mod.ts";
import { CheckpointDiskFullError } from "../lib/checkpoint/trainer/save_failure.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { TokenIdOutOfRangeError } from "../lib/data/validate_ids.ts";
import { type Communicator, initWorld, rankPrefix } from "../lib/distributed/world.ts";
import { MissingDataError, missingDataKey, missingDataMessage } from "../lib/train/missing_data.ts";
import { runTraining, type RunTrainingOptions } from "../lib/train/run.ts";

const TASK = "deno task train";

/** True when the config file or the overrides give `run_name`. */
async function hasRunName(configPath: string, overrides: string[]): Promise<boolean> {
  if (overrides.some((o) => /^-*run[_-]name=/.test(o))) return true;
  try {
    const raw = parseYaml(await Deno.readTextFile(configPath)) as Record<string, unknown> | null;
    return raw !== null && typeof raw === "object" && raw.run_name != null;
  } catch {
    return true; // let the loader report the unreadable file
  }
}

/** Loads the config; a data path that does not resolve becomes a `MissingDataError`. */
async function loadConfig(configPath: string, overrides: string[]): Promise<TrainConfig> {
  try {
    return await loadTrainConfig(configPath, { overrides });
  } catch (e) {
    const key = missingDataKey(e);
    if (key === null) throw e;
    const lax = await loadTrainConfig(configPath, { overrides, validatePaths: false });
    throw new MissingDataError(missingDataMessage((e as Error).message, {
      configPath,
      tokenizer: lax.tokenizer.identifier,
      key: key.replace(/\.(paths|datasets)\..*$/, ".$1"),
    }));
  }
}

/** What an entry script that wraps this command may add to the run (test entry scripts). */
export type TrainHooks = Pick<RunTrainingOptions, "afterBackward">;

/** The command on `argv` with `hooks`; returns the exit code. */
async function main(argv: string[], hooks: TrainHooks): Promise<number> {
  const args = parseTrainArgs(argv, TASK);
  if (args.help) {
    console.log(`${trainUsage(TASK)}\n\nConfig fields:\n${configFieldsHelp()}`);
    return 0;
  }
  registerCorpusResolvers();
  const overrides = [...args.overrides];
  const defaultName = (await hasRunName(args.configPath, overrides))
    ? null
    : basename(args.configPath, extname(args.configPath));
  if (defaultName !== null) overrides.push(`run_name=${defaultName}`);
  const cfg = await loadConfig(args.configPath, overrides);
  const world = await initWorld();
  if (defaultName !== null && world.rank === 0) {
    console.log(`run_name is not set; using '${defaultName}' (the config file's name)`);
  }
  const cancel = new AbortController();
  const onSigint = () => {
    if (cancel.signal.aborted) Deno.exit(130);
    if (world.rank === 0) {
      console.error(
        "\ninterrupted: saving a checkpoint after this step (Ctrl-C again to quit now)",
      );
    }
    cancel.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    await runTraining(cfg, {
      world,
      cancelSignal: cancel.signal,
      configPath: args.configPath,
      ...hooks,
    });
  } catch (e) {
    if (world.size > 1) {
      // Finalizing would wait for ranks blocked in a collective: abort the whole job instead.
      reportError(e, world);
      world.abort(1);
    }
    await world.finalize();
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  await world.finalize();
  return 0;
}

/** An error as printed: the message for expected errors, the stack otherwise. */
function describeError(e: Error): string {
  const expected = e instanceof ConfigError || e instanceof MissingDataError ||
    e instanceof TokenIdOutOfRangeError || e instanceof CheckpointDiskFullError ||
    (e instanceof Error && e.constructor === Error);
  return expected ? e.message : e?.stack ?? String(e);
}

/** Prints a failure of one rank of a multi-rank run, prefixed with the rank. */
function reportError(e: unknown, world: Pick<Communicator, "rank" | "size">): void {
  console.error(`${rankPrefix(world)} train: ${describeError(e as Error)}`);
}

/**
 * Runs `deno task train` on `argv` and exits with its code; `hooks` let a test entry script
 * (e.g. `tests/distributed/train_failing_rank.ts`) reach into the run.
 */
export function runTrainCommand(argv: string[], hooks: TrainHooks = {}): Promise<never> {
  return runCommand("train", () => main(argv, hooks), undefined, describeError);
}

if (import.meta.main) await runTrainCommand(Deno.args);
