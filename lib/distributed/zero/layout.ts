/**
 * Flat layouts for ZeRO-style data parallelism: an ordered set of named parameters laid end to
 * end in one Float32 buffer, padded with zeros to a multiple of the world size so that rank r
 * owns the contiguous shard `[r·shardSize, (r+1)·shardSize)`. Reduce-scatter of a flat gradient
 * buffer then leaves each rank the summed gradients of exactly the elements whose optimizer state
 * it keeps, and all-gather of the updated shards rebuilds the full parameters.
 *
 * @module
 */

/** One parameter's place in a flat buffer. */
export interface FlatEntry {
  /** Parameter name. */
  name: string;
  /** Number of elements. */
  size: number;
  /** Index of its first element in the flat buffer. */
  offset: number;
}

/** A half-open element range `[start, end)` of a flat buffer. */
export interface ShardRange {
  /** First element. */
  start: number;
  /** One past the last element. */
  end: number;
}

/** Parameters laid end to end, padded to a multiple of the world size. */
export interface FlatLayout {
  /** The parameters in order, with their offsets. */
  entries: FlatEntry[];
  /** Sum of the parameter sizes. */
  numel: number;
  /** `numel` rounded up to a multiple of `worldSize` (the flat buffer's length). */
  paddedNumel: number;
  /** Number of ranks the buffer is sharded over. */
  worldSize: number;
  /** `paddedNumel / worldSize`: the length of every rank's shard. */
  shardSize: number;
  /** Per rank, the range of the flat buffer it owns. */
  shardRanges: ShardRange[];
}

/** The part of one parameter that falls in a rank's shard. */
export interface ShardSegment {
  /** Parameter name. */
  name: string;
  /** First element of the parameter in the segment. */
  paramStart: number;
  /** One past the last element of the parameter in the segment. */
  paramEnd: number;
  /** Index in the shard that holds element `paramStart`. */
  shardStart: number;
}

/** Lays out `names` (with element counts `sizes`) end to end, padded to a multiple of `worldSize`. */
export function flatLayout(
  names: readonly string[],
  sizes: readonly number[],
  worldSize: number,
): FlatLayout {
  if (names.length !== sizes.length) {
    throw new Error(`flatLayout: ${names.length} names but ${sizes.length} sizes`);
  }
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new Error(`flatLayout: world size ${worldSize} is not a positive integer`);
  }
  const entries: FlatEntry[] = [];
  const seen = new Set<string>();
  let offset = 0;
  names.forEach((name, i) => {
    const size = sizes[i];
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`flatLayout: parameter ${name} has size ${size}, expected an integer ≥ 0`);
    }
    if (seen.has(name)) throw new Error(`flatLayout: parameter ${name} appears twice`);
    seen.add(name);
    entries.push({ name, size, offset });
    offset += size;
  });
  const shardSize = Math.ceil(offset / worldSize);
  const shardRanges = Array.from(
    { length: worldSize },
    (_, r) => ({ start: r * shardSize, end: (r + 1) * shardSize }),
  );
  return {
    entries,
    numel: offset,
    paddedNumel: shardSize * worldSize,
    worldSize,
    shardSize,
    shardRanges,
  };
}

/** The pieces of each parameter that lie in `rank`'s shard, in flat order. */
export function shardSegments(layout: FlatLayout, rank: number): ShardSegment[] {
  const range = layout.shardRanges[rank];
  if (range === undefined) {
    throw new Error(`shardSegments: rank ${rank} is not in a world of size ${layout.worldSize}`);
  }
  const segments: ShardSegment[] = [];
  for (const { name, size, offset } of layout.entries) {
    const start = Math.max(range.start, offset);
    const end = Math.min(range.end, offset + size);
    if (start >= end) continue;
    segments.push({
      name,
      paramStart: start - offset,
      paramEnd: end - offset,
      shardStart: start - range.start,
    });
  }
  return segments;
}
