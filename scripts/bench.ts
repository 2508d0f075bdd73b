/**
 * `deno task bench`: training, generation, data-loader and MPI benchmarks (issue 9).
 *
 *   deno task bench [--backend native,wasm] [--config bench-small] [--steps 5] [--json]
 *                   [--profile] [--no-generate] [--no-data] [--no-matmul] [--distributed]
 *
 * Tables go to stdout at the end; with `--json` every record is one JSON line on stdout as soon
 * as it is measured. Progress goes to stderr.
 *
 * @module
 */
import { basename, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BackendName, isBackendName } from "../lib/backend/mod.ts";
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

const USAGE = `Usage: deno task bench [options]

Options:
  --backend LIST    comma-separated backends (auto, tensorflow, native, wasm, webgpu, cpu);
                    default auto (native when OpenBLAS loads, else wasm)
  --config LIST     comma-separated bench configs (names in configs/bench/ or YAML paths);
                    default ${BENCH_CONFIG_NAMES.join(",")}
  --steps N         timed training steps per config (default 5; the median is reported)
  --warmup N        untimed warm-up steps (default 2)
  --json            print every result as one JSON line
  --profile         profile one extra step per config and print the slowest kernels
  --no-generate     skip generation speed
  --no-data         skip the data loader
  --no-matmul       skip the matmul ceiling (no MFU then)
  --distributed     also run the 2-rank MPI benchmark (needs MPICH: apt install mpich)
  --override K=V    config override for every config (repeatable), e.g. model.n_layers=2
  -h, --help        this text
`;

/** Resolves a config name (`bench-small`) or a YAML path. */
function configRef(spec: string): BenchConfigRef {
  if (spec.endsWith(".yaml") || spec.endsWith(".yml") || spec.includes("/")) {
    return { name: basename(spec, extname(spec)), path: spec };
  }
  const path = fileURLToPath(new URL(`../configs/bench/${spec}.yaml`, import.meta.url));
  return { name: spec, path };
}

function list(values: string[] | undefined, fallback: readonly string[]): string[] {
  const items = (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  return items.length ? items : [...fallback];
}

function positiveInt(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${flag} ${value}: expected an integer ≥ ${min}`);
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: "string", multiple: true },
      config: { type: "string", multiple: true },
      steps: { type: "string" },
      warmup: { type: "string" },
      json: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "no-generate": { type: "boolean", default: false },
      "no-data": { type: "boolean", default: false },
      "no-matmul": { type: "boolean", default: false },
      distributed: { type: "boolean", default: false },
      "distributed-worker": { type: "boolean", default: false },
      override: { type: "string", multiple: true },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const backends = list(values.backend, ["auto"]);
  for (const b of backends) {
    if (!isBackendName(b)) throw new Error(`--backend ${b}: unknown backend`);
  }
  const configs = list(values.config, BENCH_CONFIG_NAMES).map(configRef);
  const steps = positiveInt(values.steps, "--steps", 5);
  const warmupSteps = positiveInt(values.warmup, "--warmup", 2, 0);
  const records: BenchRecord[] = [];
  const emit = (r: BenchRecord) => {
    records.push(r);
    if (values.json || values["distributed-worker"]) console.log(toJsonLine(r));
  };
  const log = (message: string) => console.error(message);

  if (values["distributed-worker"]) {
    const backend = backends[0] as BackendName;
    const overrides = values.override ?? [];
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
    overrides: values.override ?? [],
    log,
  }, emit);
  if (values.distributed) {
    for (const config of configs) {
      log(`${config.name}: 1-rank and 2-rank (MPI, ZeRO) training on ${backends[0]}`);
      const spawned = await spawnDistributedBench({
        config,
        backend: backends[0] as BackendName,
        steps,
        overrides: values.override ?? [],
      });
      for (const r of spawned) emit(r);
    }
  }
  if (!values.json) console.log(formatReport(records));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    const error = e as Error;
    console.error(`bench: ${Deno.env.get("OLMO_BENCH_DEBUG") ? error.stack : error.message}`);
    Deno.exit(2);
  }
}
