/**
 * Argument checks shared by every communicator, so a shape bug fails the same way with or
 * without MPI instead of corrupting memory in C.
 *
 * @module
 */

/** Float arrays the reductions accept. */
export type FloatArray = Float32Array | Float64Array;

/** Throws unless `buf.length === size * out.length` and the two arrays do not overlap. */
export function checkReduceScatter(buf: FloatArray, out: FloatArray, size: number): void {
  if (buf.constructor !== out.constructor) {
    throw new Error(
      `reduceScatterSum: input is ${buf.constructor.name} but output is ${out.constructor.name}`,
    );
  }
  if (buf.length !== size * out.length) {
    throw new Error(
      `reduceScatterSum: input has ${buf.length} elements, expected world size ${size} × ` +
        `output length ${out.length} = ${size * out.length}`,
    );
  }
  if (overlaps(buf, out)) throw new Error("reduceScatterSum: input and output overlap");
}

/**
 * Throws unless `out.length === size * shard.length`. The shard may be `out`'s own slice for
 * `rank` (gathered in place); any other overlap is an error.
 */
export function checkAllGather(
  shard: FloatArray,
  out: FloatArray,
  size: number,
  rank: number,
): void {
  if (shard.constructor !== out.constructor) {
    throw new Error(
      `allGather: shard is ${shard.constructor.name} but output is ${out.constructor.name}`,
    );
  }
  if (out.length !== size * shard.length) {
    throw new Error(
      `allGather: output has ${out.length} elements, expected world size ${size} × shard ` +
        `length ${shard.length} = ${size * shard.length}`,
    );
  }
  if (overlaps(shard, out) && !isRankSlice(shard, out, rank)) {
    throw new Error(`allGather: shard overlaps the output but is not its slice for rank ${rank}`);
  }
}

/** Throws unless `root` is a valid rank. */
export function checkRoot(root: number, size: number): void {
  if (!Number.isInteger(root) || root < 0 || root >= size) {
    throw new Error(`broadcast: root ${root} is not a rank of a world of size ${size}`);
  }
}

/** True when `shard` is exactly `out.subarray(rank * n, (rank + 1) * n)`. */
export function isRankSlice(shard: FloatArray, out: FloatArray, rank: number): boolean {
  return shard.buffer === out.buffer &&
    shard.byteOffset === out.byteOffset + rank * shard.byteLength;
}

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
