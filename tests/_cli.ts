/**
 * Helpers for tests of the checkpoint commands: running a command of `cli/` as a subprocess,
 * bit-exact tensor checks, and a barrier for ranks simulated in one process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { HostTensor, NamedHostTensors } from "../lib/util/host_tensor.ts";

/** What a finished command printed and returned. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** Standard output text. */
  stdout: string;
  /** Standard error text. */
  stderr: string;
}

/**
 * Runs `deno run -A cli/<script> ...args` with the project's deno.json; `env` is added to the
 * inherited environment.
 */
export async function runCli(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const config = fileURLToPath(new URL("../deno.json", import.meta.url));
  const path = fileURLToPath(new URL(`../cli/${script}`, import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, path, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Asserts a run exited with `code`, showing its output otherwise. */
export function assertExit(run: CliRun, code: number): void {
  assert.equal(run.code, code, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

/** The raw bytes of a tensor's data. */
function bytesOf(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Asserts two tensor sets hold the same names, shapes, dtypes and bits (NaN payloads, -0). */
export function assertBitExact(
  actual: NamedHostTensors | null | undefined,
  expected: NamedHostTensors,
  what: string,
): void {
  assert.ok(actual, `${what}: missing`);
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: names`);
  for (const [name, e] of expected) {
    const a: HostTensor = actual.get(name)!;
    assert.deepEqual(a.shape, e.shape, `${what} ${name}: shape`);
    assert.equal(a.dtype, e.dtype, `${what} ${name}: dtype`);
    assert.deepEqual(bytesOf(a), bytesOf(e), `${what} ${name}: bits`);
  }
}

/** Deterministic float32 data with -0, a subnormal, an infinity and a NaN payload. */
export function f32(shape: number[], seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 977 + i) * 10 ** ((i % 5) - 2);
  const bits = new Uint32Array(data.buffer);
  if (n > 4) {
    data[0] = -0;
    bits[1] = 0x00000005;
    data[2] = -Infinity;
    bits[3] = 0x7fc04321;
  }
  return { dtype: "float32", shape, data };
}

/** Names of the entries of a folder, sorted. */
export function listDir(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** An in-process barrier for `n` simulated ranks (each rank's save awaits it). */
export function makeBarrier(n: number): () => Promise<void> {
  let waiting: (() => void)[] = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === n) {
        const all = waiting;
        waiting = [];
        all.forEach((f) => f());
      }
    });
}
