/**
 * The optimizer's host-side state dict: its format, and the validation applied when one is loaded
 * (checkpoints are untrusted input).
 *
 * Format (`OptimizerStateDict`): `state` holds one tensor per parameter and state key, named
 * `{param}.{key}` (keys never contain dots, so the last dot splits them):
 * - `exp_avg`, `exp_avg_sq` (AdamW) / `exp_avg` (LionW): float32, the parameter's shape;
 * - `step` (AdamW): float32 scalar, as torch stores it;
 * - `grad_norm_exp_avg`: float32 scalar, the adaptive-clipping EMA (only with `max_grad_norm_ratio`).
 * `paramGroups` are OLMo's group dicts (JSON), see `ParamGroup`.
 *
 * @module
 */
import type { HostTensor, NamedHostTensors } from "../util/host_tensor.ts";
import { numElements, toFloat32 } from "../util/host_tensor.ts";
import type { ParamGroup } from "./param_groups.ts";
import { PARAM_GROUP_FIELDS } from "./param_groups.ts";
import type { OptimizerName } from "./settings.ts";

/** An optimizer's state on the host: per-parameter tensors plus param groups. */
export interface OptimizerStateDict {
  /** Tensors named `{param}.{key}`. */
  state: NamedHostTensors;
  /** OLMo-style param groups. */
  paramGroups: ParamGroup[];
}

/** Per-element state keys (tensors of the parameter's shape) of each optimizer. */
export const ELEMENT_STATE_KEYS: Record<OptimizerName, readonly string[]> = {
  adamw: ["exp_avg", "exp_avg_sq"],
  lionw: ["exp_avg"],
};
/** Scalar state keys of each optimizer (besides `grad_norm_exp_avg`). */
export const SCALAR_STATE_KEYS: Record<OptimizerName, readonly string[]> = {
  adamw: ["step"],
  lionw: [],
};
/** The adaptive-clipping EMA key, shared by both optimizers. */
export const GRAD_NORM_EMA_KEY = "grad_norm_exp_avg";

/** One parameter's validated state. */
export interface ParsedParamState {
  /** AdamW step count, or null when the parameter has no moments yet (or LionW). */
  step: number | null;
  /** Per-element state by key; empty when the parameter has not been stepped. */
  elements: Map<string, Float32Array>;
  /** Adaptive-clipping EMA, or null. */
  gradNormEma: number | null;
}

/** Splits `{param}.{key}` at the last dot. */
export function splitStateName(name: string): [string, string] {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? ["", name] : [name.slice(0, dot), name.slice(dot + 1)];
}

function scalarValue(t: HostTensor, what: string): number {
  if (numElements(t.shape) !== 1 || t.shape.length > 1) {
    throw new Error(`${what}: expected a scalar, got shape ${JSON.stringify(t.shape)}`);
  }
  if (t.dtype === "bool") throw new Error(`${what}: expected a number, got dtype bool`);
  return toFloat32(t)[0];
}

/**
 * Validates `state` against the optimizer kind and the parameter shapes, returning it grouped by
 * parameter. `source` names the checkpoint in errors.
 * @throws Error naming the tensor (parameter and key) for unknown parameters or keys, wrong
 * shapes or dtypes, and incomplete state (e.g. `exp_avg` without `exp_avg_sq`).
 */
export function parseOptimizerState(
  state: NamedHostTensors,
  kind: OptimizerName,
  shapes: ReadonlyMap<string, readonly number[]>,
  source: string,
): Map<string, ParsedParamState> {
  const elementKeys = ELEMENT_STATE_KEYS[kind];
  const scalarKeys = SCALAR_STATE_KEYS[kind];
  const out = new Map<string, ParsedParamState>();
  for (const [name, t] of state) {
    const [param, key] = splitStateName(name);
    const what = `${source}: optimizer state "${name}"`;
    const shape = shapes.get(param);
    if (shape === undefined) {
      throw new Error(`${what} is for parameter "${param}", which this model does not have`);
    }
    let entry = out.get(param);
    if (!entry) {
      entry = { step: null, elements: new Map(), gradNormEma: null };
      out.set(param, entry);
    }
    if (elementKeys.includes(key)) {
      if (JSON.stringify(t.shape) !== JSON.stringify(shape)) {
        throw new Error(
          `${what} has shape ${JSON.stringify(t.shape)} but parameter "${param}" has shape ${
            JSON.stringify(shape)
          }`,
        );
      }
      if (!["float32", "float16", "bfloat16", "float64"].includes(t.dtype)) {
        throw new Error(`${what} has dtype ${t.dtype}, expected a float dtype`);
      }
      entry.elements.set(key, Float32Array.from(toFloat32(t)));
    } else if (scalarKeys.includes(key)) {
      const step = scalarValue(t, what);
      if (!Number.isInteger(step) || step < 0) {
        throw new Error(`${what} must be a non-negative integer step count, got ${step}`);
      }
      entry.step = step;
    } else if (key === GRAD_NORM_EMA_KEY) {
      const v = scalarValue(t, what);
      if (!Number.isFinite(v) || v < 0) {
        throw new Error(`${what} must be finite and >= 0, got ${v}`);
      }
      entry.gradNormEma = v;
    } else {
      throw new Error(
        `${what}: unknown state key "${key}" for ${kind} (expected one of ${
          [...elementKeys, ...scalarKeys, GRAD_NORM_EMA_KEY].join(", ")
        })`,
      );
    }
  }
  for (const [param, entry] of out) {
    const present = [...elementKeys, ...scalarKeys].filter((k) =>
      entry.elements.has(k) || (k === "step" && entry.step !== null)
    );
    if (present.length > 0 && present.length < elementKeys.length + scalarKeys.length) {
      const missing = [...elementKeys, ...scalarKeys].filter((k) => !present.includes(k));
      throw new Error(
        `${source}: optimizer state of parameter "${param}" is incomplete: has ${
          present.join(", ")
        } but not ${missing.join(", ")}`,
      );
    }
  }
  return out;
}

function groupNumber(saved: Record<string, unknown>, key: string, i: number, source: string) {
  const v = saved[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new Error(
      `${source}: param group ${i} key "${key}" must be a non-negative number, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return v;
}

/**
 * Merges saved param groups into the current ones as OLMo's `fix_optim_state_dict`: a single
 * saved group (old checkpoints) is split into decay/no-decay; `lr`, `initial_lr`,
 * `weight_decay`, `betas` and `eps` come from the checkpoint; `PARAM_GROUP_FIELDS` (names,
 * clipping settings, `sharded`) always come from the current run.
 * @throws Error when the group count differs or a saved field is malformed.
 */
export function mergeParamGroups(
  saved: unknown,
  current: readonly ParamGroup[],
  source: string,
): ParamGroup[] {
  if (!Array.isArray(saved) || !saved.every((g) => g !== null && typeof g === "object")) {
    throw new Error(`${source}: param_groups must be a list of objects`);
  }
  let groups = saved as Record<string, unknown>[];
  if (groups.length === 1 && current.length === 2) {
    groups = [{ ...groups[0] }, { ...groups[0], weight_decay: 0 }];
  }
  if (groups.length !== current.length) {
    throw new Error(
      `${source}: checkpoint has ${groups.length} param groups but the optimizer has ${current.length}`,
    );
  }
  return current.map((cur, i) => {
    const s = groups[i];
    const betas = s.betas;
    if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === "number")) {
      throw new Error(
        `${source}: param group ${i} key "betas" must be two numbers, got ${JSON.stringify(betas)}`,
      );
    }
    const merged: ParamGroup = {
      ...cur,
      lr: groupNumber(s, "lr", i, source),
      initial_lr: groupNumber(s, s.initial_lr === undefined ? "lr" : "initial_lr", i, source),
      weight_decay: groupNumber(s, "weight_decay", i, source),
      betas: [betas[0], betas[1]],
    };
    if (cur.eps !== undefined && s.eps !== undefined) merged.eps = groupNumber(s, "eps", i, source);
    for (const key of PARAM_GROUP_FIELDS) {
      (merged as unknown as Record<string, unknown>)[key] = cur[key];
    }
    return merged;
  });
}
