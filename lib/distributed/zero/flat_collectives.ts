/**
 * Bucketed collectives over ONE padded flat buffer (a {@link FlatLayout} of every parameter), so
 * that rank r owns the same contiguous range `[r·S, (r+1)·S)` of the whole flattened model that a
 * sharded checkpoint stores for it (the trainer's ZeRO layout).
 *
 * A large buffer is moved in buckets of at most `maxBucketBytes` per collective call: bucket c
 * holds elements `[c·L, c·L + len)` of every rank's range, packed rank after rank, so one
 * `reduceScatterSum`/`allGather` of the bucket moves exactly that column of each shard. Packing
 * bucket c+1 in JS overlaps bucket c's collective on Deno's thread pool (two bucket buffers
 * alternate). A buffer that fits in one bucket goes through a single call without copies.
 *
 * @module
 */
import type { Communicator } from "../world.ts";

/** Default bucket size: 32 MiB of float32 per collective call. */
export const DEFAULT_BUCKET_BYTES = 32 * 1024 * 1024;

/** Elements of each rank's range per bucket, for a bucket of at most `maxBucketBytes`. */
function bucketColumns(worldSize: number, maxBucketBytes: number): number {
  if (!(maxBucketBytes >= 4 * worldSize)) {
    throw new Error(
      `bucket size ${maxBucketBytes} bytes holds less than one float32 per rank (${worldSize})`,
    );
  }
  return Math.floor(maxBucketBytes / 4 / worldSize);
}

function checkFlat(comm: Communicator, flat: Float32Array, shardSize: number, caller: string) {
  if (flat.length !== shardSize * comm.size) {
    throw new Error(
      `${caller}: flat buffer has ${flat.length} elements, expected ${comm.size} × ${shardSize}`,
    );
  }
}

/**
 * Sums `flat` (length size × S) over ranks and writes this rank's range `[rank·S, (rank+1)·S)`
 * of the sum into `shard` (length S). `flat` is not modified.
 */
export async function reduceScatterFlat(
  comm: Communicator,
  flat: Float32Array,
  shard: Float32Array,
  maxBucketBytes: number = DEFAULT_BUCKET_BYTES,
): Promise<void> {
  const S = shard.length;
  checkFlat(comm, flat, S, "reduceScatterFlat");
  const columns = bucketColumns(comm.size, maxBucketBytes);
  if (S <= columns) return await comm.reduceScatterSum(flat, shard);
  const buffers = [0, 1].map(() => new Float32Array(comm.size * columns));
  const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  for (let c = 0, k = 0; c < S; c += columns, k++) {
    const len = Math.min(columns, S - c);
    await inFlight[k % 2]; // this buffer's previous collective has finished with it
    const bucket = buffers[k % 2].subarray(0, comm.size * len);
    for (let r = 0; r < comm.size; r++) {
      bucket.set(flat.subarray(r * S + c, r * S + c + len), r * len);
    }
    inFlight[k % 2] = comm.reduceScatterSum(bucket, shard.subarray(c, c + len));
  }
  await Promise.all(inFlight);
}

/**
 * In place: every rank's range `[r·S, (r+1)·S)` of `flat` (length size × S) is replaced by rank
 * r's, so all ranks end with the same buffer. This rank's range must hold its shard on entry.
 */
export async function allGatherFlat(
  comm: Communicator,
  flat: Float32Array,
  maxBucketBytes: number = DEFAULT_BUCKET_BYTES,
): Promise<void> {
  const S = Math.floor(flat.length / comm.size);
  checkFlat(comm, flat, S, "allGatherFlat");
  const me = comm.rank;
  const columns = bucketColumns(comm.size, maxBucketBytes);
  if (S <= columns) return await comm.allGather(flat.subarray(me * S, (me + 1) * S), flat);
  const buffers = [0, 1].map(() => new Float32Array(comm.size * columns));
  const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  for (let c = 0, k = 0; c < S; c += columns, k++) {
    const len = Math.min(columns, S - c);
    await inFlight[k % 2]; // this buffer has been unpacked
    const bucket = buffers[k % 2].subarray(0, comm.size * len);
    const own = bucket.subarray(me * len, (me + 1) * len);
    own.set(flat.subarray(me * S + c, me * S + c + len));
    inFlight[k % 2] = comm.allGather(own, bucket).then(() => {
      for (let r = 0; r < comm.size; r++) {
        if (r !== me) flat.set(bucket.subarray(r * len, (r + 1) * len), r * S + c);
      }
    });
  }
  await Promise.all(inFlight);
}
