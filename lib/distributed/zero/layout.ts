/**
 * The flat layout of ZeRO data parallelism and of sharded checkpoints (one type, one set of
 * range rules): the named parameters laid end to end in model order in one float32 vector of
 * `numel` elements, cut into `worldSize` shards of `shardSize = ⌈numel / worldSize⌉`.
 *
 * - In memory (ZeRO) the vector is padded with zeros to `paddedNumel = shardSize · worldSize`,
 *   and rank r's shard is the buffer range `[r·shardSize, (r+1)·shardSize)`. Reduce-scatter of a
 *   flat gradient buffer then leaves each rank the summed gradients of exactly the elements whose
 *   optimizer state it keeps, and all-gather of the updated shards rebuilds the parameters.
 * - Of the real elements, rank r owns `ranks[r] = [min(r·shardSize, numel),
 *   min((r+1)·shardSize, numel))`: the part of its shard before the padding, which is what a
 *   sharded checkpoint stores for it (`rank{r}.safetensors`).
 *
 * @module
 */

/** One parameter's place in the flat vector. */
export interface FlatParam {
  /** Parameter name. */
  name: string;
  /** The parameter's full shape. */
  shape: number[];
  /** Number of elements (the product of `shape`). */
  size: number;
  /** Index of its first element in the flat vector. */
  offset: number;
}

/** A half-open element range `[start, end)` of the flat vector. */
export interface ShardRange {
  /** First element. */
  start: number;
  /** One past the last element. */
  end: number;
}

/** Parameters laid end to end and cut into equal shards, one per rank. */
export interface FlatLayout {
  /** The parameters in order, with their offsets. */
  params: FlatParam[];
  /** Sum of the parameter sizes. */
  numel: number;
  /** Number of ranks the vector is sharded over. */
  worldSize: number;
  /** `⌈numel / worldSize⌉`: the length of every rank's (padded) shard. */
  shardSize: number;
  /** `shardSize · worldSize`: the length of the padded in-memory buffer. */
  paddedNumel: number;
  /** Per rank, the real elements it owns (its shard without the padding). */
  ranks: ShardRange[];
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

/**
 * Lays out `params` (name and shape, in order) end to end and shards them over `worldSize`.
 * @throws Error for a bad world size, a negative or fractional dimension, or a repeated name.
 */
export function flatLayout(
  params: Iterable<readonly [string, { readonly shape: readonly number[] }]>,
  worldSize: number,
): FlatLayout {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new Error(`flatLayout: world size ${worldSize} is not a positive integer`);
  }
  const out: FlatParam[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const [name, { shape }] of params) {
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(
        `flatLayout: parameter ${name} has shape ${JSON.stringify(shape)}, expected integers ≥ 0`,
      );
    }
    if (seen.has(name)) throw new Error(`flatLayout: parameter ${name} appears twice`);
    seen.add(name);
    const size = shape.reduce((a, b) => a * b, 1);
    out.push({ name, shape: [...shape], size, offset });
    offset += size;
  }
  const shardSize = Math.ceil(offset / worldSize);
  const ranks = Array.from({ length: worldSize }, (_, r) => ({
    start: Math.min(r * shardSize, offset),
    end: Math.min((r + 1) * shardSize, offset),
  }));
  return {
    params: out,
    numel: offset,
    worldSize,
    shardSize,
    paddedNumel: shardSize * worldSize,
    ranks,
  };
}

/** The pieces of each parameter that lie in `rank`'s shard, in flat order. */
export function shardSegments(layout: FlatLayout, rank: number): ShardSegment[] {
  const range = layout.ranks[rank];
  if (range === undefined) {
    throw new Error(`shardSegments: rank ${rank} is not in a world of size ${layout.worldSize}`);
  }
  const segments: ShardSegment[] = [];
  for (const { name, size, offset } of layout.params) {
    const start = Math.max(range.start, offset);
    const end = Math.min(range.end, offset + size);
    if (start >= end) continue;
    segments.push({
      name,
      paramStart: start - offset,
      paramEnd: end - offset,
      shardStart: start - rank * layout.shardSize,
    });
  }
  return segments;
}

/**
 * Why a sharded checkpoint's layout `found` cannot be restored by a run with layout `expected`,
 * or null when they agree (same parameters, shapes and order, same world size).
 */
export function layoutMismatch(expected: FlatLayout, found: FlatLayout): string | null {
  const names = (l: FlatLayout) => l.params.map((p) => `${p.name}[${p.shape.join(",")}]`);
  const want = names(expected);
  const got = names(found);
  const firstDiff = want.findIndex((n, i) => n !== got[i]);
  if (want.length !== got.length || firstDiff >= 0) {
    const at = firstDiff >= 0 ? firstDiff : Math.min(want.length, got.length);
    return `the checkpoint's parameters differ from this model's (entry ${at}: checkpoint has ` +
      `${got[at] ?? "nothing"}, the model has ${want[at] ?? "nothing"})`;
  }
  const ranges = (l: FlatLayout) => JSON.stringify(l.ranks.map((r) => [r.start, r.end]));
  if (ranges(expected) !== ranges(found)) {
    return `the checkpoint's rank ranges ${ranges(found)} differ from this run's ${
      ranges(expected)
    }`;
  }
  return null;
}
