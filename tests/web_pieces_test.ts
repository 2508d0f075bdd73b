/**
 * Pure pieces of the browser pages, checked in Deno: the playground reads a checkpoint's
 * `config.yaml` model section as `deno task generate` does (compared with `loadConfigSection` on
 * the OLMo reference configs and a trained one; interpolations, which saved configs never hold,
 * are refused), token-id prompts parse as `--token-ids` does,
 * and the dashboard's axis ticks are round and cover the range.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfigSection } from "../lib/config/mod.ts";
import { niceTicks } from "../web/line_chart.ts";
import { modelConfigFromYaml } from "../web/model_config_yaml.ts";
import { parseTokenIds } from "../web/token_ids.ts";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir } from "./_shared.ts";
import { makeTinyEnv, writeTinyConfigYaml } from "./_train_fixture.ts";

Deno.test({
  name: "playground config: the model section equals loadConfigSection's (OLMo configs)",
  ignore: !HAS_SHARED,
  fn: async () => {
    for (const name of OLMO_REFERENCE_CASES) {
      const path = join(referenceCaseDir(name), "config.yaml");
      const expected = await loadConfigSection(path, "model", { validatePaths: false });
      assert.deepEqual(modelConfigFromYaml(await Deno.readTextFile(path), path), expected, name);
    }
  },
});

Deno.test("playground config: a partial model section gets olmo-ts' defaults", async () => {
  const env = await makeTinyEnv();
  try {
    const path = join(env.dir, "tiny.yaml");
    await writeTinyConfigYaml(env, path, join(env.dir, "run"));
    const expected = await loadConfigSection(path, "model", { validatePaths: false });
    assert.deepEqual(modelConfigFromYaml(await Deno.readTextFile(path), path), expected);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("playground config: bad YAML, no model section, unknown keys, wrong types, interpolations", () => {
  const bad: [string, RegExp][] = [
    ["model: [1, 2", /c\.yaml: not valid YAML/],
    ["optimizer: {}", /c\.yaml: there is no 'model' section/],
    ["model: 3", /there is no 'model' section/],
    ["model: {d_modle: 8}", /unknown key 'model\.d_modle' \(did you mean 'model\.d_model'\?\)/],
    ["model: {d_model: eight}", /c\.yaml: model\.d_model: expected int, got 'eight'/],
    ['model: {d_model: "${model.n_heads}"}', /model\.d_model: expected int/],
  ];
  for (const [text, why] of bad) assert.throws(() => modelConfigFromYaml(text, "c.yaml"), why);
});

Deno.test("playground token ids: as generate --token-ids takes them", () => {
  assert.deepEqual(parseTokenIds("133 65,57 ,, 6"), [133, 65, 57, 6]);
  assert.deepEqual(parseTokenIds("  0\n1\t2 "), [0, 1, 2]);
  assert.throws(() => parseTokenIds(" , "), /holds no token ids/);
  assert.throws(() => parseTokenIds("1 -2"), /"-2" is not a token id/);
  assert.throws(() => parseTokenIds("1 2.5"), /"2\.5" is not a token id/);
});

Deno.test("dashboard ticks: round steps (1, 2 or 5 × 10^k) covering the range", () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(3.72, 4.17), [3.8, 3.9, 4, 4.1]);
  assert.deepEqual(niceTicks(1, 1), [1]);
  const ticks = niceTicks(290, 510);
  assert.deepEqual(ticks, [300, 350, 400, 450, 500]);
});
