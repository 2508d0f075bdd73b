/**
 * Reads and writes PyTorch `torch.save` files such as OLMo's `model.pt` on disk, without Python.
 * The reading itself (from any byte source, also in a browser) is in `torch_pt_read.ts`.
 *
 * @module
 */
import { openFileSource } from "../../util/file_source.ts";
import type { HostDType, NamedHostTensors } from "../../util/host_tensor.ts";
import { numElements } from "../../util/host_tensor.ts";
import { PickleWriter } from "./pickle_writer.ts";
import { readTorchArchive, STORAGE_DTYPES, torchStateDictOf } from "./torch_pt_read.ts";
import { writeZipStored, type ZipInputEntry } from "./zip_writer.ts";

const DTYPE_STORAGE = Object.fromEntries(
  Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k]),
) as Partial<Record<HostDType, string>>;

/**
 * Reads any `torch.save` file made of dicts, lists, tuples, scalars, strings and tensors (e.g.
 * `model.pt`, `optim.pt`), with every tensor materialised as a host tensor. dicts become Maps.
 * @throws Error naming the file for corrupt archives, unsafe or unsupported pickle content.
 */
export async function readTorchFile(path: string): Promise<unknown> {
  return readTorchArchive(await openFileSource(path), path);
}

/**
 * Reads a flat `{name: tensor}` state dict written by `torch.save(model.state_dict())`, such as
 * OLMo's unsharded `model.pt`. Keys keep the file's order.
 * @throws Error naming the file (and key) when the file is corrupt, unsafe or not a flat
 *   mapping of names to tensors.
 */
export async function readTorchStateDict(path: string): Promise<NamedHostTensors> {
  return torchStateDictOf(await readTorchFile(path), path);
}

/**
 * Writes `state` as a `torch.save` file that `torch.load` (including `weights_only=True`)
 * reads back as a dict of contiguous CPU tensors: an `OrderedDict` of
 * `_rebuild_tensor_v2` calls, one storage per tensor, in a stored ZIP. Atomic (temp + rename).
 * @throws Error naming the tensor when its dtype has no torch storage type (uint16/uint32) or
 *   its element count does not match its shape.
 */
export async function writeTorchStateDict(path: string, state: NamedHostTensors): Promise<void> {
  const archive = "archive";
  const p = new PickleWriter();
  p.global("collections", "OrderedDict").emptyTuple().reduce().mark();
  const storages: ZipInputEntry[] = [];
  for (const [name, t] of state) {
    const storageType = DTYPE_STORAGE[t.dtype];
    if (!storageType) throw new Error(`${path}: tensor "${name}": torch has no ${t.dtype} storage`);
    const n = numElements(t.shape);
    if (t.data.length !== n) {
      throw new Error(
        `${path}: tensor "${name}" has ${t.data.length} elements for shape ${
          JSON.stringify(t.shape)
        }`,
      );
    }
    const key = String(storages.length);
    const stride = t.shape.map((_, d) => numElements(t.shape.slice(d + 1)));
    p.str(name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().str("storage").global("torch", storageType).str(key).str("cpu").int(n)
      .tupleFromMark().persistentId();
    p.int(0).intTuple(t.shape).intTuple(stride).bool(false);
    p.global("collections", "OrderedDict").emptyTuple().reduce();
    p.tupleFromMark().reduce();
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    storages.push({ name: `${archive}/data/${key}`, data: bytes });
  }
  const pickle = p.setItems().finish();
  const text = (s: string) => new TextEncoder().encode(s);
  await writeZipStored(path, [
    { name: `${archive}/data.pkl`, data: pickle },
    { name: `${archive}/byteorder`, data: text("little") },
    ...storages,
    { name: `${archive}/version`, data: text("3\n") },
  ]);
}
