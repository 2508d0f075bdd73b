/**
 * The sections of `TrainConfig` that configure PyTorch itself: `compile` (`torch.compile`),
 * `fsdp`, and OLMo later's `ddp` and `single`. They have no meaning on TensorFlow.js; every field is accepted and kept in saved
 * configs so OLMo's YAML loads unchanged, and `tfjsCompatibilityWarnings` reports a non-default
 * value once at start-up. Field names, types and defaults are OLMo's (`olmo/config.py`).
 *
 * @module
 */
import {
  DDP_GRAD_SYNC_MODES,
  FSDP_PRECISIONS,
  FSDP_WRAP_STRATEGIES,
  SHARDING_STRATEGIES,
} from "./enums.ts";
import {
  BOOL,
  type ConfigOf,
  defineSection,
  NULL_BOOL,
  NULL_INT,
  NULL_STR,
  type SectionSchema,
  STR,
} from "./schema.ts";

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
  dynamic: {
    ...NULL_BOOL,
    default: null,
    doc: "OLMo later: torch.compile `dynamic`; ignored here.",
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
    nullable: true,
    default: "pure",
    doc: "FSDP mixed-precision policy (null in OLMo later: none); ignored here (olmo-ts computes " +
      "in float32).",
  },
  hybrid_sharding_num_model_replicas: {
    ...NULL_INT,
    default: null,
    doc: "OLMo later: model replicas under hybrid sharding; ignored here.",
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

/** The fields of OLMo later's `DDPConfig`, each declared once. */
export const DDP_CONFIG_FIELDS = {
  grad_sync_mode: {
    kind: "enum",
    name: "DDPGradSyncMode",
    values: DDP_GRAD_SYNC_MODES,
    default: "batch",
    doc: "When DDP syncs gradients (`batch` or `micro_batch`); ignored here.",
  },
  find_unused_params: {
    ...BOOL,
    default: false,
    doc: "DDP `find_unused_parameters`; ignored here.",
  },
} as const;

/** Schema of `ddp` (OLMo later; the defaults apply when a config has a `ddp:` section). */
export const DDP_CONFIG_SCHEMA: SectionSchema<typeof DDP_CONFIG_FIELDS> = defineSection(
  "DDPConfig",
  DDP_CONFIG_FIELDS,
);

/** PyTorch DDP options (OLMo later `DDPConfig`); there is no DDP in TensorFlow.js (warned). */
export type DDPConfig = ConfigOf<typeof DDP_CONFIG_FIELDS>;

/** The fields of OLMo later's `SingleGPUConfig`, each declared once. */
export const SINGLE_GPU_CONFIG_FIELDS = {
  device: {
    ...STR,
    default: "auto",
    doc: "torch device (`auto`, `cpu`, `cuda`, `mps`); olmo-ts uses `backend` instead (warned).",
  },
} as const;

/** Schema of `single` (OLMo later). */
export const SINGLE_GPU_CONFIG_SCHEMA: SectionSchema<typeof SINGLE_GPU_CONFIG_FIELDS> =
  defineSection("SingleGPUConfig", SINGLE_GPU_CONFIG_FIELDS);

/** Single-device training options (OLMo later `SingleGPUConfig`). */
export type SingleGPUConfig = ConfigOf<typeof SINGLE_GPU_CONFIG_FIELDS>;

/** OLMo's `CompilerConfig()` defaults (used when a config has a `compile:` section). */
export function defaultCompilerConfig(): CompilerConfig {
  return COMPILER_CONFIG_SCHEMA.defaults();
}

/** OLMo's `FSDPConfig()` defaults. */
export function defaultFSDPConfig(): FSDPConfig {
  return FSDP_CONFIG_SCHEMA.defaults();
}
