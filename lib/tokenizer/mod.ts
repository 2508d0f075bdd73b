/**
 * Tokenizers: OLMo's `Tokenizer` over Hugging Face `tokenizer.json` files, Hub/cache lookup, and
 * a byte-level BPE trainer.
 *
 * @module
 */
export type { TokenizerOptions, TokenizerTrainConfig, TruncationDirection } from "./tokenizer.ts";
export { Tokenizer } from "./tokenizer.ts";
export { JsonTokenizer } from "./json_tokenizer.ts";
export type { ResolveTokenizerOptions } from "./hub.ts";
export { cachedTokenizerPath, olmoCacheDir, resolveTokenizerFile } from "./hub.ts";
export type { BpeTrainerOptions } from "./bpe_trainer.ts";
export { ByteLevelBpeTrainer } from "./bpe_trainer.ts";
