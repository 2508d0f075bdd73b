/**
 * OLMo's `Olmo._make_state_dict_compatible`: renames that let a state dict saved by
 * another OLMo version or FSDP/block-group layout load into this model.
 *
 * @module
 */
import type { ModelConfig } from "../config/model_config.ts";

/** Result of `makeStateDictCompatible`. */
export interface CompatibleStateDict<T> {
  /** The renamed state dict (a new map; the input is not modified). */
  state: Map<string, T>;
  /** Each original key → the new key(s) it became (two for a duplicated legacy `norm`). */
  ogKeysToNew: Map<string, Set<string>>;
}

const LEGACY_NORM = /^transformer\..*\.norm\.(weight|bias)$/;
const GROUPED = /^transformer.block_groups\.(\d+)\.(\d+)\./;
const UNGROUPED = /^transformer.blocks\.(\d+)\./;

/** The block group size a state dict was saved with (OLMo counts `block_groups.0.*.attn_out.weight`). */
export function stateDictBlockGroupSize(keys: Iterable<string>): number {
  let n = 0;
  let grouped = false;
  for (const k of keys) {
    if (k === "transformer.block_groups.0.0.attn_out.weight") grouped = true;
    if (/^transformer\.block_groups\.0\..*\.attn_out\.weight$/.test(k)) n++;
  }
  return grouped ? n : 1;
}

/** `transformer.block_groups.G.J.rest` → `transformer.blocks.(G·size+J).rest`; other names unchanged. */
export function ungroupName(name: string, groupSize: number): string {
  const m = GROUPED.exec(name);
  if (!m) return name;
  const block = Number(m[1]) * groupSize + Number(m[2]);
  return name.replace(`block_groups.${m[1]}.${m[2]}.`, `blocks.${block}.`);
}

/** `transformer.blocks.N.rest` → `transformer.block_groups.(N/size).(N%size).rest`; other names unchanged. */
export function groupName(name: string, groupSize: number): string {
  const m = UNGROUPED.exec(name);
  if (!m) return name;
  const block = Number(m[1]);
  const g = Math.floor(block / groupSize);
  return name.replace(`blocks.${block}.`, `block_groups.${g}.${block % groupSize}.`);
}

/**
 * Applies OLMo's compatibility renames, in OLMo's order:
 * 1. strips every `_fsdp_wrapped_module.`;
 * 2. for the sequential block, replaces legacy `transformer.*.norm.{weight,bias}` by the same
 *    tensor under both `attn_norm` and `ff_norm` (the two entries share the value object);
 * 3. when the state dict's block group size differs from `config.block_group_size`, flattens
 *    `block_groups.G.J.` to `blocks.N.` and regroups to the config's size.
 */
export function makeStateDictCompatible<T>(
  state: Map<string, T>,
  config: Pick<ModelConfig, "block_type" | "block_group_size">,
): CompatibleStateDict<T> {
  let entries: [string, T][] = [];
  const origin = new Map<string, string>(); // new key → original key
  for (const [key, value] of state) {
    const newKey = key.replaceAll("_fsdp_wrapped_module.", "");
    entries.push([newKey, value]);
    origin.set(newKey, key);
  }

  if (config.block_type === "sequential") {
    const next: [string, T][] = [];
    for (const [key, value] of entries) {
      const m = LEGACY_NORM.exec(key);
      if (!m) {
        next.push([key, value]);
        continue;
      }
      const og = origin.get(key)!;
      origin.delete(key);
      for (const which of ["attn_norm", "ff_norm"]) {
        const newKey = key.replace(`norm.${m[1]}`, `${which}.${m[1]}`);
        next.push([newKey, value]);
        origin.set(newKey, og);
      }
    }
    entries = next;
  }

  const savedSize = stateDictBlockGroupSize(entries.map(([k]) => k));
  if (savedSize !== config.block_group_size) {
    const rename = (f: (k: string) => string) => {
      entries = entries.map(([key, value]) => {
        const newKey = f(key);
        if (newKey !== key) {
          origin.set(newKey, origin.get(key)!);
          origin.delete(key);
        }
        return [newKey, value];
      });
    };
    if (savedSize > 1) rename((k) => ungroupName(k, savedSize));
    if (config.block_group_size > 1) rename((k) => groupName(k, config.block_group_size));
  }

  const out = new Map<string, T>();
  for (const [key, value] of entries) {
    if (out.has(key)) throw new Error(`state dict: two tensors map to the name ${key}`);
    out.set(key, value);
  }
  const ogKeysToNew = new Map<string, Set<string>>();
  for (const [newKey, og] of origin) {
    if (!ogKeysToNew.has(og)) ogKeysToNew.set(og, new Set());
    ogKeysToNew.get(og)!.add(newKey);
  }
  return { state: out, ogKeysToNew };
}
