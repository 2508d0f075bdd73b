/**
 * The `model` section of a checkpoint's `config.yaml`, read in the browser with the config
 * schema's own merge and validation (as `loadConfigSection` does in Deno, without the file
 * access and without interpolations, which saved checkpoint configs never hold): OLMo's keys over
 * olmo-ts' defaults, unknown keys and values of the wrong type refused.
 *
 * @module
 */
import { parse } from "yaml";
import type { ModelConfig } from "../lib/config/model_config.ts";
import { isPlainObject, mergeValue, Provenance } from "../lib/config/merge.ts";
import { TRAIN_CONFIG_SCHEMA } from "../lib/config/train_config.ts";
import { validateValue } from "../lib/config/validate.ts";

/**
 * Parses `text` (a whole `config.yaml`) and returns its model config.
 * @throws Error naming `source` when the YAML is invalid, has no `model` mapping, or has an
 *   unknown model key or a value of the wrong type.
 */
export function modelConfigFromYaml(text: string, source: string): ModelConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  if (!isPlainObject(doc) || !isPlainObject(doc.model)) {
    throw new Error(`${source}: there is no 'model' section`);
  }
  const field = TRAIN_CONFIG_SCHEMA.fields.model;
  const prov = new Provenance(source);
  const merged = mergeValue(field, undefined, doc.model, ["model"], source, prov);
  return validateValue(field, merged, ["model"], prov) as ModelConfig;
}
