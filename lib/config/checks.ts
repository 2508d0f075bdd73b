/**
 * Value rules of a loaded `TrainConfig`, checked before anything is built: the schema gives
 * each field its type, these give the range (a negative micro-batch size, a save interval of 0, a
 * batch the micro-batches do not split) and the cross-field rules OLMo asserts (`d_model %
 * n_heads`, `embedding_size ≥ vocab_size`, ...). Every error names the key, the rule and the
 * value; all violations are reported at once.
 *
 * @module
 */
import { isUrl } from "../util/url.ts";
import { ConfigError } from "./errors.ts";
import type { DataConfig } from "./sections.ts";
import type { TrainConfig } from "./train_config.ts";

/** A range rule: its wording in messages and its test. */
interface Rule {
  /** What the value must be, e.g. "an integer ≥ 1". */
  text: string;
  /** True when `value` satisfies the rule. */
  ok(value: unknown): boolean;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** An integer ≥ `min`. */
function intAtLeast(min: number): Rule {
  return { text: `an integer ≥ ${min}`, ok: (v) => isInt(v) && v >= min };
}

const POSITIVE_INT = intAtLeast(1);
const NON_NEGATIVE_INT = intAtLeast(0);
const POSITIVE = { text: "a finite number > 0", ok: (v: unknown) => isNum(v) && v > 0 };
const NON_NEGATIVE = { text: "a finite number ≥ 0", ok: (v: unknown) => isNum(v) && v >= 0 };
const PROBABILITY = { text: "a number in [0, 1)", ok: (v: unknown) => isNum(v) && v >= 0 && v < 1 };
const FRACTION = { text: "a number in [0, 1]", ok: (v: unknown) => isNum(v) && v >= 0 && v <= 1 };
const KEEP_COUNT = {
  text: "-1 (keep all) or an integer ≥ 0",
  ok: (v: unknown) => isInt(v) && v >= -1,
};
const BATCH_COUNT = {
  text: "-1 (all) or an integer ≥ 1",
  ok: (v: unknown) => isInt(v) && (v === -1 || v >= 1),
};
const SEED = {
  text: "an integer in [0, 2^32 - 1]",
  ok: (v: unknown) => isInt(v) && v >= 0 && v < 2 ** 32,
};
const PATH = {
  text: "a non-empty path",
  ok: (v: unknown) => typeof v === "string" && v.trim() !== "",
};
const LOCAL_FOLDER = {
  text: "a non-empty local folder path (not a URL)",
  ok: (v: unknown) => PATH.ok(v) && !isUrl(v as string),
};

/** Collects violations as `key: must be RULE, got VALUE` lines. */
class Violations {
  readonly lines: string[] = [];

  /** Checks `value` (skipped when null and `nullable`). */
  check(key: string, value: unknown, rule: Rule, nullable = false): void {
    if (value === null && nullable) return;
    if (!rule.ok(value)) {
      this.lines.push(
        `${key}: must be ${rule.text}${nullable ? " or null" : ""}, got ${show(value)}`,
      );
    }
  }

  /** Records a cross-field violation. */
  add(key: string, message: string): void {
    this.lines.push(`${key}: ${message}`);
  }
}

/** True when `path` exists and is not a directory (a symlink to one counts as one). */
function isExistingNonFolder(path: string): boolean {
  try {
    return !Deno.statSync(path).isDirectory;
  } catch {
    return false; // absent (created at start-up) or unreadable (reported when it is used)
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function checkData(v: Violations, prefix: string, data: DataConfig): void {
  data.paths?.forEach((p, i) => v.check(`${prefix}.paths[${i}]`, p, PATH));
  for (const [label, paths] of Object.entries(data.datasets ?? {})) {
    paths.forEach((p, i) => v.check(`${prefix}.datasets.${label}[${i}]`, p, PATH));
  }
  v.check(`${prefix}.num_workers`, data.num_workers, NON_NEGATIVE_INT);
  v.check(`${prefix}.prefetch_factor`, data.prefetch_factor, POSITIVE_INT, true);
  v.check(`${prefix}.timeout`, data.timeout, NON_NEGATIVE);
  v.check(`${prefix}.seed`, data.seed, SEED, true);
  const filter = data.instance_filter;
  if (filter !== null) {
    for (const key of Object.keys(filter) as (keyof typeof filter)[]) {
      v.check(`${prefix}.instance_filter.${key}`, filter[key], POSITIVE_INT);
    }
  }
}

/** The numeric settings OLMo's later `TrainConfig` added, outside `model` and `data`. */
function checkLaterSettings(v: Violations, cfg: TrainConfig): void {
  v.check("epoch", cfg.epoch, NON_NEGATIVE_INT, true);
  v.check("save_interval_ephemeral", cfg.save_interval_ephemeral, POSITIVE_INT, true);
  v.check("gen1_gc_interval", cfg.gen1_gc_interval, POSITIVE_INT, true);
  v.check("auxiliary_loss_multiplier", cfg.auxiliary_loss_multiplier, NON_NEGATIVE, true);
  v.check("extra_steps_after_cancel", cfg.extra_steps_after_cancel, NON_NEGATIVE_INT);
  v.check("stop_after", cfg.stop_after, POSITIVE_INT, true);
  cfg.module_outputs_save_steps?.forEach((step, i) =>
    v.check(`module_outputs_save_steps[${i}]`, step, NON_NEGATIVE_INT)
  );
  v.check(
    "fsdp.hybrid_sharding_num_model_replicas",
    cfg.fsdp.hybrid_sharding_num_model_replicas,
    POSITIVE_INT,
    true,
  );
  v.check("optimizer.eps", cfg.optimizer.eps, POSITIVE);
  const s = cfg.scheduler;
  v.check("scheduler.grad_clip_warmup_steps", s.grad_clip_warmup_steps, NON_NEGATIVE, true);
  v.check("scheduler.grad_clip_warmup_factor", s.grad_clip_warmup_factor, POSITIVE, true);
  v.check("scheduler.warmup_min_lr", s.warmup_min_lr, NON_NEGATIVE, true);
}

function checkModel(v: Violations, m: TrainConfig["model"]): void {
  for (
    const key of [
      "d_model",
      "n_heads",
      "n_layers",
      "mlp_ratio",
      "block_group_size",
      "max_sequence_length",
      "vocab_size",
    ] as const
  ) v.check(`model.${key}`, m[key], POSITIVE_INT);
  v.check("model.mlp_hidden_size", m.mlp_hidden_size, POSITIVE_INT, true);
  v.check("model.embedding_size", m.embedding_size, POSITIVE_INT, true);
  for (const key of ["attention_dropout", "residual_dropout", "embedding_dropout"] as const) {
    v.check(`model.${key}`, m[key], PROBABILITY);
  }
  v.check("model.alibi_bias_max", m.alibi_bias_max, POSITIVE);
  v.check("model.init_std", m.init_std, POSITIVE);
  v.check("model.init_cutoff_factor", m.init_cutoff_factor, POSITIVE, true);
  v.check("model.n_kv_heads", m.n_kv_heads, POSITIVE_INT, true);
  v.check("model.clip_qkv", m.clip_qkv, POSITIVE, true);
  v.check("model.rope_theta", m.rope_theta, POSITIVE);
  v.check("model.layer_norm_eps", m.layer_norm_eps, POSITIVE);
  v.check("model.emb_init_std", m.emb_init_std, POSITIVE, true);
  const kv = m.n_kv_heads;
  if (POSITIVE_INT.ok(m.n_heads) && POSITIVE_INT.ok(kv) && m.n_heads % (kv as number) !== 0) {
    v.add("model.n_kv_heads", `must divide model.n_heads (${m.n_heads}), got ${kv}`);
  }
  if (
    POSITIVE_INT.ok(m.d_model) && POSITIVE_INT.ok(m.n_heads) && m.d_model % m.n_heads !== 0
  ) {
    v.add("model.d_model", `must be divisible by model.n_heads (${m.n_heads}), got ${m.d_model}`);
  }
  if (
    POSITIVE_INT.ok(m.n_layers) && POSITIVE_INT.ok(m.block_group_size) &&
    m.n_layers % m.block_group_size !== 0
  ) {
    v.add(
      "model.n_layers",
      `must be divisible by model.block_group_size (${m.block_group_size}), got ${m.n_layers}`,
    );
  }
  // Cross-field rules only over values that pass their own rule (one message per mistake).
  const sizesOk = POSITIVE_INT.ok(m.vocab_size) &&
    (m.embedding_size === null || POSITIVE_INT.ok(m.embedding_size));
  if (!sizesOk) return;
  const rows = m.embedding_size ?? m.vocab_size;
  if (m.embedding_size !== null && m.embedding_size < m.vocab_size) {
    v.add(
      "model.embedding_size",
      `must be ≥ model.vocab_size (${m.vocab_size}), got ${m.embedding_size}`,
    );
  }
  for (const key of ["eos_token_id", "pad_token_id"] as const) {
    const id = m[key];
    if (!(isInt(id) && id >= 0 && id < rows)) {
      v.add(`model.${key}`, `must be a token id in [0, ${rows}) (the embedding rows), got ${id}`);
    }
  }
}

/** Options of {@link checkTrainConfig}. */
export interface CheckTrainConfigOptions {
  /** Ranks the run uses (default 1): each trains `global_train_batch_size / worldSize`. */
  worldSize?: number;
  /** Names the config in the message (e.g. its file). */
  source?: string;
}

/**
 * The value rules of every numeric and path setting, as a list of messages (`key: must be
 * RULE, got VALUE`); empty when the config is fine.
 */
export function trainConfigViolations(
  cfg: TrainConfig,
  options: CheckTrainConfigOptions = {},
): string[] {
  const v = new Violations();
  v.check("seed", cfg.seed, SEED);
  v.check("fast_forward_batches", cfg.fast_forward_batches, NON_NEGATIVE_INT, true);
  v.check("eval_interval", cfg.eval_interval, POSITIVE_INT);
  v.check("save_folder", cfg.save_folder, LOCAL_FOLDER);
  if (LOCAL_FOLDER.ok(cfg.save_folder) && isExistingNonFolder(cfg.save_folder)) {
    v.add("save_folder", `must be a folder, but ${cfg.save_folder} is a file`);
  }
  v.check("remote_save_folder", cfg.remote_save_folder, PATH, true);
  v.check("canceled_check_interval", cfg.canceled_check_interval, POSITIVE_INT);
  // null (OLMo later) turns periodic sharded saves off; the message keeps the older wording.
  if (cfg.save_interval !== null) v.check("save_interval", cfg.save_interval, POSITIVE_INT);
  v.check("save_interval_unsharded", cfg.save_interval_unsharded, POSITIVE_INT, true);
  v.check("save_num_checkpoints_to_keep", cfg.save_num_checkpoints_to_keep, KEEP_COUNT);
  v.check(
    "save_num_unsharded_checkpoints_to_keep",
    cfg.save_num_unsharded_checkpoints_to_keep,
    KEEP_COUNT,
  );
  v.check("load_path", cfg.load_path, PATH, true);
  v.check("global_train_batch_size", cfg.global_train_batch_size, POSITIVE_INT);
  v.check("device_train_microbatch_size", cfg.device_train_microbatch_size, POSITIVE_INT);
  v.check("device_eval_batch_size", cfg.device_eval_batch_size, POSITIVE_INT);
  v.check("eval_subset_num_batches", cfg.eval_subset_num_batches, BATCH_COUNT);
  v.check("max_grad_norm", cfg.max_grad_norm, POSITIVE, true);
  v.check("max_grad_norm_ratio", cfg.max_grad_norm_ratio, POSITIVE, true);
  v.check("console_log_interval", cfg.console_log_interval, POSITIVE_INT);
  v.check("time_limit", cfg.time_limit, NON_NEGATIVE, true);
  v.check("early_stopping_factor", cfg.early_stopping_factor, POSITIVE, true);
  v.check("stop_at", cfg.stop_at, POSITIVE_INT, true);
  checkLaterSettings(v, cfg);
  checkBatchSplit(v, cfg, options.worldSize ?? 1);

  checkModel(v, cfg.model);
  v.check("optimizer.learning_rate", cfg.optimizer.learning_rate, NON_NEGATIVE);
  v.check("optimizer.weight_decay", cfg.optimizer.weight_decay, NON_NEGATIVE);
  cfg.optimizer.betas.forEach((b, i) => v.check(`optimizer.betas[${i}]`, b, PROBABILITY));
  v.check("optimizer.metrics_log_interval", cfg.optimizer.metrics_log_interval, POSITIVE_INT, true);
  v.check("scheduler.t_warmup", cfg.scheduler.t_warmup, NON_NEGATIVE_INT);
  v.check("scheduler.t_max", cfg.scheduler.t_max, POSITIVE_INT, true);
  v.check("scheduler.alpha_f", cfg.scheduler.alpha_f, FRACTION);
  checkData(v, "data", cfg.data);
  cfg.evaluators.forEach((e, i) => {
    const prefix = `evaluators[${i}]`;
    v.check(`${prefix}.device_eval_batch_size`, e.device_eval_batch_size, POSITIVE_INT, true);
    v.check(`${prefix}.subset_num_batches`, e.subset_num_batches, BATCH_COUNT, true);
    checkData(v, `${prefix}.data`, e.data);
  });
  v.check("tokenizer.identifier", cfg.tokenizer.identifier, PATH);
  if (cfg.wandb !== null) v.check("wandb.log_interval", cfg.wandb.log_interval, POSITIVE_INT);
  v.check("speed_monitor.window_size", cfg.speed_monitor.window_size, POSITIVE_INT);
  v.check(
    "speed_monitor.gpu_flops_available",
    cfg.speed_monitor.gpu_flops_available,
    POSITIVE,
    true,
  );
  return v.lines;
}

/**
 * The micro-batches must split each rank's batch evenly (a smaller last micro-batch would
 * weigh its instances differently); a rank batch no larger than one micro-batch is one chunk.
 */
function checkBatchSplit(v: Violations, cfg: TrainConfig, worldSize: number): void {
  const global = cfg.global_train_batch_size;
  const micro = cfg.device_train_microbatch_size;
  if (!POSITIVE_INT.ok(global) || !POSITIVE_INT.ok(micro)) return;
  if (global % worldSize !== 0) {
    v.add(
      "global_train_batch_size",
      `must be a multiple of the world size (${worldSize}), got ${global}`,
    );
    return;
  }
  const perRank = global / worldSize;
  if (perRank > micro && perRank % micro !== 0) {
    const each = worldSize === 1 ? "" : ` / ${worldSize} ranks = ${perRank} per rank`;
    v.add(
      "global_train_batch_size",
      `must split into whole micro-batches of device_train_microbatch_size (${micro}), got ` +
        `${global}${each}`,
    );
  }
}

/**
 * Throws one `ConfigError` listing every violation of {@link trainConfigViolations}.
 * @throws ConfigError naming each key, its rule and its value.
 */
export function checkTrainConfig(cfg: TrainConfig, options: CheckTrainConfigOptions = {}): void {
  const lines = trainConfigViolations(cfg, options);
  if (lines.length === 0) return;
  const where = options.source === undefined ? "" : `${options.source}: `;
  throw new ConfigError(
    lines.length === 1
      ? `${where}${lines[0]}`
      : `${where}${lines.length} invalid settings:\n  ${lines.join("\n  ")}`,
  );
}
