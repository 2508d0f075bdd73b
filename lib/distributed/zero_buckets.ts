/**
 * Bucketed ZeRO-style data parallelism on a {@link Communicator}: gradients are packed into
 * preallocated flat buckets and reduce-scattered (each rank keeps the summed gradients of its
 * shard, where its optimizer state lives); after the optimizer step, the updated shards are
 * all-gathered back into full named parameters.
 *
 * Packing bucket k+1 runs in JS while bucket k's collective runs on Deno's thread pool.
 *
 * @module
 */
import {
  bucketLayouts,
  type FlatLayout,
  packFlat,
  type ShardSegment,
  shardSegments,
  unpackFlat,
} from "./flat_layout.ts";
import type { Communicator } from "./world.ts";

/** Default bucket size: 32 MiB of float32 per collective call. */
export const DEFAULT_BUCKET_BYTES = 32 * 1024 * 1024;

/**
 * The bucket layouts of a parameter set and one reusable flat buffer per bucket. The buffers are
 * handed to in-flight collectives, so operations on one `GradientBuckets` run one at a time
 * (each waits for the previous one to finish).
 */
export class GradientBuckets {
  /** One padded layout per bucket, in parameter order. */
  readonly layouts: readonly FlatLayout[];
  /** The world size the layouts are sharded over. */
  readonly worldSize: number;
  readonly #flats: Float32Array[];
  #previous: Promise<unknown> = Promise.resolve();

  /**
   * @param names parameter names, in a fixed order shared by every rank
   * @param sizes element counts of the parameters
   * @param worldSize number of ranks
   * @param maxBucketBytes upper bound of a bucket in bytes (a larger parameter gets its own)
   */
  constructor(
    names: readonly string[],
    sizes: readonly number[],
    worldSize: number,
    maxBucketBytes: number = DEFAULT_BUCKET_BYTES,
  ) {
    this.layouts = bucketLayouts(names, sizes, worldSize, maxBucketBytes);
    this.worldSize = worldSize;
    this.#flats = this.layouts.map((layout) => new Float32Array(layout.paddedNumel));
  }

  /** New zero-filled shard buffers, one per bucket, each `layout.shardSize` long. */
  newShards(): Float32Array[] {
    return this.layouts.map((layout) => new Float32Array(layout.shardSize));
  }

  /** Per bucket, the pieces of each parameter that lie in `rank`'s shard. */
  segments(rank: number): ShardSegment[][] {
    return this.layouts.map((layout) => shardSegments(layout, rank));
  }

  /**
   * Copies `rank`'s shard of each bucket out of full named tensors, e.g. to initialise the fp32
   * master copy that the optimizer updates.
   */
  shardsOf(tensors: ReadonlyMap<string, Float32Array>, rank: number): Float32Array[] {
    return this.layouts.map((layout) => {
      const shard = new Float32Array(layout.shardSize);
      for (const entry of layout.entries) {
        const values = tensors.get(entry.name);
        if (values?.length !== entry.size) {
          throw new Error(
            `shardsOf: parameter ${entry.name} has ${values?.length ?? "no"} elements, ` +
              `expected ${entry.size}`,
          );
        }
      }
      for (const { name, paramStart, paramEnd, shardStart } of shardSegments(layout, rank)) {
        shard.set(tensors.get(name)!.subarray(paramStart, paramEnd), shardStart);
      }
      return shard;
    });
  }

  /** Runs `body` with the flat buffers once the previous operation has finished. */
  exclusive<T>(body: (flats: readonly Float32Array[]) => Promise<T>): Promise<T> {
    const result = this.#previous.then(() => body(this.#flats));
    this.#previous = result.catch(() => {});
    return result;
  }
}

/** Options of {@link reduceScatterGradients}. */
export interface ReduceScatterOptions {
  /** Divide the sums by the world size (the mean gradient, as DDP/FSDP produce). */
  average?: boolean;
}

/**
 * Reduce-scatters named gradients: `shards[b]` receives this rank's shard of bucket b of the sum
 * (or mean) over ranks. Every rank must pass gradients for every parameter of the layouts.
 */
export async function reduceScatterGradients(
  comm: Communicator,
  buckets: GradientBuckets,
  grads: ReadonlyMap<string, Float32Array>,
  shards: readonly Float32Array[],
  options: ReduceScatterOptions = {},
): Promise<void> {
  checkShards(comm, buckets, shards, "reduceScatterGradients");
  await buckets.exclusive(async (flats) => {
    const pending = buckets.layouts.map((layout, b) => {
      packFlat(layout, grads, flats[b]);
      return comm.reduceScatterSum(flats[b], shards[b]);
    });
    await Promise.all(pending);
    if (options.average && comm.size > 1) {
      const scale = 1 / comm.size;
      for (const shard of shards) for (let i = 0; i < shard.length; i++) shard[i] *= scale;
    }
  });
}

/**
 * All-gathers every rank's `shards` into full parameters: each array in `params` (by name) is
 * overwritten; names missing from `params` get new arrays. Returns `params`.
 */
export async function allGatherParams(
  comm: Communicator,
  buckets: GradientBuckets,
  shards: readonly Float32Array[],
  params: Map<string, Float32Array> = new Map(),
): Promise<Map<string, Float32Array>> {
  checkShards(comm, buckets, shards, "allGatherParams");
  return await buckets.exclusive(async (flats) => {
    const pending = buckets.layouts.map((layout, b) => {
      const { start, end } = layout.shardRanges[comm.rank];
      const own = flats[b].subarray(start, end);
      own.set(shards[b]);
      return comm.allGather(own, flats[b]).then(() => unpackFlat(layout, flats[b], params));
    });
    await Promise.all(pending);
    return params;
  });
}

function checkShards(
  comm: Communicator,
  buckets: GradientBuckets,
  shards: readonly Float32Array[],
  caller: string,
): void {
  if (comm.size !== buckets.worldSize) {
    throw new Error(
      `${caller}: buckets were laid out for world size ${buckets.worldSize}, ` +
        `the communicator has ${comm.size}`,
    );
  }
  if (shards.length !== buckets.layouts.length) {
    throw new Error(`${caller}: ${shards.length} shards for ${buckets.layouts.length} buckets`);
  }
  buckets.layouts.forEach((layout, b) => {
    if (shards[b].length !== layout.shardSize) {
      throw new Error(
        `${caller}: shard ${b} has ${shards[b].length} elements, expected ${layout.shardSize}`,
      );
    }
  });
}
