/**
 * The peak FLOP/s that `throughput/device/mfu` (model FLOPs utilisation) is measured against.
 *
 * OLMo has no MFU metric at the ported commit (its `speed_monitor.gpu_flops_available` exists but
 * is unused); olmo-ts uses that field as the knob. The peak is, in order of preference:
 * 1. `speed_monitor.gpu_flops_available` from the config (FLOP/s, e.g. `312e12` for an A100 bf16);
 * 2. the environment variable `OLMO_TS_PEAK_FLOPS`;
 * 3. measured at start-up: the best of a few float32 square matmuls on the active backend (the
 *    throughput this backend actually reaches on dense matmuls, so MFU reads as "fraction of the
 *    achievable matmul speed" rather than of a datasheet number).
 *
 * @module
 */
import { measureMatmulCeiling } from "../backend/matmul_ceiling.ts";

/** Environment variable with the peak FLOP/s. */
export const PEAK_FLOPS_ENV = "OLMO_TS_PEAK_FLOPS";

/** A peak and where it came from (for the start-up log line). */
export interface PeakFlops {
  /** FLOP/s. */
  flops: number;
  /** `config`, `env` or `measured`. */
  source: "config" | "env" | "measured";
  /** Human-readable description. */
  description: string;
}

/**
 * The peak to compute MFU against (see the module doc). `backend` picks the matmul size of the
 * measurement (256 on the slow pure-JS `cpu` backend, 1024 elsewhere).
 * @throws Error when `OLMO_TS_PEAK_FLOPS` is set but not a positive number.
 */
export async function resolvePeakFlops(
  configured: number | null,
  backend: string,
): Promise<PeakFlops> {
  if (configured !== null && configured > 0) {
    return {
      flops: configured,
      source: "config",
      description: `speed_monitor.gpu_flops_available = ${configured.toExponential(3)} FLOP/s`,
    };
  }
  const env = Deno.env.get(PEAK_FLOPS_ENV);
  if (env !== undefined && env.trim() !== "") {
    const flops = Number(env);
    if (!(flops > 0)) {
      throw new Error(`${PEAK_FLOPS_ENV}: expected a positive number of FLOP/s, got '${env}'`);
    }
    return { flops, source: "env", description: `${PEAK_FLOPS_ENV} = ${env} FLOP/s` };
  }
  const n = backend === "cpu" ? 256 : 1024;
  const flops = (await measureMatmulCeiling({ sizes: [n], repetitions: 3 })).ceilingGflops * 1e9;
  return {
    flops,
    source: "measured",
    description: `${(flops / 1e9).toFixed(1)} GFLOP/s, the best ${n}x${n} float32 matmul ` +
      `measured on ${backend} at start-up (set speed_monitor.gpu_flops_available or ` +
      `${PEAK_FLOPS_ENV} to use another peak)`,
  };
}
