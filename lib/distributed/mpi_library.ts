/**
 * Finds and opens the MPI shared library through Deno FFI, for both MPI ABIs:
 * - MPICH ABI (MPICH, Intel MPI, Cray MPICH, MVAPICH): handles are 32-bit ints;
 * - Open MPI ABI: handles are the addresses of exported globals (`&ompi_mpi_comm_world`).
 *
 * The library is chosen from the launcher's environment (MPICH hydra sets `PMI_*`, Open MPI sets
 * `OMPI_COMM_WORLD_*`), `MPI_LIB` overrides. It is preloaded with libc `dlopen(RTLD_GLOBAL)`
 * because `Deno.dlopen` loads RTLD_LOCAL, which breaks MPI builds whose plugins resolve MPI
 * symbols globally.
 *
 * @module
 */

/** Environment variable that names the MPI library to load (a soname or a path). */
export const MPI_LIB_ENV = "MPI_LIB";

/** The MPICH-ABI soname (Debian `libmpich12`). */
export const MPICH_SONAME = "libmpich.so.12";
/** The Open MPI 4.x/5.x soname (Debian `libopenmpi3`). */
export const OPENMPI_SONAME = "libmpi.so.40";
/** Soname of MPICH-ABI vendor builds (Intel MPI, MVAPICH). */
const MPICH_ABI_VENDOR_SONAME = "libmpi.so.12";

/** Which handle representation the loaded library uses. */
export type MpiAbi = "mpich" | "openmpi";

/** An MPI handle: an int (MPICH ABI) or the address of a global (Open MPI ABI). */
export type MpiHandle = number | Deno.PointerValue;

// MPICH ABI constants, from mpich/mpi.h.
const MPICH_COMM_WORLD = 0x44000000;
const MPICH_FLOAT = 0x4c00040a;
const MPICH_DOUBLE = 0x4c00080b;
const MPICH_BYTE = 0x4c00010d;
const MPICH_SUM = 0x58000003;
const MPICH_MAX = 0x58000001;
const MPICH_MIN = 0x58000002;

const RTLD_NOW = 2;
const RTLD_GLOBAL = 0x100;

/** The predefined handles of the loaded library. */
export interface MpiHandles {
  /** `MPI_COMM_WORLD`. */
  commWorld: MpiHandle;
  /** `MPI_FLOAT`. */
  float: MpiHandle;
  /** `MPI_DOUBLE`. */
  double: MpiHandle;
  /** `MPI_BYTE`. */
  byte: MpiHandle;
  /** `MPI_SUM`. */
  sum: MpiHandle;
  /** `MPI_MAX`. */
  max: MpiHandle;
  /** `MPI_MIN`. */
  min: MpiHandle;
  /** `MPI_IN_PLACE`: `(void*)-1` in MPICH, `(void*)1` in Open MPI. */
  inPlace: Deno.PointerValue;
}

/**
 * FFI declarations, parameterised by the handle type. Collectives are `nonblocking` (they run on
 * Deno's blocking thread pool so the event loop stays live) and take data as `"buffer"` (passing
 * typed arrays directly is ~1 µs cheaper per call than `UnsafePointer.of`). The `_in_place`
 * variants declare the send buffer as `"pointer"` to pass the `MPI_IN_PLACE` sentinel.
 */
function mpiSymbols<H extends "i32" | "pointer">(handle: H) {
  return {
    MPI_Init_thread: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
    MPI_Initialized: { parameters: ["buffer"], result: "i32" },
    MPI_Finalize: { parameters: [], result: "i32" },
    MPI_Abort: { parameters: [handle, "i32"], result: "i32" },
    MPI_Comm_rank: { parameters: [handle, "buffer"], result: "i32" },
    MPI_Comm_size: { parameters: [handle, "buffer"], result: "i32" },
    MPI_Get_library_version: { parameters: ["buffer", "buffer"], result: "i32" },
    MPI_Barrier: { parameters: [handle], result: "i32", nonblocking: true },
    MPI_Allreduce_in_place: {
      name: "MPI_Allreduce",
      // (sendbuf = MPI_IN_PLACE, recvbuf, count, datatype, op, comm)
      parameters: ["pointer", "buffer", "i32", handle, handle, handle],
      result: "i32",
      nonblocking: true,
    },
    MPI_Reduce_scatter_block: {
      // (sendbuf, recvbuf, recvcount, datatype, op, comm)
      parameters: ["buffer", "buffer", "i32", handle, handle, handle],
      result: "i32",
      nonblocking: true,
    },
    MPI_Reduce: {
      // (sendbuf, recvbuf, count, datatype, op, root, comm)
      parameters: ["buffer", "buffer", "i32", handle, handle, "i32", handle],
      result: "i32",
      nonblocking: true,
    },
    MPI_Allgather: {
      // (sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm)
      parameters: ["buffer", "i32", handle, "buffer", "i32", handle, handle],
      result: "i32",
      nonblocking: true,
    },
    MPI_Allgather_in_place: {
      name: "MPI_Allgather",
      parameters: ["pointer", "i32", handle, "buffer", "i32", handle, handle],
      result: "i32",
      nonblocking: true,
    },
    MPI_Bcast: {
      // (buffer, count, datatype, root, comm)
      parameters: ["buffer", "i32", handle, "i32", handle],
      result: "i32",
      nonblocking: true,
    },
    // Open MPI exports its predefined handles as globals; absent (null) in MPICH-ABI libraries.
    ompi_mpi_comm_world: { type: "pointer", optional: true },
    ompi_mpi_float: { type: "pointer", optional: true },
    ompi_mpi_double: { type: "pointer", optional: true },
    ompi_mpi_byte: { type: "pointer", optional: true },
    ompi_mpi_op_sum: { type: "pointer", optional: true },
    ompi_mpi_op_max: { type: "pointer", optional: true },
    ompi_mpi_op_min: { type: "pointer", optional: true },
  } as const;
}

/** The typed FFI symbols of an opened MPI library. */
export type MpiSymbols = Deno.DynamicLibrary<ReturnType<typeof mpiSymbols<"i32" | "pointer">>>[
  "symbols"
];

/** An opened MPI library. */
export interface MpiLibrary {
  /** The soname or path that was opened. */
  path: string;
  /** The handle ABI, detected from the exported symbols. */
  abi: MpiAbi;
  /** The FFI functions. */
  symbols: MpiSymbols;
  /** The predefined handles. */
  handles: MpiHandles;
}

/**
 * The libraries to try, most likely first, chosen from the launcher's environment.
 * `MPI_LIB` (if set) is the only candidate.
 */
export function mpiLibraryCandidates(env: (name: string) => string | undefined): string[] {
  const override = env(MPI_LIB_ENV);
  if (override !== undefined && override !== "") return [override];
  const openMpiLaunched = env("OMPI_COMM_WORLD_SIZE") !== undefined ||
    env("PMIX_RANK") !== undefined;
  if (openMpiLaunched) return [OPENMPI_SONAME, MPICH_SONAME, MPICH_ABI_VENDOR_SONAME];
  return [MPICH_SONAME, MPICH_ABI_VENDOR_SONAME, OPENMPI_SONAME];
}

/** libc `dlopen(path, RTLD_NOW | RTLD_GLOBAL)`; returns null on success or the dlerror text. */
function preloadGlobal(libc: LibC, path: string): string | null {
  const handle = libc.symbols.dlopen(new TextEncoder().encode(path + "\0"), RTLD_NOW | RTLD_GLOBAL);
  if (handle !== null) return null;
  const message = libc.symbols.dlerror();
  return message === null ? "dlopen failed" : Deno.UnsafePointerView.getCString(message);
}

const LIBC_SYMBOLS = {
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlerror: { parameters: [], result: "pointer" },
} as const;
type LibC = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

function openLibC(): LibC | null {
  try {
    return Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch {
    return null; // not glibc: skip the RTLD_GLOBAL preload, Deno.dlopen still works
  }
}

function handlesFor(abi: MpiAbi, s: MpiSymbols): MpiHandles {
  if (abi === "mpich") {
    return {
      commWorld: MPICH_COMM_WORLD,
      float: MPICH_FLOAT,
      double: MPICH_DOUBLE,
      byte: MPICH_BYTE,
      sum: MPICH_SUM,
      max: MPICH_MAX,
      min: MPICH_MIN,
      inPlace: Deno.UnsafePointer.create(0xffffffffffffffffn),
    };
  }
  const required = {
    commWorld: s.ompi_mpi_comm_world,
    float: s.ompi_mpi_float,
    double: s.ompi_mpi_double,
    byte: s.ompi_mpi_byte,
    sum: s.ompi_mpi_op_sum,
    max: s.ompi_mpi_op_max,
    min: s.ompi_mpi_op_min,
  };
  for (const [name, value] of Object.entries(required)) {
    if (value === null) throw new Error(`Open MPI library lacks the global for MPI ${name}`);
  }
  return { ...required, inPlace: Deno.UnsafePointer.create(1n) };
}

/**
 * Opens the first MPI library that loads, detects its ABI and returns its symbols and handles.
 * Throws one error listing every candidate and its loader message when none loads.
 */
export function openMpiLibrary(env: (name: string) => string | undefined): MpiLibrary {
  const candidates = mpiLibraryCandidates(env);
  const libc = openLibC();
  const failures: string[] = [];
  for (const path of candidates) {
    const preloadError = libc === null ? null : preloadGlobal(libc, path);
    if (preloadError !== null) {
      failures.push(`  ${path}: ${preloadError}`);
      continue;
    }
    let opened;
    try {
      opened = Deno.dlopen(path, mpiSymbols<"i32" | "pointer">("i32"));
    } catch (error) {
      failures.push(`  ${path}: ${(error as Error).message}`);
      continue;
    }
    if (opened.symbols.ompi_mpi_comm_world === null) {
      return {
        path,
        abi: "mpich",
        symbols: opened.symbols,
        handles: handlesFor("mpich", opened.symbols),
      };
    }
    // Open MPI ABI: reopen with pointer-typed handle parameters (same library, refcounted).
    opened.close();
    const lib = Deno.dlopen(path, mpiSymbols<"i32" | "pointer">("pointer"));
    return {
      path,
      abi: "openmpi",
      symbols: lib.symbols,
      handles: handlesFor("openmpi", lib.symbols),
    };
  }
  throw new Error(
    `No MPI library found (tried ${candidates.join(", ")}). Install MPICH (apt install mpich) ` +
      `or Open MPI (openmpi-bin), or set ${MPI_LIB_ENV}=/path/to/libmpi.so.\n` +
      failures.join("\n"),
  );
}
