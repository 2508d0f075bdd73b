/**
 * Inference-only benchmark of a large config (`bench-1b`): write an OLMo `model.pt` of that
 * shape with the project's `torch.save` writer, then, in a fresh process (so its peak RSS is the
 * loader's and the decoder's alone), `Olmo.fromCheckpoint` it and decode greedily with the KV
 * cache. Reports load seconds, peak RSS, and prefill/decode tokens per second.
 *
 * The writer reads every parameter with `await v.data()`, which on the host-memory backends
 * (`native`, `cpu`) hands over the tensor's own buffer, so writing needs no second copy.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { type BackendName, initBackend } from "../backend/mod.ts";
import { writeTorchStateDict } from "../checkpoint/formats/torch_pt.ts";
import type { ModelConfig } from "../config/model_config.ts";
import { Olmo as OlmoCheckpoint } from "../facade/olmo.ts";
import { Olmo } from "../model/olmo.ts";
import { benchGenerate, type BenchGenerateResult } from "./generate_bench.ts";
import type { NamedHostTensors } from "../util/host_tensor.ts";

/** `cli/bench.ts` runs the loading side of the benchmark when given this flag. */
export const INFERENCE_WORKER_FLAG = "--inference-worker";

/** Configs benchmarked for inference only (no training step). */
export const INFERENCE_BENCH_CONFIGS: ReadonlySet<string> = new Set(["bench-1b"]);

/** What the loading process measured. */
export interface InferenceBenchResult {
  /** Bytes of the `model.pt` read. */
  checkpointBytes: number;
  /** Seconds of `Olmo.fromCheckpoint` (reading, checking and building the model). */
  loadSeconds: number;
  /** Peak resident set size of the loading process (`VmHWM`), or null off Linux. */
  peakRssBytes: number | null;
  /** Resident set size after loading. */
  loadedRssBytes: number;
  /** Greedy decoding after random prompts, per context length. */
  generation: (BenchGenerateResult & { prefillTokensPerSecond: number })[];
}

/** Peak resident set size of this process from `/proc/self/status`, or null. */
export function peakResidentBytes(): number | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return kib ? Number(kib[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Writes `dir/config.yaml` (the `model` section) and `dir/model.pt` of a model of `config`
 * initialised with `seed` on `backend`; frees the model afterwards. Returns the file's bytes.
 */
export async function writeBenchCheckpoint(
  dir: string,
  config: ModelConfig,
  backend: BackendName,
  seed: number,
): Promise<number> {
  await initBackend(backend, { quiet: true });
  await Deno.writeTextFile(join(dir, "config.yaml"), stringify({ model: config }));
  const model = new Olmo(config, { seed });
  try {
    const state: NamedHostTensors = new Map();
    for (const [name, v] of model.params) {
      state.set(name, { dtype: "float32", shape: [...v.shape], data: await v.data() });
    }
    const path = join(dir, "model.pt");
    await writeTorchStateDict(path, state);
    return (await Deno.stat(path)).size;
  } finally {
    model.dispose();
  }
}

/** Options of the loading side. */
export interface InferenceRunOptions {
  /** Checkpoint folder (config.yaml + model.pt). */
  dir: string;
  /** Backend to load on. */
  backend: BackendName;
  /** Prompt lengths. */
  contexts: number[];
  /** Tokens generated per prompt (≥ 2). */
  newTokens: number;
}

/** The loading side, run in its own process: load, then decode. */
export async function runInference(options: InferenceRunOptions): Promise<InferenceBenchResult> {
  const checkpointBytes = (await Deno.stat(join(options.dir, "model.pt"))).size;
  const start = performance.now();
  const model = await OlmoCheckpoint.fromCheckpoint(options.dir, {
    backend: options.backend,
    progress: false,
  });
  const loadSeconds = (performance.now() - start) / 1000;
  const loadedRssBytes = Deno.memoryUsage().rss;
  try {
    const gen = await benchGenerate(model, {
      contextLengths: options.contexts,
      newTokens: options.newTokens,
      warmup: false,
    });
    return {
      checkpointBytes,
      loadSeconds,
      peakRssBytes: peakResidentBytes(),
      loadedRssBytes,
      generation: gen.map((g) => ({
        ...g,
        prefillTokensPerSecond: g.contextLength / g.prefillSeconds,
      })),
    };
  } finally {
    model.dispose();
  }
}

/** Options of {@link benchCheckpointInference}. */
export interface CheckpointInferenceOptions {
  /** The model to write and load. */
  model: ModelConfig;
  /** Backend of both processes. */
  backend: BackendName;
  /** Initialisation seed. */
  seed: number;
  /** Prompt lengths (default [64]). */
  contexts?: number[];
  /** Tokens generated per prompt (default 16). */
  newTokens?: number;
  /** Progress messages. */
  log?: (message: string) => void;
}

/**
 * Writes the checkpoint in a temporary folder, runs the loading side in a child process
 * (`cli/bench.ts --inference-worker`), removes the folder and returns the child's result.
 * @throws Error with the child's last stderr lines when it fails.
 */
export async function benchCheckpointInference(
  options: CheckpointInferenceOptions,
): Promise<InferenceBenchResult> {
  const log = options.log ?? (() => {});
  const dir = await Deno.makeTempDir({ prefix: "olmo-bench-ckpt-" });
  try {
    log(`writing model.pt to ${dir}`);
    await writeBenchCheckpoint(dir, options.model, options.backend, options.seed);
    const script = fileURLToPath(new URL("../../cli/bench.ts", import.meta.url));
    log("loading it in a fresh process and decoding");
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        script,
        INFERENCE_WORKER_FLAG,
        dir,
        "--backend",
        options.backend,
        "--contexts",
        (options.contexts ?? [64]).join(","),
        "--new-tokens",
        String(options.newTokens ?? 16),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (output.code !== 0) {
      const err = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3);
      throw new Error(`inference worker failed (exit ${output.code}): ${err.join(" | ")}`);
    }
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    return JSON.parse(lines[lines.length - 1]) as InferenceBenchResult;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
