/**
 * Copy-efficient `Slice`, `SplitV` and `GatherV2` kernels for the wasm backend.
 *
 * tfjs 4.22's wasm `Slice` first reads the *whole* input out of the wasm heap into a fresh JS
 * array (`readSync`) and then copies the slice from it; `SplitV` runs that once per output. A
 * 4096-row slice of a 50304×512 embedding thus copies 98 MiB, and splitting the fused q/k/v
 * projection copies the projection three times. These kernels copy only the sliced box, straight
 * between the input's and the output's heap buffers, in runs as long as the layout allows (one
 * `copyWithin` for a contiguous slice). `GatherV2` along axis 0 (embedding lookups) copies whole
 * rows the same way. The values are the same bytes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The parts of the wasm backend used here. */
interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
  disposeData(dataId: object): boolean;
}

/** Kernel functions installed by this module, to make registration idempotent. */
const installed = new Set<tf.KernelFunc>();

/**
 * Copies the box `[begin, begin + size)` of a row-major tensor of `shape` (elements of `bytes`
 * bytes at byte offset `src`) to byte offset `dst`, densely.
 */
function copyBox(
  heap: Uint8Array,
  src: number,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dst: number,
  bytes: number,
): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  // Innermost axis that is not taken whole: everything after it is one contiguous run.
  let k = rank - 1;
  while (k >= 0 && size[k] === shape[k]) k--;
  if (k < 0) {
    heap.copyWithin(dst, src, src + stride * bytes);
    return;
  }
  const runBytes = size[k] * strides[k] * bytes;
  let start = src;
  for (let i = 0; i <= k; i++) start += begin[i] * strides[i] * bytes;
  // Odometer over the axes before k.
  const index = new Array<number>(k).fill(0);
  let out = dst;
  for (;;) {
    let offset = start;
    for (let i = 0; i < k; i++) offset += index[i] * strides[i] * bytes;
    heap.copyWithin(out, offset, offset + runBytes);
    out += runBytes;
    let axis = k - 1;
    while (axis >= 0 && ++index[axis] === size[axis]) index[axis--] = 0;
    if (axis < 0) return;
  }
}

/** Bytes per element of a wasm tensor (bool is stored as one byte). */
function elementBytes(dtype: tf.DataType): number {
  return dtype === "bool" ? 1 : 4;
}

/** Slices `x` into a new wasm buffer without reading the whole input out of the heap. */
function sliceInto(
  backend: WasmHeapBackend,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (size.some((d) => d === 0)) return out;
  // Offsets after makeOutput: allocating may grow (and replace) the heap buffer.
  copyBox(
    backend.wasm.HEAPU8,
    backend.getMemoryOffset(x.dataId),
    x.shape,
    begin,
    size,
    backend.getMemoryOffset(out.dataId),
    elementBytes(x.dtype),
  );
  return out;
}

function makeSlice(original: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return original.kernelFunc({ inputs, backend, attrs });
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      attrs!.begin as number | number[],
      attrs!.size as number | number[] | undefined,
    );
    return sliceInto(backend as unknown as WasmHeapBackend, x, begin, size);
  };
}

function makeSplitV(original: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return original.kernelFunc({ inputs, backend, attrs });
    const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(
      x as tf.Tensor,
      attrs!.numOrSizeSplits as number | number[],
      axis,
    );
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const part = sliceInto(backend as unknown as WasmHeapBackend, x, [...begin], size);
      begin[axis] += s;
      return part;
    });
  };
}

/** Typed view of a wasm tensor's elements (float32 and int32 share the 4-byte path). */
function heapView(backend: WasmHeapBackend, t: tf.TensorInfo): Int32Array | Uint8Array {
  const offset = backend.getMemoryOffset(t.dataId);
  const size = t.shape.reduce((p, d) => p * d, 1);
  const buffer = backend.wasm.HEAPU8.buffer;
  return t.dtype === "bool"
    ? new Uint8Array(buffer, offset, size)
    : new Int32Array(buffer, offset, size);
}

/** `GatherV2` along axis 0 without batch dims: whole rows copied; other cases unchanged. */
function makeGather(original: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    const indices = inputs.indices as tf.TensorInfo;
    const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
    if (axis !== 0 || (attrs!.batchDims as number) !== 0 || x.dtype === "string") {
      return original.kernelFunc({ inputs, backend, attrs });
    }
    const wasm = backend as unknown as WasmHeapBackend;
    const rows = x.shape[0];
    const row = x.shape.slice(1).reduce((p, d) => p * d, 1);
    const out = wasm.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const idx = heapView(wasm, indices) as Int32Array; // after makeOutput (heap may grow)
    for (let i = 0; i < idx.length; i++) {
      if (!(idx[i] >= 0 && idx[i] < rows)) {
        wasm.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${rows - 1}]`);
      }
    }
    const src = heapView(wasm, x);
    const dst = heapView(wasm, out);
    if (row === 1) {
      for (let i = 0; i < idx.length; i++) dst[i] = src[idx[i]];
    } else {
      for (let i = 0; i < idx.length; i++) {
        dst.set(src.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
      }
    }
    return out;
  };
}

const KERNELS = [["Slice", makeSlice], ["SplitV", makeSplitV], ["GatherV2", makeGather]] as const;

/**
 * Replaces the wasm `Slice`, `SplitV` and `GatherV2` kernels with the copy-efficient ones.
 * Idempotent; requires `@tensorflow/tfjs-backend-wasm` to be imported.
 */
export function registerWasmCopyKernels(): void {
  for (const [kernelName, make] of KERNELS) {
    const original = tf.getKernel(kernelName, "wasm");
    if (original === undefined) {
      throw new Error(
        `wasm_copy_kernels: the wasm '${kernelName}' kernel is not registered; ` +
          "import @tensorflow/tfjs-backend-wasm first",
      );
    }
    if (installed.has(original.kernelFunc)) continue;
    const kernelFunc = make(original);
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ ...original, kernelFunc });
    installed.add(kernelFunc);
  }
}

/** True when the copy-efficient kernels are the registered wasm ones. */
export function areWasmCopyKernelsRegistered(): boolean {
  return KERNELS.every(([name]) => {
    const k = tf.getKernel(name, "wasm");
    return k !== undefined && installed.has(k.kernelFunc);
  });
}
