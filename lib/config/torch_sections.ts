/**
 * The sections of `TrainConfig` that configure PyTorch itself: `compile` (`torch.compile`) and
 * `fsdp`. They have no meaning on TensorFlow.js; every field is accepted and kept in saved
 * configs so OLMo's YAML loads unchanged, and `tfjsCompatibilityWarnings` reports a non-default
 * value once at start-up. Field names, types and defaults are OLMo's (`olmo/config.py`).
 *
 * @module
 */
import { FSDP_PRECISIONS, FSDP_WRAP_STRATEGIES, SHARDING_STRATEGIES } from "./enums.ts";
import { BOOL, type ConfigOf, defineSection, NULL_STR, type SectionSchema, STR } from "./schema.ts";

/** The fields of `CompilerConfig`, each declared once: kind, default and documentation. */
export const COMPILER_CONFIG_FIELDS = {
  mode: {
    ...NULL_STR,
    default: null,
    doc: "`default`, `reduce-overhead` or `max-autotune` in OLMo; ignored here.",
  },
  fullgraph: {
    ...BOOL,
    default: false,
    doc: "Compile without graph breaks in OLMo; ignored here.",
  },
  backend: {
    ...STR,
    default: "inductor",
    doc: "torch.compile backend (`inductor`); ignored here.",
  },
} as const;

/** Schema of `compile` (the defaults apply when a config has a `compile:` section). */
export const COMPILER_CONFIG_SCHEMA: SectionSchema<typeof COMPILER_CONFIG_FIELDS> = defineSection(
  "CompilerConfig",
  COMPILER_CONFIG_FIELDS,
);

/** `torch.compile` options (OLMo `CompilerConfig`); meaningless on TensorFlow.js (warned). */
export type CompilerConfig = ConfigOf<typeof COMPILER_CONFIG_FIELDS>;

/** The fields of `FSDPConfig`, each declared once: kind, default and documentation. */
export const FSDP_CONFIG_FIELDS = {
  use_orig_params: { ...BOOL, default: true, doc: "FSDP `use_orig_params`; ignored here." },
  sharding_strategy: {
    kind: "enum",
    name: "ShardingStrategy",
    values: SHARDING_STRATEGIES,
    default: "FULL_SHARD",
    doc: "torch `ShardingStrategy`, by name; ignored here.",
  },
  wrapping_strategy: {
    kind: "enum",
    name: "FSDPWrapStrategy",
    values: FSDP_WRAP_STRATEGIES,
    nullable: true,
    default: null,
    doc: "FSDP auto-wrap policy; null means one top-level unit; ignored here.",
  },
  precision: {
    kind: "enum",
    name: "FSDPPrecision",
    values: FSDP_PRECISIONS,
    default: "pure",
    doc: "FSDP mixed-precision policy; ignored here (olmo-ts computes in float32).",
  },
} as const;

/** Schema of `fsdp`. */
export const FSDP_CONFIG_SCHEMA: SectionSchema<typeof FSDP_CONFIG_FIELDS> = defineSection(
  "FSDPConfig",
  FSDP_CONFIG_FIELDS,
);

/**
 * PyTorch FSDP options (OLMo `FSDPConfig`). There is no FSDP on TensorFlow.js: every field is
 * accepted and kept in saved configs, and a non-default value is warned about once.
 */
export type FSDPConfig = ConfigOf<typeof FSDP_CONFIG_FIELDS>;

/** OLMo's `CompilerConfig()` defaults (used when a config has a `compile:` section). */
export function defaultCompilerConfig(): CompilerConfig {
  return COMPILER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `FSDPConfig()` defaults. */
export function defaultFSDPConfig(): FSDPConfig {
  return FSDP_CONFIG_SCHEMA.defaults();
}
