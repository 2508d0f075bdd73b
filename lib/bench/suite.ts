/**
 * The benchmark suite behind `deno task bench`: per backend the matmul ceiling, then per config
 * training speed (and optionally a kernel profile) and generation speed; per config the data
 * loader. Results stream out as records as soon as they are measured.
 *
 * @module
 */
import { type BackendName, initBackend } from "../backend/mod.ts";
import { loadTrainConfig } from "../config/load.ts";
import type { ModelConfig } from "../config/model_config.ts";
import type { TrainConfig } from "../config/train_config.ts";
import { benchGenerate } from "./generate_bench.ts";
import { benchDataLoader } from "./data_bench.ts";
import { benchCheckpointInference, INFERENCE_BENCH_CONFIGS } from "./inference_bench.ts";
import { measureMatmulCeiling } from "../backend/matmul_ceiling.ts";
import { profileKernels } from "./profile.ts";
import { PYTORCH_REFERENCE } from "./reference.ts";
import type { BenchRecord } from "./report.ts";
import { machineInfo } from "./stats.ts";
import { benchTraining } from "./train_bench.ts";

/** A config to benchmark. */
export interface BenchConfigRef {
  /** Short name used in reports and for the PyTorch reference (e.g. `bench-small`). */
  name: string;
  /** Path of its YAML file. */
  path: string;
}

/** Options of {@link runBenchSuite}. */
export interface BenchSuiteOptions {
  /** Configs, in order. */
  configs: BenchConfigRef[];
  /** Backends, in order. */
  backends: BackendName[];
  /** Timed training steps per config (default 5). */
  steps?: number;
  /** Warm-up steps (default 2). */
  warmupSteps?: number;
  /** Measure the matmul ceiling (default true). */
  matmul?: boolean;
  /** Measure generation speed (default true). */
  generate?: boolean;
  /** Generation context lengths (default 64 and 512). */
  generateContexts?: number[];
  /** Tokens generated per measurement (default 32). */
  generateTokens?: number;
  /** Measure the data loader (default true). */
  data?: boolean;
  /** Seconds the data loader is measured for (default 1). */
  dataSeconds?: number;
  /** Tokens in the data loader's temporary file (default 4 Mi). */
  dataFileTokens?: number;
  /** Profile one extra training step per config and backend (default false). */
  profile?: boolean;
  /** Config overrides (`key=value`) applied to every config. */
  overrides?: string[];
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

/** Matmul sizes of the ceiling by backend: the slow ones get smaller products. */
const CEILING_SIZES: Record<string, number[]> = { cpu: [128, 256], webgpu: [256, 512, 1024] };

/** Entries kept per profile table in records. */
const PROFILE_ROWS = 40;

/** Loads a bench config; paths in `data` need not exist (the bench uses random tokens). */
export function loadBenchConfig(
  ref: BenchConfigRef,
  overrides: string[] = [],
): Promise<TrainConfig> {
  return loadTrainConfig(ref.path, { overrides, validatePaths: false });
}

/**
 * The model config and context lengths to measure generation with. Models without learned
 * positions (RoPE, ALiBi) have no parameter tied to `max_sequence_length`, so it is raised to fit
 * the longest context; with learned positions contexts that do not fit are dropped.
 */
export function generationPlan(
  model: ModelConfig,
  contexts: readonly number[],
  newTokens: number,
): { model: ModelConfig; contexts: number[]; dropped: number[] } {
  const learnedPositions = !model.rope && !model.alibi;
  if (learnedPositions) {
    const fits = (c: number) => c + newTokens <= model.max_sequence_length;
    return {
      model,
      contexts: contexts.filter(fits),
      dropped: contexts.filter((c) => !fits(c)),
    };
  }
  const needed = Math.max(model.max_sequence_length, ...contexts.map((c) => c + newTokens));
  return { model: { ...model, max_sequence_length: needed }, contexts: [...contexts], dropped: [] };
}

/** Runs the suite, handing each record to `emit` as soon as it exists. */
export async function runBenchSuite(
  options: BenchSuiteOptions,
  emit: (record: BenchRecord) => void,
): Promise<void> {
  const log = options.log ?? (() => {});
  const newTokens = options.generateTokens ?? 32;
  const contexts = options.generateContexts ?? [64, 512];
  emit({ kind: "machine", ...machineInfo() });
  const configs: [BenchConfigRef, TrainConfig][] = [];
  for (const ref of options.configs) {
    configs.push([ref, await loadBenchConfig(ref, options.overrides)]);
  }

  for (const requested of options.backends) {
    let backend: string;
    try {
      backend = await initBackend(requested, { quiet: true });
    } catch (e) {
      emit({ kind: "note", message: `backend ${requested} skipped: ${(e as Error).message}` });
      continue;
    }
    let ceiling: number | null = null;
    if (options.matmul ?? true) {
      log(`[${backend}] matmul ceiling`);
      const sizes = CEILING_SIZES[backend] ?? [512, 1024, 2048];
      const m = await measureMatmulCeiling({ sizes });
      ceiling = m.ceilingGflops;
      emit({ kind: "matmul", backend, ...m });
    }
    for (const [ref, cfg] of configs) {
      if (INFERENCE_BENCH_CONFIGS.has(ref.name)) {
        log(`[${backend}] ${ref.name}: checkpoint inference`);
        try {
          const result = await benchCheckpointInference({
            model: cfg.model,
            backend: backend as BackendName,
            seed: cfg.seed,
            log: (m) => log(`[${backend}] ${ref.name}: ${m}`),
          });
          emit({ kind: "inference", config: ref.name, backend, ...result });
        } catch (e) {
          emit({ kind: "note", message: `${ref.name} on ${backend}: ${(e as Error).message}` });
        }
        await initBackend(requested, { quiet: true });
        continue;
      }
      log(`[${backend}] ${ref.name}: training`);
      let profiled: BenchRecord | null = null;
      let result: Awaited<ReturnType<typeof benchTraining>>;
      try {
        result = await benchTraining(cfg, {
          steps: options.steps,
          warmupSteps: options.warmupSteps,
          onStep: (i, seconds, loss, warmup) =>
            log(
              `[${backend}] ${ref.name} ${warmup ? "warm-up" : "step"} ${i + 1}: ` +
                `${seconds.toFixed(3)} s, loss ${loss.toFixed(4)}`,
            ),
          afterSteps: options.profile
            ? async (rig) => {
              log(`[${backend}] ${ref.name}: profiling one step`);
              const p = await profileKernels(() => rig.step());
              profiled = {
                kind: "profile",
                config: ref.name,
                backend,
                ...p,
                byKernel: p.byKernel.slice(0, PROFILE_ROWS),
                byShape: p.byShape.slice(0, PROFILE_ROWS),
              };
            }
            : undefined,
        });
      } catch (e) {
        // e.g. bench-300m on wasm: 4.9 GB of weights, gradients and moments exceed the heap.
        emit({ kind: "note", message: `${ref.name} on ${backend}: ${(e as Error).message}` });
        continue;
      }
      // With overrides the config is no longer the one PyTorch was measured on.
      const reference = options.overrides?.length
        ? null
        : PYTORCH_REFERENCE[ref.name]?.tokensPerSecond ?? null;
      emit({
        kind: "train",
        config: ref.name,
        backend,
        ...result,
        mfu: ceiling === null ? null : result.gflops / ceiling,
        pytorchTokensPerSecond: reference,
        ratioToPytorch: reference === null ? null : result.tokensPerSecond / reference,
      });
      if (profiled) emit(profiled);
      if (options.generate ?? true) {
        const plan = generationPlan(cfg.model, contexts, newTokens);
        for (const c of plan.dropped) {
          emit({
            kind: "note",
            message: `${ref.name}: generation at context ${c} skipped (learned positions, ` +
              `max_sequence_length ${cfg.model.max_sequence_length})`,
          });
        }
        if (plan.contexts.length) {
          log(`[${backend}] ${ref.name}: generation at contexts ${plan.contexts.join(", ")}`);
          const gen = await benchGenerate(plan.model, {
            contextLengths: plan.contexts,
            newTokens,
            seed: cfg.seed,
          });
          for (const g of gen) emit({ kind: "generate", config: ref.name, backend, ...g });
        }
      }
    }
  }

  if (options.data ?? true) {
    for (const [ref, cfg] of configs) {
      if (INFERENCE_BENCH_CONFIGS.has(ref.name)) continue;
      log(`${ref.name}: data loader`);
      const batchSize = cfg.device_train_microbatch_size ?? cfg.global_train_batch_size;
      const seqLen = cfg.model.max_sequence_length;
      const d = await benchDataLoader({
        seqLen,
        batchSize,
        vocabSize: cfg.model.vocab_size,
        minSeconds: options.dataSeconds,
        fileTokens: options.dataFileTokens,
      });
      emit({ kind: "data", config: ref.name, batchSize, seqLen, ...d });
    }
  }
}
