/**
 * `initWorld()`, which picks MPI when a launcher started this process and a dependency-free
 * single-process world otherwise (both are a `Communicator`, `communicator.ts`).
 *
 * The rank and sizes are the communicator's fields, passed to whatever needs them. Unlike
 * torchrun, nothing is exported to the environment: the process environment is shared by every
 * thread and child, and library code leaves it as it is.
 *
 * @module
 */
import {
  checkAllGather,
  checkReduceScatter,
  checkRoot,
  type FloatArray,
} from "./collective_checks.ts";
import { detectLauncher, envInteger, type EnvReader, processEnv } from "./launcher_env.ts";
import { MPI_LIB_ENV } from "./mpi_library.ts";
import { MpiCommunicator } from "./mpi.ts";

import type { Communicator } from "./communicator.ts";

export type { FloatArray } from "./collective_checks.ts";
export type { Communicator } from "./communicator.ts";

/** The world of a process started without a launcher: every collective is an identity. */
export class SingleProcessWorld implements Communicator {
  readonly rank = 0;
  readonly size = 1;
  readonly localRank = 0;
  readonly localSize = 1;
  readonly nodeRank = 0;
  readonly backend = "single-process";
  /** `FS_LOCAL_RANK` if set, else 0. */
  readonly fsLocalRank: number;
  #finalized = false;

  /** @param env environment reader for `FS_LOCAL_RANK`. */
  constructor(env: EnvReader = processEnv) {
    this.fsLocalRank = envInteger(env, "FS_LOCAL_RANK") ?? 0;
  }

  /** Identity. */
  allReduceSum(_buf: FloatArray): Promise<void> {
    return this.#run("allReduceSum");
  }
  /** Identity. */
  allReduceMax(_buf: FloatArray): Promise<void> {
    return this.#run("allReduceMax");
  }
  /** Identity. */
  allReduceMin(_buf: FloatArray): Promise<void> {
    return this.#run("allReduceMin");
  }
  /** Copies `buf` into `out` (equal lengths). */
  reduceScatterSum(buf: FloatArray, out: FloatArray): Promise<void> {
    return this.#run("reduceScatterSum", () => {
      checkReduceScatter(buf, out, 1);
      out.set(buf);
    });
  }
  /** Copies `shard` into `out` unless it is `out` itself. */
  allGather(shard: FloatArray, out: FloatArray): Promise<void> {
    return this.#run("allGather", () => {
      checkAllGather(shard, out, 1, 0);
      out.set(shard);
    });
  }
  /** Identity; `root` must be 0. */
  broadcast(_buf: ArrayBufferView, root: number): Promise<void> {
    return this.#run("broadcast", () => checkRoot(root, 1));
  }
  /** Resolves immediately. */
  barrier(): Promise<void> {
    return this.#run("barrier");
  }
  /** Marks the world finished; later collectives throw. */
  finalize(): Promise<void> {
    this.#finalized = true;
    return Promise.resolve();
  }
  /** Exits the process with `code`. */
  abort(code: number): never {
    Deno.exit(code);
  }

  /** Runs `body` now; its errors (and use after finalize) become a rejected promise. */
  #run(name: string, body: () => void = () => {}): Promise<void> {
    try {
      if (this.#finalized) throw new Error(`${name} called after finalize()`);
      body();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** Options of {@link initWorld}. */
export interface InitWorldOptions {
  /**
   * `auto` (default): MPI when a launcher started the process or `MPI_LIB` is set, else a
   * single-process world without loading any library. `always`: MPI even without a launcher
   * (a singleton of size 1). `never`: the single-process world.
   */
  mpi?: "auto" | "always" | "never";
  /** Largest element count per MPI call (default 2^31−1, the C `int` limit); lower to test. */
  maxElementsPerCall?: number;
  /** Environment reader (default: the process environment). */
  env?: EnvReader;
}

/**
 * Creates the world of this process. Its rank and sizes are the returned object's fields; the
 * process environment is left as it is (pass them on explicitly). With MPI, an uncaught error on any rank
 * aborts the whole job with a non-zero code, and exiting with code 0 before `finalize()` aborts
 * it with code 1.
 */
export async function initWorld(options: InitWorldOptions = {}): Promise<Communicator> {
  const env = options.env ?? processEnv;
  const mode = options.mpi ?? "auto";
  const wantMpi = mode === "always" ||
    (mode === "auto" && (detectLauncher(env) !== null || (env(MPI_LIB_ENV) ?? "") !== ""));
  return wantMpi
    ? await MpiCommunicator.init({ env, maxElementsPerCall: options.maxElementsPerCall })
    : new SingleProcessWorld(env);
}

/** Log line prefix `[rank r/N]`. */
export function rankPrefix(world: Pick<Communicator, "rank" | "size">): string {
  return `[rank ${world.rank}/${world.size}]`;
}
