/**
 * Strided views over flat storages (how torch describes tensors: offset, size, stride) and
 * their materialisation as C-order typed arrays.
 *
 * @module
 */
import type { HostData, HostDType } from "../../util/host_tensor.ts";
import { ITEM_SIZE, numElements, typedArrayOf } from "../../util/host_tensor.ts";

/** A strided view into a flat storage of `dtype` elements (torch's `as_strided` arguments). */
export interface StridedView {
  /** Element type of the storage. */
  dtype: HostDType;
  /** First element, in storage elements. */
  offset: number;
  /** View dimensions. */
  shape: number[];
  /** Storage elements between neighbours along each dimension. */
  stride: number[];
}

/** True when the view's strides are C-order (dimensions of size 1 may have any stride). */
export function isContiguousView(ref: StridedView): boolean {
  for (let d = ref.shape.length - 1, expected = 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expected) return false;
    expected *= ref.shape[d];
  }
  return true;
}

/** Copies the strided view `ref` out of `storage` into a fresh C-order array. */
export function materialiseView(ref: StridedView, storage: HostData, where: string): HostData {
  const n = numElements(ref.shape);
  if (n > 0) {
    let last = ref.offset;
    for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d];
    if (last >= storage.length) {
      throw new Error(
        `${where}: view (offset ${ref.offset}, size ${JSON.stringify(ref.shape)}, stride ${
          JSON.stringify(ref.stride)
        }) reaches element ${last} of a ${storage.length}-element storage`,
      );
    }
  }
  if (isContiguousView(ref)) return storage.slice(ref.offset, ref.offset + n);
  const out = typedArrayOf(ref.dtype, new ArrayBuffer(n * ITEM_SIZE[ref.dtype]));
  const src = storage as unknown as ArrayLike<unknown> & { [i: number]: unknown };
  const dst = out as unknown as { [i: number]: unknown };
  const rank = ref.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = ref.offset;
  const inner = ref.shape[rank - 1];
  const innerStride = ref.stride[rank - 1];
  for (let o = 0; o < n; o += inner) {
    for (let i = 0; i < inner; i++) dst[o + i] = src[at + i * innerStride];
    // Advance the outer-dimension counters (odometer).
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      at += ref.stride[d];
      if (index[d] < ref.shape[d]) break;
      at -= index[d] * ref.stride[d];
      index[d] = 0;
    }
  }
  return out;
}
