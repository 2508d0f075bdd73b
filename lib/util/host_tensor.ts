/**
 * Host-side tensors: plain typed arrays with a dtype and shape, used for checkpoint I/O
 * (safetensors, torch `model.pt`) and for exchanging named parameter sets between modules
 * without going through a tfjs backend.
 *
 * @module
 */

/** Element types a host tensor may hold (names as in safetensors, lower-cased to tfjs style). */
export type HostDType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "uint16"
  | "uint32"
  | "bool";

/** The typed array that stores each dtype. float16/bfloat16 keep their raw 16-bit words. */
export type HostData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array;

/** A tensor held in host memory. `data.length` equals the product of `shape`. */
export interface HostTensor {
  /** Element type. */
  dtype: HostDType;
  /** Dimensions, outermost first. `[]` is a scalar. */
  shape: number[];
  /** Row-major (C-order) elements. */
  data: HostData;
}

/** An ordered set of named host tensors, e.g. a model state dict. */
export type NamedHostTensors = Map<string, HostTensor>;

/** Bytes per element of each host dtype. */
export const ITEM_SIZE: Record<HostDType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  bool: 1,
};

/** The typed array of `dtype` over `buf` (from byte 0, `length` elements or all). */
export function typedArrayOf(dtype: HostDType, buf: ArrayBuffer, length?: number): HostData {
  switch (dtype) {
    case "float32":
      return new Float32Array(buf, 0, length);
    case "float64":
      return new Float64Array(buf, 0, length);
    case "int64":
      return new BigInt64Array(buf, 0, length);
    case "int32":
      return new Int32Array(buf, 0, length);
    case "int16":
      return new Int16Array(buf, 0, length);
    case "int8":
      return new Int8Array(buf, 0, length);
    case "uint32":
      return new Uint32Array(buf, 0, length);
    case "float16":
    case "bfloat16":
    case "uint16":
      return new Uint16Array(buf, 0, length);
    case "uint8":
    case "bool":
      return new Uint8Array(buf, 0, length);
  }
}

/** Number of elements of a shape (1 for a scalar). */
export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Converts IEEE half-precision bit patterns to float32. */
export function float16ToFloat32(words: Uint16Array): Float32Array {
  const out = new Float32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const h = words[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** Converts bfloat16 bit patterns (the upper 16 bits of a float32) to float32. */
export function bfloat16ToFloat32(words: Uint16Array): Float32Array {
  const bits = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) bits[i] = words[i] << 16;
  return new Float32Array(bits.buffer);
}

/**
 * Returns the tensor's values as float32, converting from any floating or integer dtype.
 * float32 input is returned as is (not copied).
 */
export function toFloat32(t: HostTensor): Float32Array {
  switch (t.dtype) {
    case "float32":
      return t.data as Float32Array;
    case "float16":
      return float16ToFloat32(t.data as Uint16Array);
    case "bfloat16":
      return bfloat16ToFloat32(t.data as Uint16Array);
    case "int64":
      return Float32Array.from(t.data as BigInt64Array, (v) => Number(v));
    default:
      return Float32Array.from(t.data as ArrayLike<number>);
  }
}
