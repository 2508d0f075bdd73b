/**
 * File formats checkpoints are made of, each read as untrusted input: safetensors (read and
 * write), PyTorch's `torch.save` files (`model.pt`: a ZIP archive holding a pickle and raw
 * storages), with the ZIP reader and writer, the restricted unpickler and pickle writer, and
 * strided storage views they need. No trainer or model code.
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
