/**
 * oneDNN (Debian `libdnnl2`, the CPU engine under PyTorch) through Deno FFI: element-wise,
 * binary (broadcasting), softmax and reorder (transpose, strided copies) primitives on float32 host buffers,
 * multi-threaded (OpenMP) and vectorised (AVX-512 where the CPU has it).
 *
 * The C API of oneDNN 2.x is used without its headers: descriptors are opaque byte buffers that
 * the library fills in (sizes below, generously rounded up from `sizeof` in 2.6.3), and handles
 * are pointers. A primitive is created once per (operation, shapes) and cached, because
 * creating one costs 10–100 µs; executing it costs a few FFI calls (~2 µs).
 *
 * @module
 */

/** Library sonames tried in order. */
export const DNNL_LIBRARY_CANDIDATES: readonly string[] = ["libdnnl.so.2", "libdnnl.so"];

/** What to install when oneDNN does not load. */
export const DNNL_INSTALL_HINT = "install oneDNN: apt-get install libdnnl2 (Debian/Ubuntu)";

/** Bytes of `dnnl_memory_desc_t` (696 in 2.6.3). */
const MD_BYTES = 1024;
/** Bytes of any op descriptor (binary, the largest used, is 2096 in 2.6.3). */
const OP_DESC_BYTES = 4096;
const MAX_NDIMS = 12;

const F32 = 3;
const FORWARD_INFERENCE = 96;
const CPU_ENGINE = 1;
const STREAM_DEFAULT_FLAGS = 1;
const ARG_SRC_0 = 1;
const ARG_SRC_1 = 2;
const ARG_DST = 17;

/** oneDNN eltwise algorithms (`dnnl_alg_kind_t`). */
export const Eltwise = {
  relu: 0x1f,
  tanh: 0x2f,
  square: 0x4f,
  abs: 0x5f,
  sqrt: 0x6f,
  linear: 0x7f,
  logistic: 0xaf,
  exp: 0xbf,
  pow: 0x20,
} as const;

/** oneDNN binary algorithms. */
export const Binary = {
  add: 0x1fff0,
  mul: 0x1fff1,
  max: 0x1fff2,
  min: 0x1fff3,
  div: 0x1fff4,
  sub: 0x1fff5,
} as const;

const SOFTMAX_ACCURATE = 0x30000;
const REDUCTION_MAX = 196594;
const SOFTMAX_LOG = 196609;

const SYMBOLS = {
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_eltwise_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_binary_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_softmax_v2_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "buffer", "i32"],
    result: "i32",
  },
  dnnl_reduction_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "buffer", "pointer", "pointer"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** libgomp, the OpenMP runtime Debian's oneDNN is built with (for its thread count). */
const OPENMP_LIBRARY = "libgomp.so.1";

/** A created primitive with its memory objects, run on new buffers each call. */
interface CachedPrimitive {
  primitive: Deno.PointerValue;
  /** Memory objects in argument order (their data handles are set per call). */
  memories: Deno.PointerValue[];
  /** The `dnnl_exec_arg_t` array (16 bytes each). */
  args: Uint8Array;
}

/** A float32 buffer argument: the array, or its start pointer. */
type Buffer = Float32Array;

/** An opened oneDNN library with a CPU engine, a stream and a primitive cache. */
export class Dnnl {
  readonly #s: Symbols;
  readonly #engine: Deno.PointerValue;
  readonly #stream: Deno.PointerValue;
  readonly #cache = new Map<string, CachedPrimitive>();

  private constructor(symbols: Symbols) {
    this.#s = symbols;
    const out = new BigUint64Array(1);
    this.#check(symbols.dnnl_engine_create(out, CPU_ENGINE, 0n), "dnnl_engine_create");
    this.#engine = Deno.UnsafePointer.create(out[0]);
    this.#check(
      symbols.dnnl_stream_create(out, this.#engine, STREAM_DEFAULT_FLAGS),
      "dnnl_stream_create",
    );
    this.#stream = Deno.UnsafePointer.create(out[0]);
  }

  /**
   * Opens the first loadable of {@link DNNL_LIBRARY_CANDIDATES}; throws the install hint.
   *
   * Idle OpenMP threads spin by default (`OMP_WAIT_POLICY=active`), which on a 2-core machine
   * steals the core from OpenBLAS's threads and the JS thread. bench-small steps, measured in
   * alternating processes: 1.48–1.88 s spinning, 1.01–1.16 s with `OMP_WAIT_POLICY=passive`,
   * 1.20–1.37 s with one OpenMP thread. libgomp reads the policy only from the environment, when
   * it loads, and a library must not set the environment; so when neither `OMP_WAIT_POLICY` nor
   * `OMP_NUM_THREADS` is set, oneDNN runs on one OpenMP thread (no idle spinner), and the
   * `deno task` commands set `OMP_WAIT_POLICY=passive`, which keeps every thread.
   */
  static open(candidates: readonly string[] = DNNL_LIBRARY_CANDIDATES): Dnnl {
    const failures: string[] = [];
    for (const path of candidates) {
      try {
        const dnnl = new Dnnl(Deno.dlopen(path, SYMBOLS).symbols);
        if (envUnset("OMP_WAIT_POLICY") && envUnset("OMP_NUM_THREADS")) setOpenMpThreads(1);
        return dnnl;
      } catch (e) {
        failures.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    throw new Error(
      `native engine: oneDNN could not be loaded (${failures.join("; ")}); ` +
        DNNL_INSTALL_HINT,
    );
  }

  /**
   * Gives oneDNN `1/localRanks` of the cores (OpenMP's `omp_set_num_threads` for the calling
   * thread, which is the one running every primitive) unless `OMP_NUM_THREADS` is set; a no-op
   * for one rank.
   */
  shareCores(localRanks: number): void {
    if (!(localRanks > 1) || !envUnset("OMP_NUM_THREADS")) return;
    setOpenMpThreads(Math.max(1, Math.floor(navigator.hardwareConcurrency / localRanks)));
  }

  #check(status: number, what: string): void {
    if (status !== 0) throw new Error(`oneDNN ${what} failed with status ${status}`);
  }

  /** A memory descriptor of float32 `dims` with element `strides`. */
  #md(dims: readonly number[], strides: readonly number[]): Uint8Array {
    const md = new Uint8Array(MD_BYTES);
    const d = new BigInt64Array(MAX_NDIMS);
    const s = new BigInt64Array(MAX_NDIMS);
    dims.forEach((v, i) => (d[i] = BigInt(v)));
    strides.forEach((v, i) => (s[i] = BigInt(v)));
    this.#check(
      this.#s.dnnl_memory_desc_init_by_strides(md, dims.length, d, F32, s),
      "dnnl_memory_desc_init_by_strides",
    );
    return md;
  }

  /** A dense row-major memory descriptor. */
  #dense(dims: readonly number[]): Uint8Array {
    return this.#md(dims, denseStrides(dims));
  }

  /** Creates the primitive of a primitive descriptor (destroyed after) with memories for mds. */
  #build(pd: Deno.PointerValue, argKinds: number[], mds: Uint8Array[]): CachedPrimitive {
    const out = new BigUint64Array(1);
    this.#check(this.#s.dnnl_primitive_create(out, pd), "dnnl_primitive_create");
    const primitive = Deno.UnsafePointer.create(out[0]);
    this.#s.dnnl_primitive_desc_destroy(pd);
    const args = new Uint8Array(16 * argKinds.length);
    const view = new DataView(args.buffer);
    const memories = mds.map((md, i) => {
      this.#check(this.#s.dnnl_memory_create(out, md, this.#engine, null), "dnnl_memory_create");
      view.setInt32(16 * i, argKinds[i], true);
      view.setBigUint64(16 * i + 8, out[0], true);
      return Deno.UnsafePointer.create(out[0]);
    });
    return { primitive, memories, args };
  }

  /** The primitive descriptor of an op descriptor. */
  #pd(opDesc: Uint8Array): Deno.PointerValue {
    const out = new BigUint64Array(1);
    this.#check(
      this.#s.dnnl_primitive_desc_create(out, opDesc, null, this.#engine, null),
      "dnnl_primitive_desc_create",
    );
    return Deno.UnsafePointer.create(out[0]);
  }

  #run(p: CachedPrimitive, buffers: Buffer[]): void {
    buffers.forEach((b, i) =>
      this.#s.dnnl_memory_set_data_handle(p.memories[i], Deno.UnsafePointer.of(b))
    );
    this.#check(
      this.#s.dnnl_primitive_execute(p.primitive, this.#stream, buffers.length, p.args),
      "execute",
    );
    this.#check(this.#s.dnnl_stream_wait(this.#stream), "dnnl_stream_wait");
  }

  /** `dst = f(src)` element-wise (`alpha`, `beta` as oneDNN defines them per algorithm). */
  eltwise(alg: number, src: Buffer, dst: Buffer, alpha = 0, beta = 0): void {
    const key = `e${alg},${src.length},${alpha},${beta}`;
    let p = this.#cache.get(key);
    if (!p) {
      const md = this.#dense([src.length]);
      const desc = new Uint8Array(OP_DESC_BYTES);
      this.#check(
        this.#s.dnnl_eltwise_forward_desc_init(desc, FORWARD_INFERENCE, alg, md, alpha, beta),
        "dnnl_eltwise_forward_desc_init",
      );
      p = this.#build(this.#pd(desc), [ARG_SRC_0, ARG_DST], [md, md]);
      this.#cache.set(key, p);
    }
    this.#run(p, [src, dst]);
  }

  /**
   * `dst = a ∘ b` where `a` has the shape `dims` of `dst` and `b` has `bDims` (equal to `dims`
   * or 1 on every axis: oneDNN broadcasts the second source only).
   */
  binary(
    alg: number,
    dims: readonly number[],
    bDims: readonly number[],
    a: Buffer,
    b: Buffer,
    dst: Buffer,
  ): void {
    const key = `b${alg},${dims},${bDims}`;
    let p = this.#cache.get(key);
    if (!p) {
      const mdA = this.#dense(dims);
      const mdB = this.#dense(bDims);
      const desc = new Uint8Array(OP_DESC_BYTES);
      this.#check(this.#s.dnnl_binary_desc_init(desc, alg, mdA, mdB, mdA), "dnnl_binary_desc_init");
      p = this.#build(this.#pd(desc), [ARG_SRC_0, ARG_SRC_1, ARG_DST], [mdA, mdB, mdA]);
      this.#cache.set(key, p);
    }
    this.#run(p, [a, b, dst]);
  }

  /** Softmax (or log-softmax) over the last axis of `(rows, cols)` values. */
  softmax(rows: number, cols: number, src: Buffer, dst: Buffer, log = false): void {
    const key = `s${rows},${cols},${log}`;
    let p = this.#cache.get(key);
    if (!p) {
      const md = this.#dense([rows, cols]);
      const desc = new Uint8Array(OP_DESC_BYTES);
      this.#check(
        this.#s.dnnl_softmax_v2_forward_desc_init(
          desc,
          FORWARD_INFERENCE,
          log ? SOFTMAX_LOG : SOFTMAX_ACCURATE,
          md,
          md,
          1,
        ),
        "dnnl_softmax_v2_forward_desc_init",
      );
      p = this.#build(this.#pd(desc), [ARG_SRC_0, ARG_DST], [md, md]);
      this.#cache.set(key, p);
    }
    this.#run(p, [src, dst]);
  }

  /**
   * The maximum of each of `rows` runs of `cols` values (a reduction primitive; only `max` is
   * used: it needs no accumulation, and oneDNN's sums accumulate in float32).
   */
  rowMax(rows: number, cols: number, src: Buffer, dst: Buffer): void {
    const key = `m${rows},${cols}`;
    let p = this.#cache.get(key);
    if (!p) {
      const mdSrc = this.#dense([rows, cols]);
      const mdDst = this.#dense([rows, 1]);
      const desc = new Uint8Array(OP_DESC_BYTES);
      this.#check(
        this.#s.dnnl_reduction_desc_init(desc, REDUCTION_MAX, mdSrc, mdDst, 0, 0),
        "dnnl_reduction_desc_init",
      );
      p = this.#build(this.#pd(desc), [ARG_SRC_0, ARG_DST], [mdSrc, mdDst]);
      this.#cache.set(key, p);
    }
    this.#run(p, [src, dst]);
  }

  /**
   * Copies a strided view of `src` into `dst` of shape `dims`: strides in elements, `dst` dense
   * unless `dstStrides` are given (a transpose passes the permuted strides of the input; a
   * concatenation writes each input into its columns of the output).
   */
  reorder(
    dims: readonly number[],
    srcStrides: readonly number[],
    src: Buffer,
    dst: Buffer,
    dstStrides: readonly number[] = denseStrides(dims),
  ): void {
    const key = `r${dims},${srcStrides},${dstStrides}`;
    let p = this.#cache.get(key);
    if (!p) {
      const mdSrc = this.#md(dims, srcStrides);
      const mdDst = this.#md(dims, dstStrides);
      const out = new BigUint64Array(1);
      this.#check(
        this.#s.dnnl_reorder_primitive_desc_create(
          out,
          mdSrc,
          this.#engine,
          mdDst,
          this.#engine,
          null,
        ),
        "dnnl_reorder_primitive_desc_create",
      );
      p = this.#build(Deno.UnsafePointer.create(out[0]), [ARG_SRC_0, ARG_DST], [mdSrc, mdDst]);
      this.#cache.set(key, p);
    }
    this.#run(p, [src, dst]);
  }
}

/** True when the environment variable `name` is unset or empty (or unreadable). */
function envUnset(name: string): boolean {
  try {
    return !Deno.env.get(name);
  } catch {
    return true; // no --allow-env
  }
}

/**
 * libgomp's `omp_set_num_threads(n)` for the calling thread; nothing when libgomp cannot be
 * opened (another OpenMP runtime keeps its own setting).
 */
function setOpenMpThreads(n: number): void {
  try {
    const gomp = Deno.dlopen(OPENMP_LIBRARY, {
      omp_set_num_threads: { parameters: ["i32"], result: "void" },
    });
    gomp.symbols.omp_set_num_threads(n);
  } catch {
    // keep the runtime's default
  }
}

/** Row-major element strides of `dims`. */
export function denseStrides(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
  return strides;
}
