/**
 * FLOP counts (OLMo `Olmo.num_fwd_flops`) for throughput and MFU reporting.
 *
 * @module
 */
import type { ModelConfig } from "../config/model_config.ts";
import { countParams } from "./params.ts";

/**
 * OLMo `num_fwd_flops`: forward FLOPs of one `max_sequence_length` sequence,
 * `2·N·S + n_layers·2·2·d_model·S²` with N = all parameters (embeddings included).
 * The first term counts a multiply-add per parameter per token; the second the `q·kᵀ` and
 * `p·v` matmuls of every layer.
 */
export function numFwdFlops(config: ModelConfig): number {
  const n = countParams(config);
  const s = config.max_sequence_length;
  return 2 * n * s + config.n_layers * 2 * 2 * config.d_model * s * s;
}

/**
 * Training (forward + backward) FLOPs per token at context length `seqLen` (default
 * `max_sequence_length`): three times the per-token forward cost of `numFwdFlops`, i.e.
 * `6·N + 12·n_layers·d_model·seqLen` with N = all parameters (OLMo's convention, which also counts
 * the embedding lookup as a matmul). Multiply by tokens/s and divide by the device's peak FLOP/s
 * for MFU.
 */
export function trainFlopsPerToken(config: ModelConfig, seqLen?: number): number {
  const n = countParams(config);
  const s = seqLen ?? config.max_sequence_length;
  return 6 * n + 12 * config.n_layers * config.d_model * s;
}
