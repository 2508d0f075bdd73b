/**
 * Per-kernel time of one function run, from `tf.profile`: which kernels (and which shapes of
 * them) a training step spends its time in.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Time spent in one kernel name (or one kernel name at one input shape). */
export interface KernelTime {
  /** Kernel name, e.g. `BatchMatMul`; with shapes, `BatchMatMul [4,512,256]x[256,1024]`. */
  kernel: string;
  /** Times the kernel ran. */
  calls: number;
  /** Total kernel milliseconds. */
  ms: number;
  /** Share of all kernel time, 0..1. */
  share: number;
}

/** A profiled run. */
export interface KernelProfile {
  /** Wall milliseconds of the whole run (profiling adds overhead). */
  wallMs: number;
  /** Sum of all kernel milliseconds. */
  kernelMs: number;
  /** Kernel launches. */
  kernelCalls: number;
  /** Most bytes held by tfjs tensors at any point of the run (tfjs' `peakBytes`). */
  peakTensorBytes: number;
  /** Per kernel name, slowest first. */
  byKernel: KernelTime[];
  /** Per kernel name and input shapes, slowest first. */
  byShape: KernelTime[];
}

function aggregate(entries: [string, number][], totalMs: number): KernelTime[] {
  const acc = new Map<string, { calls: number; ms: number }>();
  for (const [key, ms] of entries) {
    const e = acc.get(key) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += ms;
    acc.set(key, e);
  }
  return [...acc].map(([kernel, e]) => ({
    kernel,
    calls: e.calls,
    ms: e.ms,
    share: totalMs > 0 ? e.ms / totalMs : 0,
  })).sort((a, b) => b.ms - a.ms);
}

/**
 * Runs `fn` under `tf.profile` and aggregates kernel times by name and by name + shapes.
 * Composite entries (custom-gradient ops, whose inner kernels are listed on their own) are left
 * out so that no time is counted twice.
 */
export async function profileKernels(fn: () => Promise<unknown>): Promise<KernelProfile> {
  const backendName = tf.getBackend();
  const start = performance.now();
  const info = await tf.profile(async () => {
    await fn();
  });
  const wallMs = performance.now() - start;
  const isKernel = (name: string) => tf.getKernel(name, backendName) !== undefined;
  const kernels = info.kernels.filter((k) => isKernel(k.name)).map((k) => ({
    name: k.name,
    shapes: (k.inputShapes ?? []).map((s) => `[${s ?? ""}]`).join("x"),
    ms: typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0,
  }));
  const kernelMs = kernels.reduce((sum, k) => sum + k.ms, 0);
  return {
    wallMs,
    kernelMs,
    kernelCalls: kernels.length,
    peakTensorBytes: info.peakBytes,
    byKernel: aggregate(kernels.map((k) => [k.name, k.ms]), kernelMs),
    byShape: aggregate(kernels.map((k) => [`${k.name} ${k.shapes}`, k.ms]), kernelMs),
  };
}

/** Formats the `top` slowest entries as an aligned text table. */
export function formatKernelTimes(rows: readonly KernelTime[], top = 15): string {
  const shown = rows.slice(0, top);
  const width = Math.max(6, ...shown.map((r) => r.kernel.length));
  const lines = [`${"kernel".padEnd(width)}  calls       ms  share`];
  for (const r of shown) {
    lines.push(
      `${r.kernel.padEnd(width)}  ${String(r.calls).padStart(5)}  ${r.ms.toFixed(1).padStart(7)}` +
        `  ${(r.share * 100).toFixed(1).padStart(4)}%`,
    );
  }
  return lines.join("\n");
}
