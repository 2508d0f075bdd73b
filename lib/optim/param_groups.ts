/**
 * Parameter groups exactly as OLMo's `get_param_groups` (`olmo/optim.py`): every parameter goes
 * into a weight-decay group or a no-decay group, by the kind of module that owns it. With the
 * defaults only Linear weights decay, so a tied `wte` (the output projection too) does not, while
 * an untied `transformer.ff_out.weight` does.
 *
 * @module
 */
import type { ClippingSettings, OptimizerSettings } from "./settings.ts";
import { optimizerBetas, optimizerName } from "./settings.ts";

/** What kind of module owns a parameter (decides weight decay). */
export type ParamKind = "linear_weight" | "embedding" | "norm_weight" | "bias";

/** Maps a parameter name to its kind. */
export type ParamClassifier = (name: string) => ParamKind;

/** Linear layers of OLMo's model (the module name right before `.weight`). */
const LINEAR_MODULES = new Set([
  "att_proj",
  "attn_out",
  "ff_proj",
  "ff_out",
  "fused_attn_ff_proj",
  "q_proj",
  "k_proj",
  "v_proj",
]);
/** Embedding tables (full names). */
const EMBEDDINGS = new Set(["transformer.wte.weight", "transformer.wpe.weight"]);

/**
 * Classifies an OLMo parameter by its name (the names of `olmo/model.py`): `*.bias` → bias;
 * `transformer.wte` / `transformer.wpe` weights → embedding; weights of modules named `ln_f` or
 * ending in `norm` (`attn_norm`, `ff_norm`, `norm`, `q_norm`, `k_norm`) → norm_weight; weights of
 * OLMo's Linear modules (`att_proj`, `attn_out`, `ff_proj`, `ff_out`, `fused_attn_ff_proj`,
 * `q_proj`, `k_proj`, `v_proj`) → linear_weight.
 * @throws Error naming the parameter when it matches none of these.
 */
export function classifyParam(name: string): ParamKind {
  const parts = name.split(".");
  const leaf = parts[parts.length - 1];
  const module = parts.length >= 2 ? parts[parts.length - 2] : "";
  if (leaf === "bias") return "bias";
  if (leaf === "weight") {
    if (EMBEDDINGS.has(name)) return "embedding";
    if (module === "ln_f" || module.endsWith("norm")) return "norm_weight";
    if (LINEAR_MODULES.has(module)) return "linear_weight";
  }
  throw new Error(
    `cannot classify parameter "${name}" for weight decay: expected an OLMo Linear weight ` +
      `(${[...LINEAR_MODULES].join(", ")}), an embedding (transformer.wte/wpe.weight), a norm ` +
      `weight (ln_f or *norm) or a bias`,
  );
}

/** One optimizer parameter group (OLMo's group dict, snake_case as in `optim.pt`). */
export interface ParamGroup {
  /** Parameter names in this group, sorted. */
  param_names: string[];
  /** Current learning rate (set by the scheduler every step). */
  lr: number;
  /** The configured base learning rate. */
  initial_lr: number;
  /** Decoupled weight decay (0 for the no-decay group). */
  weight_decay: number;
  /** `(beta1, beta2)`. */
  betas: [number, number];
  /** AdamW's epsilon (1e-5 in OLMo); absent for LionW. */
  eps?: number;
  /** Global-norm clipping threshold, or null. */
  max_grad_norm: number | null;
  /** Adaptive clipping ratio, or null. */
  max_grad_norm_ratio: number | null;
  /** True when the parameters are shards (data-parallel ZeRO). */
  sharded: boolean;
}

/** Fields that always come from the current run, never from a loaded checkpoint (OLMo). */
export const PARAM_GROUP_FIELDS = [
  "sharded",
  "max_grad_norm",
  "max_grad_norm_ratio",
  "param_names",
] as const;

/** AdamW's epsilon in OLMo (`build_optimizer`). */
export const ADAMW_EPS = 1e-5;

/** Options of `buildParamGroups`. `TrainConfig` itself satisfies the clipping fields. */
export interface ParamGroupOptions extends ClippingSettings {
  /** Parameter classifier; defaults to `classifyParam`. */
  classify?: ParamClassifier;
  /** Marks the groups as holding shards. Default false. */
  sharded?: boolean;
}

/** Effective decay flags, applying the deprecated `no_decay_norm_and_bias` rewrite. */
function decayFlags(cfg: OptimizerSettings): { normAndBias: boolean; embeddings: boolean } {
  if (cfg.no_decay_norm_and_bias !== undefined && cfg.no_decay_norm_and_bias !== null) {
    return { normAndBias: !cfg.no_decay_norm_and_bias, embeddings: !cfg.no_decay_norm_and_bias };
  }
  return {
    normAndBias: cfg.decay_norm_and_bias ?? false,
    embeddings: cfg.decay_embeddings ?? false,
  };
}

/**
 * Splits parameters into `[decay group, no_decay group]` (each only if non-empty), names sorted,
 * the no-decay group with `weight_decay: 0`. A bias or norm weight decays iff
 * `decay_norm_and_bias`; an embedding iff `decay_embeddings`; a Linear weight always.
 * @throws Error on a duplicate or unclassifiable parameter name.
 */
export function buildParamGroups(
  names: Iterable<string>,
  optimizer: OptimizerSettings,
  options: ParamGroupOptions = {},
): ParamGroup[] {
  const classify = options.classify ?? classifyParam;
  const flags = decayFlags(optimizer);
  const kind = optimizerName(optimizer);
  const betas = optimizerBetas(optimizer);
  const decay: string[] = [];
  const noDecay: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new Error(`parameter "${name}" is listed twice`);
    seen.add(name);
    const k = classify(name);
    const decays = k === "linear_weight" ||
      (k === "embedding" && flags.embeddings) ||
      ((k === "norm_weight" || k === "bias") && flags.normAndBias);
    (decays ? decay : noDecay).push(name);
  }
  // Code-unit order, as Python's sorted() on ASCII names.
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  decay.sort(byName);
  noDecay.sort(byName);
  const group = (param_names: string[], weight_decay: number): ParamGroup => ({
    param_names,
    lr: optimizer.learning_rate,
    initial_lr: optimizer.learning_rate,
    weight_decay,
    betas: [betas[0], betas[1]],
    ...(kind === "adamw" ? { eps: optimizer.eps ?? ADAMW_EPS } : {}),
    max_grad_norm: options.max_grad_norm ?? null,
    max_grad_norm_ratio: options.max_grad_norm_ratio ?? null,
    sharded: options.sharded ?? false,
  });
  const groups: ParamGroup[] = [];
  if (decay.length > 0) groups.push(group(decay, optimizer.weight_decay));
  if (noDecay.length > 0) groups.push(group(noDecay, 0));
  return groups;
}
