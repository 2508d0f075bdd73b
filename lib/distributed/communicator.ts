/**
 * The communicator the trainer talks to: what the MPI world (`mpi.ts`) and the single-process
 * world (`world.ts`) both are.
 *
 * @module
 */
import type { FloatArray } from "./collective_checks.ts";

/**
 * A group of cooperating processes. Collectives must be called by every rank in the same order;
 * they are serialised per communicator, so several may be started without awaiting in between.
 * Buffers passed to a collective must not be modified, transferred or resized until its promise
 * resolves.
 */
export interface Communicator {
  /** Global rank, 0 ≤ rank < size. */
  readonly rank: number;
  /** Number of processes. */
  readonly size: number;
  /** Rank among the processes on this host. */
  readonly localRank: number;
  /** Number of processes on this host. */
  readonly localSize: number;
  /** Index of this host, in order of each host's lowest global rank. */
  readonly nodeRank: number;
  /** The rank that writes shared files on this filesystem: `FS_LOCAL_RANK`, else `localRank`. */
  readonly fsLocalRank: number;
  /** What carries the collectives, e.g. `single-process` or `mpich (libmpich.so.12)`. */
  readonly backend: string;
  /** In place: every element becomes the sum over ranks. */
  allReduceSum(buf: FloatArray): Promise<void>;
  /** In place: every element becomes the maximum over ranks. */
  allReduceMax(buf: FloatArray): Promise<void>;
  /** In place: every element becomes the minimum over ranks. */
  allReduceMin(buf: FloatArray): Promise<void>;
  /**
   * Sums `buf` (length size × n) over ranks and leaves block `rank` of the sum in `out`
   * (length n). `buf` and `out` must not overlap.
   */
  reduceScatterSum(buf: FloatArray, out: FloatArray): Promise<void>;
  /**
   * Concatenates every rank's `shard` (length n) into `out` (length size × n) in rank order.
   * `shard` may be `out`'s own block for this rank (gathered in place).
   */
  allGather(shard: FloatArray, out: FloatArray): Promise<void>;
  /** Copies the bytes of `buf` on rank `root` into `buf` on every rank. */
  broadcast(buf: ArrayBufferView, root: number): Promise<void>;
  /** Resolves once every rank has entered the barrier. */
  barrier(): Promise<void>;
  /** Waits for queued collectives, then shuts the communicator down. Call once, at the end. */
  finalize(): Promise<void>;
  /** Stops every rank of the job with exit code `code`. */
  abort(code: number): never;
}
