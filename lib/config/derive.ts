/**
 * Start-up processing of a loaded config: OLMo's derived fields (`scripts/train.py` `main`)
 * and the one-line warnings about settings that have no effect on TensorFlow.js.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { PRECISIONS } from "./enums.ts";
import { laterSettingsWarnings } from "./later_warnings.ts";
import { type DataConfig, defaultDataConfig } from "./sections.ts";
import { defaultFSDPConfig } from "./torch_sections.ts";
import type { TrainConfig } from "./train_config.ts";

/**
 * A copy of `cfg` with OLMo's start-up derivations: `model.precision = precision`,
 * `device_train_batch_size = global_train_batch_size / worldSize`,
 * `device_train_grad_accum = floor(device_train_batch_size / device_train_microbatch_size)`, and
 * the deprecated `optimizer.no_decay_norm_and_bias` rewritten into `decay_norm_and_bias` and
 * `decay_embeddings` (then cleared). Throws when the global batch does not split evenly across
 * ranks or `precision` is not one OLMo accepts.
 */
export function deriveTrainConfig(cfg: TrainConfig, worldSize: number): TrainConfig {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new ConfigError(
      `deriveTrainConfig: world size must be a positive integer, got ${worldSize}`,
    );
  }
  if (cfg.precision !== null && !(PRECISIONS as readonly string[]).includes(cfg.precision)) {
    throw new ConfigError(
      `precision: unknown value '${cfg.precision}'; expected one of: ${PRECISIONS.join(", ")}`,
    );
  }
  const global = cfg.global_train_batch_size;
  if (global < 1 || global % worldSize !== 0) {
    throw new ConfigError(
      `global_train_batch_size (${global}) must be a positive multiple of the world size ` +
        `(${worldSize})`,
    );
  }
  const out = structuredClone(cfg);
  out.model.precision = cfg.precision;
  out.device_train_batch_size = global / worldSize;
  out.device_train_grad_accum = Math.floor(
    out.device_train_batch_size / cfg.device_train_microbatch_size,
  );
  const noDecay = cfg.optimizer.no_decay_norm_and_bias;
  if (noDecay !== null) {
    out.optimizer.decay_norm_and_bias = !noDecay;
    out.optimizer.decay_embeddings = !noDecay;
    out.optimizer.no_decay_norm_and_bias = null;
  }
  return out;
}

/** Names of the PyTorch DataLoader options set to something other than their default. */
function dataLoaderOptionsSet(data: DataConfig, prefix: string): string[] {
  const d = defaultDataConfig();
  const keys = ["num_workers", "pin_memory", "prefetch_factor", "persistent_workers", "timeout"];
  return keys
    .filter((k) => data[k as keyof DataConfig] !== d[k as keyof DataConfig])
    .map((k) => `${prefix}.${k}`);
}

/**
 * One line per setting that is accepted for OLMo compatibility but has no effect on
 * TensorFlow.js (only those set to something other than the default). The trainer prints them
 * once at start-up.
 */
export function tfjsCompatibilityWarnings(cfg: TrainConfig): string[] {
  const out: string[] = [];
  if (cfg.precision === "amp_bf16" || cfg.precision === "amp_fp16") {
    out.push(
      `precision=${cfg.precision}: olmo-ts computes in float32 (no autocast in TensorFlow.js)`,
    );
  }
  if (cfg.compile !== null) {
    out.push("compile: torch.compile has no TensorFlow.js equivalent; ignored");
  }
  const fsdpDefaults = defaultFSDPConfig();
  const fsdpSet = (Object.keys(fsdpDefaults) as (keyof typeof fsdpDefaults)[])
    .filter((k) => cfg.fsdp[k] !== fsdpDefaults[k]);
  if (fsdpSet.length > 0) {
    out.push(`fsdp.${fsdpSet.join(", fsdp.")}: there is no FSDP in TensorFlow.js; ignored`);
  }
  if (cfg.model.flash_attention) {
    out.push("model.flash_attention: a CUDA kernel switch in OLMo; ignored");
  }
  if (cfg.activation_checkpointing !== null) {
    out.push(
      `activation_checkpointing=${cfg.activation_checkpointing}: not available in ` +
        "TensorFlow.js; activations are kept in memory",
    );
  }
  if (cfg.model.init_device !== null && cfg.model.init_device !== "cpu") {
    out.push(
      `model.init_device=${cfg.model.init_device}: ignored; tensors live on the TensorFlow.js backend`,
    );
  }
  if (!cfg.model.rope_full_precision) {
    out.push("model.rope_full_precision=false: RoPE is computed in float32 anyway");
  }
  const loader = [
    ...dataLoaderOptionsSet(cfg.data, "data"),
    ...cfg.evaluators.flatMap((e, i) => dataLoaderOptionsSet(e.data, `evaluators[${i}].data`)),
  ];
  if (loader.length > 0) {
    const shown = loader.length > 4 ? [...loader.slice(0, 4), "..."] : loader;
    out.push(
      `${shown.join(", ")}: PyTorch DataLoader options; olmo-ts reads data in the main process`,
    );
  }
  if (cfg.python_profiling || cfg.torch_profiling) {
    out.push("python_profiling/torch_profiling: PyTorch profilers; ignored");
  }
  if (cfg.new_style_checkpoints !== null) {
    out.push("new_style_checkpoints: deprecated and unused (as in OLMo)");
  }
  out.push(...laterSettingsWarnings(cfg));
  return out;
}
