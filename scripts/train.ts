/**
 * `deno task train CONFIG.yaml [--key=value ...]`: trains an OLMo model (OLMo's
 * `scripts/train.py`). Any config field can be overridden (`--max_duration=100`,
 * `--save_overwrite`, `--backend=wasm`); `--help` lists them all.
 *
 * Without `run_name` in the config or on the command line, the run is named after the config
 * file (`configs/quickstart-brown.yaml` → `quickstart-brown`); OLMo requires it.
 * Ctrl-C once saves a checkpoint after the current step and stops; twice exits at once.
 *
 * @module
 */
import { basename, extname } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  ConfigError,
  configFieldsHelp,
  loadTrainConfig,
  parseTrainArgs,
  type TrainConfig,
  trainUsage,
} from "../lib/config/mod.ts";
import { registerCorpusResolvers } from "../lib/data/corpus_resolvers.ts";
import { initWorld } from "../lib/distributed/world.ts";
import { MissingDataError, missingDataKey, missingDataMessage } from "../lib/train/missing_data.ts";
import { runTraining } from "../lib/train/run.ts";

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

async function main(argv: string[]): Promise<number> {
  const args = parseTrainArgs(argv, TASK);
  if (args.help) {
    console.log(`${trainUsage(TASK)}\n\nConfig fields:\n${configFieldsHelp()}`);
    return 0;
  }
  registerCorpusResolvers();
  const overrides = [...args.overrides];
  if (!(await hasRunName(args.configPath, overrides))) {
    const name = basename(args.configPath, extname(args.configPath));
    overrides.push(`run_name=${name}`);
    console.log(`run_name is not set; using '${name}' (the config file's name)`);
  }
  const cfg = await loadConfig(args.configPath, overrides);
  const world = await initWorld();
  const cancel = new AbortController();
  const onSigint = () => {
    if (cancel.signal.aborted) Deno.exit(130);
    console.error("\ninterrupted: saving a checkpoint after this step (Ctrl-C again to quit now)");
    cancel.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    await runTraining(cfg, { world, cancelSignal: cancel.signal, configPath: args.configPath });
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    await world.finalize();
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    const expected = e instanceof ConfigError || e instanceof MissingDataError ||
      (e instanceof Error && e.constructor === Error);
    console.error(`train: ${expected ? (e as Error).message : (e as Error)?.stack ?? e}`);
    Deno.exit(1);
  }
}
