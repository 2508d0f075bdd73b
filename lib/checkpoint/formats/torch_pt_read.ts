/**
 * Reads PyTorch `torch.save` archives such as OLMo's `model.pt` from any `ByteSource` (a file in
 * Deno, a dropped `File` or a URL in a browser), without Python. No file-system access here:
 * `torch_pt.ts` opens files and writes archives.
 *
 * Layout (torch ≥ 1.6 "zip" format): a stored ZIP whose entries share one top folder `<archive>/`:
 * `data.pkl` (the pickled object), `data/<key>` (one raw storage per key, little-endian unless
 * `byteorder` says otherwise) and `version`. In the pickle each tensor is
 * `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)`
 * where `storage` is a persistent id `("storage", torch.FloatStorage, key, location, numel)`.
 * Tensors are views: several may share a storage, start at an offset or be non-contiguous; they
 * are materialised here as C-order host tensors.
 *
 * @module
 */
import type { ByteSource } from "../../util/byte_source.ts";
import type { HostData, HostDType, HostTensor, NamedHostTensors } from "../../util/host_tensor.ts";
import { ITEM_SIZE, numElements, typedArrayOf } from "../../util/host_tensor.ts";
import { isContiguousView, materialiseView, type StridedView } from "./strided.ts";
import { PickleCallable, type PickleStateful, pyTypeName, unpickle } from "./pickle.ts";
import { ZipReader } from "./zip.ts";

/** A torch legacy storage class (`torch.FloatStorage`, ...), naming the element dtype. */
class TorchStorageType {
  constructor(readonly name: string, readonly dtype: HostDType) {}
}

/** Marker for the tensor classes `_rebuild_from_type_v2` may name (values are unused). */
class TorchTensorClass {
  constructor(readonly name: string) {}
}

/** A storage reference from a persistent id: raw elements in `<archive>/data/<key>`. */
interface StorageRef {
  key: string;
  dtype: HostDType;
  numel: number;
}

/** A tensor as the pickle describes it: a strided view into a storage. */
class TensorRef implements StridedView {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  /** Element type, that of the storage. */
  get dtype(): HostDType {
    return this.storage.dtype;
  }
}

/** `collections.OrderedDict`; BUILD may attach attributes (torch's `_metadata`), kept here. */
class OrderedDict extends Map<unknown, unknown> implements PickleStateful {
  /** Instance attributes set by BUILD (e.g. `_metadata` from `Module.state_dict()`). */
  attributes: unknown = null;
  setState(state: unknown): void {
    this.attributes = state;
  }
}

/** torch storage class names (`torch.FloatStorage` without `torch.`) and their dtypes. */
export const STORAGE_DTYPES: Readonly<Record<string, HostDType>> = {
  FloatStorage: "float32",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  DoubleStorage: "float64",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};
function isIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function rebuildTensorV2(args: readonly unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (args.length < 6 || args.length > 7) throw new Error(`expected 6 or 7 arguments`);
  if (!(storage && typeof storage === "object" && "key" in storage)) {
    throw new Error(`argument 0 must be a storage, got ${pyTypeName(storage)}`);
  }
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
    throw new Error(`invalid storage offset ${String(offset)}`);
  }
  if (!isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
    throw new Error(`invalid size ${JSON.stringify(size)} / stride ${JSON.stringify(stride)}`);
  }
  return new TensorRef(storage as StorageRef, offset as number, [...size], [...stride]);
}

/** The allow-list: the only Python globals a torch state-dict pickle may reference. */
const TORCH_GLOBALS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  [
    "collections.OrderedDict",
    new PickleCallable("collections.OrderedDict", (args) => {
      const d = new OrderedDict();
      const items = args[0] ?? [];
      if (args.length > 1 || !Array.isArray(items)) throw new Error("expected () or (items,)");
      for (const kv of items) {
        if (!Array.isArray(kv) || kv.length !== 2) throw new Error("items must be pairs");
        d.set(kv[0], kv[1]);
      }
      return d;
    }),
  ],
  ["torch._utils._rebuild_tensor_v2", new PickleCallable("_rebuild_tensor_v2", rebuildTensorV2)],
  // Parameters pickle as their data tensor plus requires_grad/hooks (and state), which a
  // state dict does not need.
  ["torch._utils._rebuild_parameter", new PickleCallable("_rebuild_parameter", (a) => a[0])],
  [
    "torch._utils._rebuild_parameter_with_state",
    new PickleCallable("_rebuild_parameter_with_state", (a) => a[0]),
  ],
  [
    "torch._tensor._rebuild_from_type_v2",
    new PickleCallable("_rebuild_from_type_v2", (a) => {
      const [fn, cls, args] = a;
      if (!(fn instanceof PickleCallable) || !(cls instanceof TorchTensorClass)) {
        throw new Error("expected (allow-listed function, torch.Tensor class, args, state)");
      }
      if (!Array.isArray(args)) throw new Error("args must be a tuple");
      return fn.call(args);
    }),
  ],
  ["torch.Tensor", new TorchTensorClass("torch.Tensor")],
  ["torch.nn.parameter.Parameter", new TorchTensorClass("torch.nn.parameter.Parameter")],
  ...Object.entries(STORAGE_DTYPES).map(([name, dtype]): [string, unknown] => [
    `torch.${name}`,
    new TorchStorageType(name, dtype),
  ]),
]);

/** torch < 1.6 wrote a bare pickle stream (it starts with PROTO 2), not a ZIP. */
async function refuseLegacyFormat(source: ByteSource, label: string): Promise<void> {
  if (source.size < 2) return; // The ZIP reader reports the file as too short.
  const head = await source.read(0, 2);
  if (head[0] === 0x80 && head[1] === 0x02) {
    throw new Error(
      `${label}: legacy (torch < 1.6, non-ZIP) torch.save format is not supported; ` +
        `re-save it with a newer torch`,
    );
  }
}

/**
 * Reads any `torch.save` archive made of dicts, lists, tuples, scalars, strings and tensors (e.g.
 * `model.pt`, `optim.pt`), with every tensor materialised as a host tensor. dicts become Maps.
 * `label` names the file in errors; the archive closes `source` when done.
 * @throws Error naming the file for corrupt archives, unsafe or unsupported pickle content.
 */
export async function readTorchArchive(source: ByteSource, label: string): Promise<unknown> {
  try {
    await refuseLegacyFormat(source, label);
  } catch (e) {
    source.close();
    throw e;
  }
  const zip = await ZipReader.fromSource(source, label);
  const path = label;
  try {
    const pickles = zip.entries.filter((e) =>
      e.name.endsWith("/data.pkl") || e.name === "data.pkl"
    );
    if (pickles.length !== 1) {
      throw new Error(
        `${path}: expected one data.pkl in the torch archive, found ${pickles.length}` +
          ` (not a torch.save file, or a legacy non-zip one, which is unsupported)`,
      );
    }
    const prefix = pickles[0].name.slice(0, -"data.pkl".length);
    let bigEndian = false;
    if (zip.entry(`${prefix}byteorder`)) {
      const order = new TextDecoder().decode(await zip.read(`${prefix}byteorder`)).trim();
      if (order !== "little" && order !== "big") {
        throw new Error(`${path}: unknown byteorder "${order}"`);
      }
      bigEndian = order === "big";
    }
    const storages = new Map<string, StorageRef>();
    const obj = unpickle(await zip.read(pickles[0].name), {
      source: `${path}:${pickles[0].name}`,
      globals: TORCH_GLOBALS,
      persistentLoad: (pid) => {
        const [kind, type, key, , numel] = Array.isArray(pid) ? pid : [];
        if (
          kind !== "storage" || !(type instanceof TorchStorageType) || typeof key !== "string" ||
          !Number.isSafeInteger(numel)
        ) throw new Error(`unsupported persistent id (expected a storage reference)`);
        const prev = storages.get(key);
        if (prev && prev.dtype !== type.dtype) {
          throw new Error(`storage ${key} is referenced as both ${prev.dtype} and ${type.dtype}`);
        }
        const ref = prev ?? { key, dtype: type.dtype, numel: numel as number };
        storages.set(key, ref);
        return ref;
      },
    });
    const loaded = new Map<string, HostData>();
    const handedOut = new Set<HostData>();
    const load = async (s: StorageRef): Promise<HostData> => {
      const cached = loaded.get(s.key);
      if (cached) return cached;
      const name = `${prefix}data/${s.key}`;
      if (!zip.entry(name)) throw new Error(`${path}: storage entry "${name}" is missing`);
      const bytes = await zip.read(name);
      const itemSize = ITEM_SIZE[s.dtype];
      if (bytes.length !== s.numel * itemSize) {
        throw new Error(
          `${path}: storage "${name}" has ${bytes.length} bytes, expected ${s.numel} ${s.dtype}`,
        );
      }
      if (bigEndian && itemSize > 1) {
        for (let i = 0; i < bytes.length; i += itemSize) bytes.subarray(i, i + itemSize).reverse();
      }
      const own = bytes.byteOffset === 0 ? bytes : bytes.slice();
      const data = typedArrayOf(s.dtype, own.buffer as ArrayBuffer, s.numel);
      loaded.set(s.key, data);
      return data;
    };
    // Containers are resolved once each: memo references can make a pickle a DAG or a cycle.
    const done = new Map<object, unknown>();
    const resolve = async (v: unknown, where: string): Promise<unknown> => {
      if (typeof v !== "object" || v === null) return v;
      if (done.has(v)) return done.get(v);
      if (v instanceof TensorRef) {
        const storage = await load(v.storage);
        const whole = v.offset === 0 && numElements(v.shape) === storage.length &&
          isContiguousView(v);
        // The first tensor spanning a whole storage takes it over instead of copying it.
        const data = whole && !handedOut.has(storage)
          ? storage
          : materialiseView(v, storage, `${path}: tensor ${where}`);
        if (whole) handedOut.add(storage);
        const t: HostTensor = { dtype: v.storage.dtype, shape: v.shape, data };
        done.set(v, t);
        return t;
      }
      if (v instanceof Map) {
        done.set(v, v);
        for (const [k, x] of v) v.set(k, await resolve(x, `${where}.${String(k)}`));
      } else if (Array.isArray(v) && !Object.isFrozen(v)) {
        done.set(v, v);
        for (let i = 0; i < v.length; i++) v[i] = await resolve(v[i], `${where}[${i}]`);
      } else if (Array.isArray(v)) {
        const items: unknown[] = [];
        done.set(v, items);
        for (let i = 0; i < v.length; i++) items.push(await resolve(v[i], `${where}[${i}]`));
        return Object.freeze(items);
      }
      return v;
    };
    return await resolve(obj, "");
  } finally {
    zip.close();
  }
}

/**
 * Reads a flat `{name: tensor}` state dict written by `torch.save(model.state_dict())`, such as
 * OLMo's unsharded `model.pt`, from the object `readTorchArchive` returned (`path` names the
 * file in errors). Keys keep the file's order.
 * @throws Error naming the file (and key) when the file is corrupt, unsafe or not a flat
 *   mapping of names to tensors.
 */
export function torchStateDictOf(obj: unknown, path: string): NamedHostTensors {
  if (!(obj instanceof Map)) {
    throw new Error(`${path}: expected a state dict (a dict of tensors), got ${pyTypeName(obj)}`);
  }
  const out: NamedHostTensors = new Map();
  for (const [k, v] of obj) {
    if (typeof k !== "string") throw new Error(`${path}: state dict key ${String(k)} is not a str`);
    const t = v as HostTensor;
    if (!(t && typeof t === "object" && "dtype" in t && "data" in t && "shape" in t)) {
      throw new Error(`${path}: state dict entry "${k}" is not a tensor (got ${pyTypeName(v)})`);
    }
    out.set(k, t);
  }
  return out;
}
