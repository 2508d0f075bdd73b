/**
 * A {@link Communicator} over MPI_COMM_WORLD through Deno FFI (MPICH or Open MPI ABI).
 *
 * Collectives are `nonblocking` FFI calls: the C call runs on Deno's blocking thread pool and the
 * event loop keeps running, so JS work overlaps communication. Two collectives in flight on one
 * communicator give silently wrong sums (measured: 15% of pairs with MPICH), even when every rank
 * starts them in the same order, because the pool may start them in a different order per rank.
 * Every collective therefore goes through one FIFO queue. The queue's closures keep the buffers
 * referenced until each call returns.
 *
 * @module
 */
import {
  checkAllGather,
  checkReduceScatter,
  checkRoot,
  type FloatArray,
  isRankSlice,
} from "./collective_checks.ts";
import { detectLauncher, envInteger, type EnvReader, processEnv } from "./launcher_env.ts";
import {
  type MpiAbi,
  MPICH_SONAME,
  type MpiHandle,
  type MpiLibrary,
  OPENMPI_SONAME,
  openMpiLibrary,
} from "./mpi_library.ts";
import type { Communicator } from "./communicator.ts";

const MPI_THREAD_SERIALIZED = 2;
const MPI_THREAD_MULTIPLE = 3;
/** The C `int` count limit of one MPI call. */
const MAX_INT_COUNT = 2 ** 31 - 1;
/** Bytes per host name in the init-time exchange that derives local ranks. */
const HOST_NAME_BYTES = 256;
/** How long abort() lets the launcher forward this rank's last output. */
const ABORT_OUTPUT_DRAIN_MS = 100;
/** MPI may be initialised once per process. */
let initCalled = false;

/** Options of {@link MpiCommunicator.init}. */
export interface MpiCommunicatorOptions {
  /** Environment reader (default: the process environment). */
  env?: EnvReader;
  /** Largest element count per MPI call (default 2^31−1); larger buffers are chunked. */
  maxElementsPerCall?: number;
}

/** Host-derived placement of this rank. */
interface Placement {
  localRank: number;
  localSize: number;
  nodeRank: number;
  fsLocalRank: number;
}

/** MPI_COMM_WORLD as a {@link Communicator}. Create with {@link MpiCommunicator.init}. */
export class MpiCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  readonly backend: string;
  /** The handle ABI of the loaded library. */
  readonly abi: MpiAbi;
  /** The soname or path of the loaded library. */
  readonly libraryPath: string;
  /** `MPI_Get_library_version`, e.g. `MPICH Version: 4.0.2 ...`. */
  readonly libraryVersion: string;
  readonly #library: MpiLibrary;
  #maxCount: number;
  #tail: Promise<void> = Promise.resolve();
  #finalized = false;
  #removeHandlers: () => void = () => {};
  #placement: Placement = { localRank: 0, localSize: 1, nodeRank: 0, fsLocalRank: 0 };

  private constructor(library: MpiLibrary, rank: number, size: number, maxCount: number) {
    this.#library = library;
    this.abi = library.abi;
    this.libraryPath = library.path;
    this.rank = rank;
    this.size = size;
    this.#maxCount = maxCount;
    this.backend = `${library.abi} (${library.path})`;
    this.libraryVersion = readLibraryVersion(library);
  }

  /**
   * Loads MPI, calls `MPI_Init_thread(MULTIPLE)`, installs the abort-on-error handlers,
   * cross-checks the world size against the launcher and derives local ranks from host names.
   * Must be called at most once per process.
   */
  static async init(options: MpiCommunicatorOptions = {}): Promise<MpiCommunicator> {
    const env = options.env ?? processEnv;
    const maxCount = options.maxElementsPerCall ?? MAX_INT_COUNT;
    if (!Number.isInteger(maxCount) || maxCount < 1 || maxCount > MAX_INT_COUNT) {
      throw new Error(`maxElementsPerCall ${maxCount}: expected an integer in [1, 2^31-1]`);
    }
    if (initCalled) {
      throw new Error("MPI is already initialised in this process: reuse the first initWorld()");
    }
    const library = openMpiLibrary(env);
    initCalled = true;
    const { symbols: s, handles: h } = library;
    const provided = new Int32Array(1);
    check(s.MPI_Init_thread(null, null, MPI_THREAD_MULTIPLE, provided), "MPI_Init_thread");
    const out = new Int32Array(1);
    check(s.MPI_Comm_rank(h.commWorld, out), "MPI_Comm_rank");
    const rank = out[0];
    check(s.MPI_Comm_size(h.commWorld, out), "MPI_Comm_size");
    const world = new MpiCommunicator(library, rank, out[0], maxCount);
    world.#installHandlers();

    const launcher = detectLauncher(env);
    if (launcher !== null && launcher.size !== world.size) {
      const other = library.abi === "mpich" ? OPENMPI_SONAME : MPICH_SONAME;
      console.error(
        `${world.#prefix()} wrong MPI library for this launcher: ${launcher.sizeVariable}=` +
          `${launcher.size} but MPI_Comm_size=${world.size} with ${library.path} ` +
          `(${library.abi} ABI). Use the mpiexec that matches the library, or set MPI_LIB ` +
          `(e.g. MPI_LIB=${other}).`,
      );
      world.abort(2);
    }
    if (provided[0] < MPI_THREAD_SERIALIZED) {
      throw new Error(
        `${library.path} granted MPI thread level ${provided[0]}; collectives run on Deno's ` +
          `thread pool and need at least MPI_THREAD_SERIALIZED (${MPI_THREAD_SERIALIZED})`,
      );
    }
    world.#placement = await world.#placementFromHostNames(envInteger(env, "FS_LOCAL_RANK"));
    return world;
  }

  /** Rank among the processes on this host. */
  get localRank(): number {
    return this.#placement.localRank;
  }
  /** Number of processes on this host. */
  get localSize(): number {
    return this.#placement.localSize;
  }
  /** Index of this host, in order of each host's lowest global rank. */
  get nodeRank(): number {
    return this.#placement.nodeRank;
  }
  /** `FS_LOCAL_RANK` if set, else `localRank`. */
  get fsLocalRank(): number {
    return this.#placement.fsLocalRank;
  }

  /** In place: every element becomes the sum over ranks. */
  allReduceSum(buf: FloatArray): Promise<void> {
    return this.#allReduce(buf, this.#library.handles.sum, "allReduceSum");
  }

  /** In place: every element becomes the maximum over ranks. */
  allReduceMax(buf: FloatArray): Promise<void> {
    return this.#allReduce(buf, this.#library.handles.max, "allReduceMax");
  }

  /** In place: every element becomes the minimum over ranks. */
  allReduceMin(buf: FloatArray): Promise<void> {
    return this.#allReduce(buf, this.#library.handles.min, "allReduceMin");
  }

  /** Sums `buf` (size × n) over ranks; block `rank` of the sum lands in `out` (n). */
  async reduceScatterSum(buf: FloatArray, out: FloatArray): Promise<void> {
    checkReduceScatter(buf, out, this.size);
    const { symbols: s, handles: h } = this.#library;
    const type = dataType(buf, h.float, h.double);
    const n = out.length;
    await this.#enqueue("reduceScatterSum", async () => {
      if (n <= this.#maxCount) {
        check(
          await s.MPI_Reduce_scatter_block(buf, out, n, type, h.sum, h.commWorld),
          "MPI_Reduce_scatter_block",
        );
        return;
      }
      // A block too large for one call is not contiguous across ranks in `buf`: reduce each
      // rank's block to that rank, in chunks.
      for (let root = 0; root < this.size; root++) {
        for (const [start, end] of this.#chunks(n)) {
          const send = buf.subarray(root * n + start, root * n + end);
          const recv = out.subarray(start, end);
          check(
            await s.MPI_Reduce(send, recv, end - start, type, h.sum, root, h.commWorld),
            "MPI_Reduce",
          );
        }
      }
    });
  }

  /** Concatenates every rank's `shard` (n) into `out` (size × n); in place if `shard` is its block. */
  async allGather(shard: FloatArray, out: FloatArray): Promise<void> {
    checkAllGather(shard, out, this.size, this.rank);
    const { symbols: s, handles: h } = this.#library;
    const type = dataType(shard, h.float, h.double);
    const n = shard.length;
    const inPlace = isRankSlice(shard, out, this.rank);
    await this.#enqueue("allGather", async () => {
      if (n <= this.#maxCount) {
        const rc = inPlace
          ? await s.MPI_Allgather_in_place(h.inPlace, 0, type, out, n, type, h.commWorld)
          : await s.MPI_Allgather(shard, n, type, out, n, type, h.commWorld);
        check(rc, "MPI_Allgather");
        return;
      }
      // Blocks too large for one call: each rank broadcasts its own block, in chunks.
      if (!inPlace) out.set(shard, this.rank * n);
      for (let root = 0; root < this.size; root++) {
        for (const [start, end] of this.#chunks(n)) {
          const block = out.subarray(root * n + start, root * n + end);
          check(await s.MPI_Bcast(block, end - start, type, root, h.commWorld), "MPI_Bcast");
        }
      }
    });
  }

  /** Copies the bytes of `buf` on rank `root` into `buf` on every rank. */
  async broadcast(buf: ArrayBufferView, root: number): Promise<void> {
    checkRoot(root, this.size);
    const { symbols: s, handles: h } = this.#library;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    await this.#enqueue("broadcast", async () => {
      for (const [start, end] of this.#chunks(bytes.length)) {
        const chunk = bytes.subarray(start, end);
        check(await s.MPI_Bcast(chunk, end - start, h.byte, root, h.commWorld), "MPI_Bcast");
      }
    });
  }

  /** Resolves once every rank has entered the barrier. */
  barrier(): Promise<void> {
    const { symbols: s, handles: h } = this.#library;
    return this.#enqueue("barrier", async () => {
      check(await s.MPI_Barrier(h.commWorld), "MPI_Barrier");
    });
  }

  /** Waits for queued collectives, removes the error handlers and calls `MPI_Finalize`. */
  async finalize(): Promise<void> {
    if (this.#finalized) return;
    await this.#tail;
    this.#finalized = true;
    this.#removeHandlers();
    check(this.#library.symbols.MPI_Finalize(), "MPI_Finalize");
  }

  /**
   * `MPI_Abort(MPI_COMM_WORLD, code)`: the launcher stops every rank and exits with `code`.
   * Waits 100 ms first so the launcher can forward what this rank just wrote to stderr (the
   * reason for aborting), which it otherwise sometimes drops when it kills the job.
   */
  abort(code: number): never {
    if (!this.#finalized) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ABORT_OUTPUT_DRAIN_MS);
      this.#library.symbols.MPI_Abort(this.#library.handles.commWorld, code);
    }
    Deno.exit(code); // reached only after finalize(), or if MPI_Abort returned
  }

  #allReduce(buf: FloatArray, op: MpiHandle, name: string): Promise<void> {
    const { symbols: s, handles: h } = this.#library;
    const type = dataType(buf, h.float, h.double);
    return this.#enqueue(name, async () => {
      for (const [start, end] of this.#chunks(buf.length)) {
        const chunk = buf.subarray(start, end);
        check(
          await s.MPI_Allreduce_in_place(h.inPlace, chunk, end - start, type, op, h.commWorld),
          "MPI_Allreduce",
        );
      }
    });
  }

  /** Runs `call` after every previously queued collective has finished. */
  #enqueue(name: string, call: () => Promise<void>): Promise<void> {
    if (this.#finalized) return Promise.reject(new Error(`${name} called after finalize()`));
    const result = this.#tail.then(call);
    this.#tail = result.catch(() => {}); // the caller sees the error; the queue goes on
    return result;
  }

  /** `[start, end)` ranges of at most `maxElementsPerCall` covering `[0, length)`. */
  *#chunks(length: number): Generator<[number, number]> {
    for (let start = 0; start < length; start += this.#maxCount) {
      yield [start, Math.min(length, start + this.#maxCount)];
    }
  }

  /** Derives local rank/size and node rank by gathering every rank's host name. */
  async #placementFromHostNames(fsLocalRank: number | undefined): Promise<Placement> {
    const { symbols: s, handles: h } = this.#library;
    const mine = new Uint8Array(HOST_NAME_BYTES);
    new TextEncoder().encodeInto(Deno.hostname().slice(0, HOST_NAME_BYTES / 4), mine);
    const all = new Uint8Array(HOST_NAME_BYTES * this.size);
    await this.#enqueue("host name exchange", async () => {
      check(
        await s.MPI_Allgather(
          mine,
          HOST_NAME_BYTES,
          h.byte,
          all,
          HOST_NAME_BYTES,
          h.byte,
          h.commWorld,
        ),
        "MPI_Allgather",
      );
    });
    const decoder = new TextDecoder();
    const hosts = Array.from(
      { length: this.size },
      (_, r) => decoder.decode(all.subarray(r * HOST_NAME_BYTES, (r + 1) * HOST_NAME_BYTES)),
    );
    const myHost = hosts[this.rank];
    const nodes = [...new Set(hosts)]; // insertion order = order of each host's lowest rank
    const localRank = hosts.slice(0, this.rank).filter((host) => host === myHost).length;
    return {
      localRank,
      localSize: hosts.filter((host) => host === myHost).length,
      nodeRank: nodes.indexOf(myHost),
      fsLocalRank: fsLocalRank ?? localRank,
    };
  }

  /**
   * An uncaught error or unhandled rejection on one rank must stop the whole job with a non-zero
   * code (otherwise the other ranks wait forever in a collective), and an exit with code 0
   * before `finalize()` must not look like success (MPICH then reports rc 0 for the job).
   * An exit with code n ≠ 0 before `finalize()` aborts the job with code n.
   */
  #installHandlers(): void {
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      console.error(`${this.#prefix()} uncaught error, aborting the MPI job:`, event.error);
      this.abort(1);
    };
    const onRejection = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      console.error(`${this.#prefix()} unhandled rejection, aborting the MPI job:`, event.reason);
      this.abort(1);
    };
    const onUnload = () => {
      if (this.#finalized) return;
      // A plain exit races with the other ranks' teardown (the job's code is then sometimes
      // another rank's 1); MPI_Abort makes the launcher report this rank's code.
      const code = Deno.exitCode === 0 ? 1 : Deno.exitCode;
      console.error(
        `${this.#prefix()} exiting with code ${Deno.exitCode} before finalize(), ` +
          `aborting the MPI job with code ${code}`,
      );
      this.abort(code);
    };
    globalThis.addEventListener("error", onError);
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("unload", onUnload);
    this.#removeHandlers = () => {
      globalThis.removeEventListener("error", onError);
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("unload", onUnload);
    };
  }

  #prefix(): string {
    return `[rank ${this.rank}/${this.size}]`;
  }
}

function check(rc: number, call: string): void {
  if (rc !== 0) throw new Error(`${call} failed with MPI error code ${rc}`);
}

function dataType(buf: FloatArray, float: MpiHandle, double: MpiHandle): MpiHandle {
  return buf instanceof Float64Array ? double : float;
}

function readLibraryVersion(library: MpiLibrary): string {
  const text = new Uint8Array(8192); // MPI_MAX_LIBRARY_VERSION_STRING: 8192 (MPICH), 256 (Open MPI)
  const length = new Int32Array(1);
  check(library.symbols.MPI_Get_library_version(text, length), "MPI_Get_library_version");
  const end = text.indexOf(0);
  return new TextDecoder().decode(text.subarray(0, end < 0 ? length[0] : end)).trim();
}
