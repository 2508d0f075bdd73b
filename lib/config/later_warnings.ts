/**
 * The start-up warnings about OLMo later's settings (the `TrainConfig` that trained OLMo 1.7 and
 * OLMo 2) that are accepted so its `config.yaml` files load, but have no effect in olmo-ts:
 * PyTorch-only options and features olmo-ts does not implement. Only values other than OLMo's
 * defaults are reported, one line each, alongside `tfjsCompatibilityWarnings`.
 *
 * @module
 */
import type { DataConfig } from "./sections.ts";
import type { TrainConfig } from "./train_config.ts";

/** `prefix.key` for each data option that olmo-ts does not implement and that is set. */
function dataOptionsSet(data: DataConfig, prefix: string): string[] {
  const set: string[] = [];
  if (data.label_mask_paths !== null) set.push("label_mask_paths");
  if (data.generate_attention_mask) set.push("generate_attention_mask");
  if (data.generate_doc_lengths) set.push("generate_doc_lengths");
  if (data.instance_filter !== null) set.push("instance_filter");
  if (data.custom_dataset !== null) set.push("custom_dataset");
  return set.map((k) => `${prefix}.${k}`);
}

/** One line per OLMo-later setting that is set but has no effect here. */
export function laterSettingsWarnings(cfg: TrainConfig): string[] {
  const out: string[] = [];
  const ignored = (what: string, why: string) => out.push(`${what}: ${why}; ignored`);
  if (cfg.distributed_strategy !== null && cfg.distributed_strategy !== "fsdp") {
    ignored(
      `distributed_strategy=${cfg.distributed_strategy}`,
      "olmo-ts trains data-parallel over its launcher's ranks",
    );
  }
  if (cfg.ddp !== null) ignored("ddp", "there is no PyTorch DDP in TensorFlow.js");
  if (cfg.single.device !== "auto") {
    ignored(`single.device=${cfg.single.device}`, "olmo-ts selects devices with `backend`");
  }
  if (cfg.gen1_gc_interval !== 1 && cfg.gen1_gc_interval !== null) {
    ignored("gen1_gc_interval", "a Python garbage-collector setting");
  }
  if (cfg.fused_loss !== null) ignored("fused_loss", "olmo-ts always computes a fused loss");
  if (cfg.extra_steps_after_cancel !== 10) {
    ignored("extra_steps_after_cancel", "olmo-ts stops at the first cancel check");
  }
  if (cfg.module_outputs_save_steps !== null) {
    ignored("module_outputs_save_steps", "module output dumps are not implemented");
  }
  if (cfg.epoch !== null && cfg.epoch !== 0) {
    ignored(`epoch=${cfg.epoch}`, "olmo-ts has one pass over the data order");
  }
  const o = cfg.optimizer;
  if (o.selective_updates) ignored("optimizer.selective_updates", "not implemented");
  if (o.record_update_metrics) ignored("optimizer.record_update_metrics", "not implemented");
  const data = [
    ...dataOptionsSet(cfg.data, "data"),
    ...cfg.evaluators.flatMap((e, i) => dataOptionsSet(e.data, `evaluators[${i}].data`)),
  ];
  if (data.length > 0) ignored(data.join(", "), "not implemented by olmo-ts's data pipeline");
  return out;
}
