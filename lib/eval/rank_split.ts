/**
 * PyTorch's `DistributedSampler(shuffle=False)` over `n` items, as OLMo splits a downstream
 * task's requests across ranks: the index list is padded by repeating it from the start to a
 * multiple of the world size (or, with `drop_last`, cut to one), and rank `r` takes every
 * `size`-th entry starting at `r`.
 *
 * @module
 */

/** The split of `n` items over `size` ranks. */
export interface RankSplit {
  /** Item index at each padded position (length `size × perRank`). */
  indices: number[];
  /** Positions per rank. */
  perRank: number;
}

/** `DistributedSampler` indices for `n` items over `size` ranks. */
export function distributedSplit(n: number, size: number, dropLast: boolean): RankSplit {
  const perRank = dropLast && n % size !== 0 ? Math.ceil((n - size) / size) : Math.ceil(n / size);
  const total = perRank * size;
  const indices = Array.from({ length: n }, (_, i) => i);
  if (total <= n) return { indices: indices.slice(0, total), perRank };
  const padded = [...indices];
  while (padded.length < total) padded.push(...indices.slice(0, total - padded.length));
  return { indices: padded, perRank };
}

/** The padded positions rank `rank` evaluates, in its order. */
export function rankPositions(split: RankSplit, rank: number, size: number): number[] {
  return Array.from({ length: split.perRank }, (_, i) => rank + i * size);
}
