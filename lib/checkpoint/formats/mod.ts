/**
 * File formats checkpoints are made of, each read as untrusted input: safetensors (read and
 * write), PyTorch's `torch.save` files (`model.pt`: a ZIP archive holding a pickle and raw
 * storages), with the ZIP reader and writer, the restricted unpickler and pickle writer, and
 * strided storage views they need. No trainer or model code. The in-memory halves
 * (`safetensors_format.ts`, `torch_pt_read.ts` over a `ByteSource`) use no Deno API, so the
 * browser pages read checkpoints with them.
 *
 * @module
 */
export type { SafetensorsContents } from "./safetensors.ts";
export {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "./safetensors.ts";
export { readTorchFile, readTorchStateDict, writeTorchStateDict } from "./torch_pt.ts";
export { readTorchArchive, torchStateDictOf } from "./torch_pt_read.ts";
