/**
 * The TypeScript side of the single-declaration schema, checked by `deno check` (this file fails
 * to type-check when the derivation breaks): section types derived from the field lists are the
 * types OLMo's config classes have, and a default of the wrong type is a compile-time error at
 * the field that declares it.
 */
import assert from "node:assert/strict";
import type {
  EvaluatorConfig,
  OptimizerConfig,
  TrainConfig,
  WandbConfig,
} from "../lib/config/mod.ts";
import { MODEL_CONFIG_SCHEMA } from "../lib/config/model_config.ts";
import { defineSection, FLOAT, INT, NULL_INT, STR } from "../lib/config/schema.ts";

/** True exactly when `A` and `B` are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

Deno.test("derived section types are OLMo's field types", () => {
  const checks: true[] = [
    true as Same<TrainConfig["model"]["d_model"], number>,
    true as Same<TrainConfig["model"]["mlp_hidden_size"], number | null>,
    true as Same<TrainConfig["model"]["activation_type"], "gelu" | "relu" | "swiglu">,
    true as Same<OptimizerConfig["betas"], [number, number]>,
    true as Same<TrainConfig["wandb"], WandbConfig | null>,
    true as Same<WandbConfig["tags"], string[] | null>,
    true as Same<TrainConfig["evaluators"], EvaluatorConfig[]>,
    true as Same<EvaluatorConfig["label"], string>,
    true as Same<TrainConfig["data"]["datasets"], Record<string, string[]> | null>,
    true as Same<TrainConfig["max_duration"], number | string>,
    true as Same<
      TrainConfig["activation_checkpointing"],
      | "whole_layer"
      | "one_in_two"
      | "one_in_three"
      | "one_in_four"
      | "fine_grained"
      | "one_in_eight" // OLMo later
      | "two_in_three"
      | "three_in_four"
      | null
    >,
    true as Same<
      TrainConfig["backend"],
      "auto" | "tensorflow" | "native" | "wasm" | "webgpu" | "cpu"
    >,
  ];
  assert.equal(checks.length, 12);
});

Deno.test("a default of the wrong type does not compile", () => {
  const E = ["p", "q"] as const;
  const good = defineSection("Good", {
    d: { ...NULL_INT, default: null, doc: "A nullable int." },
    e: { kind: "list", item: STR, nullable: true, default: ["a"], doc: "A list." },
    g: { kind: "tuple", items: [FLOAT, FLOAT], default: [1, 2], doc: "A pair." },
    h: { kind: "enum", name: "E", values: E, default: "q", doc: "An enum." },
  });
  assert.deepEqual(good.defaults(), { d: null, e: ["a"], g: [1, 2], h: "q" });
  const bad = defineSection("Bad", {
    // @ts-expect-error a string default for an int
    a: { ...INT, default: "x", doc: "doc" },
    // @ts-expect-error a value outside the enum
    b: { kind: "enum", name: "E", values: E, default: "r", doc: "doc" },
    // @ts-expect-error null for a field that is not nullable
    c: { ...INT, default: null, doc: "doc" },
    // @ts-expect-error a pair with one element
    f: { kind: "tuple", items: [FLOAT, FLOAT], default: [1], doc: "doc" },
    // @ts-expect-error a section takes its own defaults
    m: { kind: "object", schema: MODEL_CONFIG_SCHEMA, default: {}, doc: "doc" },
    // @ts-expect-error a field that is not required needs a default
    n: { ...STR, doc: "doc" },
  });
  assert.deepEqual(bad.required, []);
});
