/**
 * The single-declaration config schema: `defineSection` derives each section's defaults from its
 * fields (fresh copies every time), every field carries its documentation into `--help`, and
 * per-load resolvers (`LoadOptions.resolvers`) work without touching the process-wide registry.
 */
import assert from "node:assert/strict";
import {
  configFieldsHelp,
  defaultTrainConfig,
  defaultWandbConfig,
  trainConfigFromObject,
} from "../lib/config/mod.ts";
import { defineSection, INT, type ObjectSchema, STR } from "../lib/config/schema.ts";
import { TRAIN_CONFIG_SCHEMA } from "../lib/config/train_config.ts";
import { corpusResolvers } from "../lib/data/corpus_resolvers.ts";

Deno.test("defineSection: defaults in field order, required fields absent, fresh copies", () => {
  const inner = defineSection("Inner", {
    tags: { kind: "list", item: STR, default: ["a"], doc: "Tags." },
  });
  const outer = defineSection("Outer", {
    label: { ...STR, required: true, doc: "Required label." },
    n: { ...INT, default: 3, doc: "A count." },
    inner: { kind: "object", schema: inner, doc: "Nested." },
  });
  assert.deepEqual(outer.required, ["label"]);
  const a = outer.defaults();
  assert.deepEqual(Object.keys(a), ["n", "inner"]);
  assert.deepEqual(a, { n: 3, inner: { tags: ["a"] } });
  a.inner.tags.push("b");
  assert.deepEqual(outer.defaults().inner.tags, ["a"], "a mutated default leaks into the next");
  const w = defaultWandbConfig();
  w.tags!.push("x");
  assert.deepEqual(defaultWandbConfig().tags, ["watching"]);
  assert.notEqual(defaultTrainConfig().model, defaultTrainConfig().model);
});

Deno.test("every TrainConfig field is documented, and --help shows the documentation", () => {
  const undocumented: string[] = [];
  const walk = (schema: ObjectSchema, prefix: string) => {
    for (const [key, f] of Object.entries(schema.fields)) {
      if (f.doc.trim().length < 5) undocumented.push(prefix + key);
      if (f.kind === "object") walk(f.schema, `${prefix}${key}.`);
      if (f.kind === "list" && f.item.kind === "object") walk(f.item.schema, `${prefix}${key}[].`);
    }
  };
  walk(TRAIN_CONFIG_SCHEMA, "");
  assert.deepEqual(undocumented, []);
  const help = configFieldsHelp().split("\n");
  const i = help.findIndex((l) => l.startsWith("  --optimizer.learning_rate <float>"));
  assert.ok(i >= 0);
  assert.match(help[i + 1], /^ {6}Base learning rate, the input of the scheduler\./);
  assert.ok(
    help.some((l) => /^ {2}--evaluators <list\[EvaluatorConfig\]> \(default: \[\]\)$/.test(l)),
  );
});

Deno.test("LoadOptions.resolvers: per-load resolvers, without registering them", async () => {
  const raw = { model: { d_model: "${test.load_only:7}" } };
  await assert.rejects(trainConfigFromObject(raw), /unknown resolver 'test\.load_only'/);
  const cfg = await trainConfigFromObject(raw, {
    resolvers: { "test.load_only": (args) => Number(args[0]) * 8 },
  });
  assert.equal(cfg.model.d_model, 56);
  await assert.rejects(trainConfigFromObject(raw), /unknown resolver 'test\.load_only'/);

  // The corpus resolvers of lib/data, given to one load. With validatePaths false and an empty
  // cache they give the values the Brown corpus will have, without preparing it.
  const cacheDir = await Deno.makeTempDir({ prefix: "olmo-ts-resolvers-" });
  try {
    const brown = await trainConfigFromObject({
      model: {
        vocab_size: "${corpus.vocab_size:brown}",
        eos_token_id: "${corpus.eos_token_id:brown}",
        pad_token_id: "${corpus.pad_token_id:brown}",
      },
    }, { resolvers: corpusResolvers({ cacheDir }), validatePaths: false });
    assert.deepEqual(
      [brown.model.vocab_size, brown.model.eos_token_id, brown.model.pad_token_id],
      [4096, 4095, 4094],
    );
    assert.deepEqual([...Deno.readDirSync(cacheDir)], [], "nothing was prepared");
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
