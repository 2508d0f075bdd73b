/**
 * OLMo later's `try_load_latest_save` (its `scripts/train.py`): when `save_folder` already holds
 * a checkpoint, resume from the newest one (highest step; sharded before unsharded at the same
 * step) instead of `load_path`, so that a preempted job can simply be started again. Resuming
 * then forces `restore_dataloader` on and `reset_trainer_state` / `reset_optimizer_state` off,
 * with a line saying so, as OLMo does. `remote_save_folder` is not searched (uploads are not
 * implemented).
 *
 * @module
 */
import type { TrainConfig } from "../config/mod.ts";
import { findLatestCheckpoint } from "../checkpoint/trainer/run_folder.ts";
import type { TrainLogger } from "./log.ts";

/** `cfg` with `load_path` set to the newest checkpoint of `save_folder` under `try_load_latest_save`. */
export async function applyTryLoadLatestSave(
  cfg: TrainConfig,
  log: TrainLogger,
): Promise<TrainConfig> {
  if (!cfg.try_load_latest_save) return cfg;
  const latest = await findLatestCheckpoint(cfg.save_folder);
  if (latest === null) return cfg;
  log.info(`try_load_latest_save: resuming from ${latest}`);
  const out = { ...cfg, load_path: latest };
  const forced = (key: string, value: boolean) =>
    log.info(`try_load_latest_save: setting ${key}=${value} to continue the run, not restart it`);
  if (!cfg.restore_dataloader) forced("restore_dataloader", out.restore_dataloader = true);
  if (cfg.reset_trainer_state) forced("reset_trainer_state", out.reset_trainer_state = false);
  if (cfg.reset_optimizer_state) forced("reset_optimizer_state", out.reset_optimizer_state = false);
  return out;
}
