/**
 * Helpers for model tests: the `model` section of a reference case's `config.yaml`, and small
 * configs for option tests.
 *
 * @module
 */
import { join } from "node:path";
import { loadConfigSection } from "../lib/config/mod.ts";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { defaultModelConfig } from "../lib/config/model_config.ts";

/** The `model:` section of `<caseDir>/config.yaml`, loaded by the config module. */
export function loadCaseModelConfig(caseDir: string): Promise<ModelConfig> {
  return loadConfigSection(join(caseDir, "config.yaml"), "model", { validatePaths: false });
}

/** A tiny eval-style config (no dropout) with `overrides` applied. */
export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    ...defaultModelConfig(),
    d_model: 16,
    n_heads: 2,
    n_layers: 2,
    mlp_ratio: 2,
    max_sequence_length: 32,
    vocab_size: 40,
    embedding_size: 128,
    eos_token_id: 39,
    pad_token_id: 39,
    attention_dropout: 0,
    residual_dropout: 0,
    embedding_dropout: 0,
    ...overrides,
  };
}
