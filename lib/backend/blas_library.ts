/**
 * A native CBLAS library (OpenBLAS, BLIS, Apple Accelerate, ...) loaded through Deno FFI, for
 * the `native` backend's matmul kernels. `cblas_sgemm` and `cblas_sgemv` are required;
 * OpenBLAS's thread controls are used when present.
 *
 * @module
 */

/** Environment variable naming the CBLAS library to load instead of the default candidates. */
export const BLAS_LIB_ENV = "OLMO_BLAS_LIB";

/** What to do when no CBLAS library loads. */
export const BLAS_INSTALL_HINT =
  "install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-pthread; Fedora: dnf install " +
  "openblas-threads; macOS: Apple's Accelerate is used), or point OLMO_BLAS_LIB at a library " +
  "that exports cblas_sgemm and cblas_sgemv. Deno also needs --allow-ffi (deno task does -A).";

/** Libraries tried in order when `OLMO_BLAS_LIB` is unset. */
export function blasLibraryCandidates(os: typeof Deno.build.os = Deno.build.os): string[] {
  if (os === "darwin") {
    return [
      "/System/Library/Frameworks/Accelerate.framework/Accelerate",
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
    ];
  }
  if (os === "windows") return ["libopenblas.dll", "openblas.dll"];
  return ["libopenblas.so.0", "libopenblas.so", "libblis.so.4", "libmkl_rt.so.2"];
}

/** CBLAS row-major layout constant. */
export const CBLAS_ROW_MAJOR = 101;
/** CBLAS "no transpose" constant. */
export const CBLAS_NO_TRANS = 111;
/** CBLAS "transpose" constant. */
export const CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // layout
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "pointer", // A
      "i32", // lda
      "pointer", // B
      "i32", // ldb
      "f32", // beta
      "pointer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: [
      "i32", // layout
      "i32", // trans
      "i32", // M (rows of the matrix as stored)
      "i32", // N (columns)
      "f32", // alpha
      "pointer", // A
      "i32", // lda
      "pointer", // x
      "i32", // incx
      "f32", // beta
      "pointer", // y
      "i32", // incy
    ],
    result: "void",
  },
  // Float64-accumulated dot product of float32 vectors, for accurate norms (accurate_sum.ts).
  cblas_dsdot: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32"],
    result: "f64",
    optional: true,
  },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
} as const;

/** An opened CBLAS library. */
export interface BlasLibrary {
  /** The path or soname it was opened from. */
  readonly path: string;
  /** A description, e.g. OpenBLAS's build config; the path otherwise. */
  readonly description: string;
  /** The raw FFI symbols. */
  readonly symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  /** Threads the library uses, or null when it cannot say. */
  threads(): number | null;
  /** Sets the thread count where the library supports it (OpenBLAS); returns whether it did. */
  setThreads(n: number): boolean;
}

let loaded: BlasLibrary | null = null;

function open(path: string): BlasLibrary {
  const lib = Deno.dlopen(path, SYMBOLS);
  const s = lib.symbols;
  let description = path;
  if (s.openblas_get_config) {
    const config = s.openblas_get_config();
    if (config !== null) description = new Deno.UnsafePointerView(config).getCString();
  }
  return {
    path,
    description,
    symbols: s,
    threads: () => (s.openblas_get_num_threads ? s.openblas_get_num_threads() : null),
    setThreads: (n: number) => {
      if (!s.openblas_set_num_threads) return false;
      s.openblas_set_num_threads(n);
      return true;
    },
  };
}

/**
 * Opens the first of `candidates` that loads and exports the CBLAS symbols. Throws an `Error` listing
 * every failure, with install instructions, when none does.
 */
export function openBlasLibrary(candidates: readonly string[]): BlasLibrary {
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      return open(path);
    } catch (e) {
      failures.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(
    `native backend: no CBLAS library could be loaded (${failures.join("; ")}). ` +
      BLAS_INSTALL_HINT,
  );
}

/**
 * Opens the CBLAS library once per process: `OLMO_BLAS_LIB` if set, else the first of
 * {@link blasLibraryCandidates} that loads (see {@link openBlasLibrary} for errors).
 */
export function loadBlasLibrary(): BlasLibrary {
  if (loaded) return loaded;
  let override: string | undefined;
  try {
    override = Deno.env.get(BLAS_LIB_ENV) || undefined;
  } catch {
    override = undefined; // no --allow-env: use the defaults
  }
  loaded = openBlasLibrary(override ? [override] : blasLibraryCandidates());
  return loaded;
}

/**
 * With `localRanks` ranks on one node (the world's `localSize`, passed by whoever started it),
 * each rank's OpenBLAS would start a thread per core and oversubscribe the node. Unless the user
 * chose `OPENBLAS_NUM_THREADS`, give each rank an equal share of the cores.
 */
export function shareCoresWithLocalRanks(lib: BlasLibrary, localRanks: number): void {
  let chosen: string | undefined;
  try {
    chosen = Deno.env.get("OPENBLAS_NUM_THREADS");
  } catch {
    return; // no --allow-env: keep the library's default
  }
  if (chosen || !(localRanks > 1)) return;
  lib.setThreads(Math.max(1, Math.floor(navigator.hardwareConcurrency / localRanks)));
}

/** True when {@link loadBlasLibrary} succeeds; never throws. */
export function blasLibraryAvailable(): boolean {
  try {
    loadBlasLibrary();
    return true;
  } catch {
    return false;
  }
}
