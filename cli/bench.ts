/**
 * `deno task bench`: training, generation, data-loader and MPI benchmarks (issue 9).
 *
 *   deno task bench [--backend native,wasm] [--config bench-small] [--steps 5] [--json]
 *                   [--profile] [--no-generate] [--no-data] [--no-matmul] [--distributed]
 *                   [--model.n_layers=2 ...]
 *
 * Tables go to stdout at the end; with `--json` every record is one JSON line on stdout as soon
 * as it is measured. Progress goes to stderr.
 *
 * @module
 */
import { basename, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { type BackendName, isBackendName } from "../lib/backend/mod.ts";
import {
  commandHelp,
  type CommandSpec,
  type OptionSpec,
  parseCommandLine,
} from "../lib/command/args.ts";
import { runCommand, UsageError } from "../lib/command/run.ts";
import {
  BENCH_CONFIG_NAMES,
  type BenchConfigRef,
  type BenchRecord,
  formatReport,
  runBenchSuite,
  runDistributedWorker,
  spawnDistributedBench,
  toJsonLine,
} from "../lib/bench/mod.ts";
import { runInference } from "../lib/bench/inference_bench.ts";

const SPEC = {
  name: "deno task bench",
  usage: "[options] [--a.b=value ...]",
  description: "Any other --a.b=value is a config override for every bench config, e.g. " +
    "--model.n_layers=2.",
  options: {
    backend: {
      type: "string",
      default: "auto",
      placeholder: "LIST",
      describe: "comma-separated backends (auto, tensorflow, native, wasm, webgpu, cpu)",
    },
    config: {
      type: "string",
      default: BENCH_CONFIG_NAMES.join(","),
      placeholder: "LIST",
      describe: "comma-separated bench configs (names in configs/bench/ or YAML paths)",
    },
    steps: {
      type: "number",
      default: 5,
      describe: "timed training steps per config (the median is reported)",
    },
    warmup: { type: "number", default: 2, describe: "untimed warm-up steps" },
    json: { type: "boolean", default: false, describe: "print every result as one JSON line" },
    profile: {
      type: "boolean",
      default: false,
      describe: "profile one extra step per config and print the slowest kernels",
    },
    "no-generate": { type: "boolean", default: false, describe: "skip generation speed" },
    "no-data": { type: "boolean", default: false, describe: "skip the data loader" },
    "no-matmul": { type: "boolean", default: false, describe: "skip the matmul ceiling (no MFU)" },
    distributed: {
      type: "boolean",
      default: false,
      describe: "also run the 2-rank MPI benchmark (needs MPICH: apt install mpich)",
    },
    "distributed-worker": {
      type: "boolean",
      default: false,
      describe: "(internal) one rank of --distributed",
    },
    "inference-worker": {
      type: "string",
      placeholder: "DIR",
      describe: "(internal) the loading process of bench-1b: load DIR's model.pt and decode",
    },
    contexts: {
      type: "string",
      default: "64",
      placeholder: "LIST",
      describe: "(with --inference-worker) prompt lengths",
    },
    "new-tokens": {
      type: "number",
      default: 16,
      describe: "(with --inference-worker) tokens generated per prompt",
    },
  },
  overrides: true,
  maxPositionals: [0, "bench takes no positional arguments; overrides are --a.b=value"],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** Resolves a config name (`bench-small`) or a YAML path. */
function configRef(spec: string): BenchConfigRef {
  if (spec.endsWith(".yaml") || spec.endsWith(".yml") || spec.includes("/")) {
    return { name: basename(spec, extname(spec)), path: spec };
  }
  const path = fileURLToPath(new URL(`../configs/bench/${spec}.yaml`, import.meta.url));
  return { name: spec, path };
}

function list(value: string): string[] {
  return value.split(",").map((v) => v.trim()).filter(Boolean);
}

function integerAtLeast(value: number, flag: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} ${value}: expected an integer ≥ ${min}`);
  }
  return value;
}

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, SPEC);
  if (line.help) {
    console.log(commandHelp(SPEC));
    return 0;
  }
  const values = line.options;
  const worker = values["distributed-worker"];
  const overrides = line.overrides;
  const backends = list(values.backend);
  for (const b of backends) {
    if (!isBackendName(b)) throw new UsageError(`--backend ${b}: unknown backend`);
  }
  const configs = list(values.config).map(configRef);
  const steps = integerAtLeast(values.steps, "--steps", 1);
  const warmupSteps = integerAtLeast(values.warmup, "--warmup", 0);
  const records: BenchRecord[] = [];
  const emit = (r: BenchRecord) => {
    records.push(r);
    if (values.json || worker) console.log(toJsonLine(r));
  };
  const log = (message: string) => console.error(message);

  const inferenceDir = values["inference-worker"];
  if (inferenceDir !== undefined) {
    const result = await runInference({
      dir: inferenceDir,
      backend: backends[0] as BackendName,
      contexts: list(values.contexts).map((c) => integerAtLeast(Number(c), "--contexts", 1)),
      newTokens: integerAtLeast(values["new-tokens"], "--new-tokens", 2),
    });
    console.log(JSON.stringify(result));
    return 0;
  }
  if (worker) {
    const backend = backends[0] as BackendName;
    await runDistributedWorker({ config: configs[0], backend, steps, overrides }, emit);
    return 0;
  }
  await runBenchSuite({
    configs,
    backends: backends as BackendName[],
    steps,
    warmupSteps,
    matmul: !values["no-matmul"],
    generate: !values["no-generate"],
    data: !values["no-data"],
    profile: values.profile,
    overrides,
    log,
  }, emit);
  if (values.distributed) {
    for (const config of configs) {
      log(`${config.name}: 1-rank and 2-rank (MPI, ZeRO) training on ${backends[0]}`);
      const spawned = await spawnDistributedBench({
        config,
        backend: backends[0] as BackendName,
        steps,
        overrides,
      });
      for (const r of spawned) emit(r);
    }
  }
  if (!values.json) console.log(formatReport(records));
  return 0;
}

if (import.meta.main) {
  await runCommand(
    "bench",
    main,
    undefined,
    (error) => (Deno.env.get("OLMO_BENCH_DEBUG") ? error.stack ?? error.message : error.message),
  );
}
