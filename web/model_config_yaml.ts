/**
 * The `model` section of a checkpoint's `config.yaml`, read in the browser: OLMo's keys over
 * olmo-ts' defaults. Keys olmo-ts does not know are refused, as `deno task generate` refuses
 * them.
 *
 * @module
 */
import { parse } from "yaml";
import { defaultModelConfig, type ModelConfig } from "../lib/config/model_config.ts";

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
  const model = (doc as Record<string, unknown> | null)?.model;
  if (model === null || typeof model !== "object" || Array.isArray(model)) {
    throw new Error(`${source}: there is no 'model' section`);
  }
  const config = defaultModelConfig() as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(model as Record<string, unknown>)) {
    if (!Object.hasOwn(config, key)) throw new Error(`${source}: unknown key model.${key}`);
    const expected = config[key];
    const typed = value === null || expected === null || typeof value === typeof expected;
    if (!typed) {
      throw new Error(
        `${source}: model.${key} should be a ${typeof expected}, got ${JSON.stringify(value)}`,
      );
    }
    config[key] = value;
  }
  return config as unknown as ModelConfig;
}
