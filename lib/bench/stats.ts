/**
 * Small measurement helpers for the benchmark harness: process CPU time, memory and a
 * description of the machine (benchmarks here run on shared, noisy machines, so every result
 * carries the load average it was measured under).
 *
 * @module
 */
import { cpus } from "node:os";
import process from "node:process";

/** CPU seconds (user + system, all threads) this process has used so far. */
export function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The 1-minute load average, or null where the platform has none. */
export function loadAverage1m(): number | null {
  try {
    return Deno.loadavg()[0];
  } catch {
    return null;
  }
}

/** Resident set size of this process in bytes. */
export function residentBytes(): number {
  return Deno.memoryUsage().rss;
}

/** What a result was measured on. */
export interface MachineInfo {
  /** CPU model name (first core). */
  cpuModel: string;
  /** Logical cores the OS reports. */
  cores: number;
  /** Total RAM in bytes, or null when unknown. */
  memoryBytes: number | null;
  /** `os.release` style description: OS and architecture. */
  os: string;
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** 1, 5 and 15-minute load averages when the harness started, or null. */
  loadAverage: number[] | null;
}

/** Describes this machine. */
export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  let memoryBytes: number | null = null;
  try {
    memoryBytes = Deno.systemMemoryInfo().total;
  } catch {
    memoryBytes = null;
  }
  let loadAverage: number[] | null = null;
  try {
    loadAverage = Deno.loadavg();
  } catch {
    loadAverage = null;
  }
  return {
    cpuModel: cpuList[0]?.model?.trim() || "unknown CPU",
    cores: cpuList.length || navigator.hardwareConcurrency,
    memoryBytes,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    loadAverage,
  };
}
