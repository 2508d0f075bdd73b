/**
 * Training-speed benchmark: warm-up steps, then the median of timed steps of one config on the
 * active backend, with throughput, achieved GFLOP/s, MFU and memory.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "../config/train_config.ts";
import { trainFlopsPerToken } from "../model/flops.ts";
import { buildTrainStep, type TrainStepRig } from "./train_step.ts";
import { median } from "../util/median.ts";
import { loadAverage1m, processCpuSeconds, residentBytes } from "./stats.ts";

/** Options of {@link benchTraining}. */
export interface TrainBenchOptions {
  /** Untimed steps first (default 2: the first step also builds kernels and buffers). */
  warmupSteps?: number;
  /** Timed steps (default 5, at least 1; report medians of ≥ 5). */
  steps?: number;
  /** Model and data seed (default the config's `seed`). */
  seed?: number;
  /** Called after every step (warm-up included) with its index, seconds and loss. */
  onStep?: (index: number, seconds: number, loss: number, warmup: boolean) => void;
  /** Receives the rig after the timed steps, before it is disposed (e.g. to profile a step). */
  afterSteps?: (rig: TrainStepRig) => Promise<void>;
}

/** Result of {@link benchTraining}. */
export interface TrainBenchResult {
  /** Sequences per step. */
  batchSize: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Parameters (all, embeddings included). */
  params: number;
  /** Training FLOPs per token (OLMo's `6N + 12·L·d·S` convention). */
  flopsPerToken: number;
  /** Wall seconds of each timed step. */
  stepSeconds: number[];
  /** Median of `stepSeconds`. */
  medianStepSeconds: number;
  /** Process CPU seconds per timed step (all threads), averaged. */
  cpuSecondsPerStep: number;
  /** `batchSize · seqLen / medianStepSeconds`. */
  tokensPerSecond: number;
  /** Achieved GFLOP/s at the median step. */
  gflops: number;
  /** Cross-entropy of every step, warm-up included (finite values show the step trained). */
  losses: number[];
  /** Largest resident set size seen after any step, bytes. */
  peakRssBytes: number;
  /** Bytes held by tfjs tensors after the last step. */
  tensorBytes: number;
  /** Tensors alive after the last step (constant across steps when nothing leaks). */
  tensorCount: number;
  /** Size of the wasm heap after the last step, bytes, or null off wasm. */
  wasmHeapBytes: number | null;
  /** 1-minute load average after the timed steps (null where unknown). */
  loadAverage: number | null;
}

/** Bytes of the wasm heap of the active backend, or null when it is not wasm-based. */
export function wasmHeapBytes(): number | null {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

/** Trains `cfg` on random tokens and measures its steps (see {@link TrainBenchOptions}). */
export async function benchTraining(
  cfg: TrainConfig,
  options: TrainBenchOptions = {},
): Promise<TrainBenchResult> {
  const warmupSteps = options.warmupSteps ?? 2;
  const steps = options.steps ?? 5;
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new Error(`benchTraining: steps must be a positive integer, got ${steps}`);
  }
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
    throw new Error(`benchTraining: warmupSteps must be a non-negative integer`);
  }
  const rig = buildTrainStep(cfg, { seed: options.seed });
  try {
    const losses: number[] = [];
    const stepSeconds: number[] = [];
    let peakRssBytes = residentBytes();
    let cpuSeconds = 0;
    for (let i = 0; i < warmupSteps + steps; i++) {
      const warmup = i < warmupSteps;
      const cpuStart = processCpuSeconds();
      const start = performance.now();
      const loss = await rig.step();
      const seconds = (performance.now() - start) / 1000;
      if (!warmup) {
        stepSeconds.push(seconds);
        cpuSeconds += processCpuSeconds() - cpuStart;
      }
      losses.push(loss);
      peakRssBytes = Math.max(peakRssBytes, residentBytes());
      options.onStep?.(i, seconds, loss, warmup);
    }
    const memory = tf.memory();
    const medianStepSeconds = median(stepSeconds);
    const tokens = rig.batchSize * rig.seqLen;
    const flopsPerToken = trainFlopsPerToken(cfg.model, rig.seqLen);
    const result: TrainBenchResult = {
      batchSize: rig.batchSize,
      seqLen: rig.seqLen,
      params: rig.model.numParams(),
      flopsPerToken,
      stepSeconds,
      medianStepSeconds,
      cpuSecondsPerStep: cpuSeconds / steps,
      tokensPerSecond: tokens / medianStepSeconds,
      gflops: (tokens * flopsPerToken) / medianStepSeconds / 1e9,
      losses,
      peakRssBytes,
      tensorBytes: memory.numBytes,
      tensorCount: memory.numTensors,
      wasmHeapBytes: wasmHeapBytes(),
      loadAverage: loadAverage1m(),
    };
    await options.afterSteps?.(rig);
    return result;
  } finally {
    rig.dispose();
  }
}
