/**
 * Parameter groups, AdamW/LionW updates, gradient clipping and optimizer state, checked against
 * values computed by hand in float64 (spec §4.1–4.3).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  adamwScalars,
  adamwUpdate,
  buildParamGroups,
  classifyParam,
  createOptimizer,
  disposeAdamWScalars,
} from "../lib/optim/mod.ts";
import type { OptimizerSettings } from "../lib/optim/mod.ts";

tf.env().set("PROD", true);

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = "",
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

const ADAMW: OptimizerSettings = {
  name: "adamw",
  learning_rate: 0.01,
  weight_decay: 0.1,
  betas: [0.9, 0.95],
};

Deno.test("classifyParam knows OLMo's parameter names", () => {
  const cases: [string, string][] = [
    ["transformer.blocks.0.att_proj.weight", "linear_weight"],
    ["transformer.blocks.1.attn_out.weight", "linear_weight"],
    ["transformer.blocks.0.ff_proj.weight", "linear_weight"],
    ["transformer.blocks.0.ff_out.weight", "linear_weight"],
    ["transformer.blocks.0.fused_attn_ff_proj.weight", "linear_weight"],
    ["transformer.blocks.0.q_proj.weight", "linear_weight"],
    ["transformer.block_groups.0.1.v_proj.weight", "linear_weight"],
    ["transformer.ff_out.weight", "linear_weight"],
    ["transformer.wte.weight", "embedding"],
    ["transformer.wpe.weight", "embedding"],
    ["transformer.ln_f.weight", "norm_weight"],
    ["transformer.blocks.0.attn_norm.weight", "norm_weight"],
    ["transformer.blocks.0.ff_norm.weight", "norm_weight"],
    ["transformer.blocks.0.norm.weight", "norm_weight"],
    ["transformer.blocks.0.q_norm.weight", "norm_weight"],
    ["transformer.blocks.0.k_norm.weight", "norm_weight"],
    ["transformer.blocks.0.att_proj.bias", "bias"],
    ["transformer.ln_f.bias", "bias"],
  ];
  for (const [name, kind] of cases) assert.equal(classifyParam(name), kind, name);
  assert.throws(
    () => classifyParam("transformer.mystery.weight"),
    /"transformer\.mystery\.weight"/,
  );
});

const TIED_NAMES = [
  "transformer.wte.weight",
  "transformer.ln_f.weight",
  "transformer.blocks.0.attn_out.weight",
  "transformer.blocks.0.att_proj.weight",
  "transformer.blocks.0.att_proj.bias",
  "transformer.blocks.0.attn_norm.weight",
];

Deno.test("param groups: by default only Linear weights decay, names sorted", () => {
  const groups = buildParamGroups(TIED_NAMES, ADAMW, { max_grad_norm: 1.0 });
  assert.equal(groups.length, 2);
  assert.deepEqual(groups[0].param_names, [
    "transformer.blocks.0.att_proj.weight",
    "transformer.blocks.0.attn_out.weight",
  ]);
  assert.deepEqual(groups[1].param_names, [
    "transformer.blocks.0.att_proj.bias",
    "transformer.blocks.0.attn_norm.weight",
    "transformer.ln_f.weight",
    "transformer.wte.weight",
  ]);
  assert.equal(groups[0].weight_decay, 0.1);
  assert.equal(groups[1].weight_decay, 0);
  for (const g of groups) {
    assert.equal(g.lr, 0.01);
    assert.equal(g.initial_lr, 0.01);
    assert.deepEqual(g.betas, [0.9, 0.95]);
    assert.equal(g.eps, 1e-5);
    assert.equal(g.max_grad_norm, 1.0);
    assert.equal(g.max_grad_norm_ratio, null);
    assert.equal(g.sharded, false);
  }
  // An untied output projection is a Linear and decays.
  const untied = buildParamGroups([...TIED_NAMES, "transformer.ff_out.weight"], ADAMW);
  assert.ok(untied[0].param_names.includes("transformer.ff_out.weight"));
  // LionW groups carry no eps.
  assert.equal(buildParamGroups(TIED_NAMES, { ...ADAMW, name: "lionw" })[0].eps, undefined);
});

Deno.test("param groups: decay flags and the deprecated no_decay_norm_and_bias", () => {
  const normBias = buildParamGroups(TIED_NAMES, { ...ADAMW, decay_norm_and_bias: true });
  assert.deepEqual(normBias[1].param_names, ["transformer.wte.weight"]);
  const emb = buildParamGroups(TIED_NAMES, { ...ADAMW, decay_embeddings: true });
  assert.ok(emb[0].param_names.includes("transformer.wte.weight"));
  assert.equal(emb[1].param_names.length, 3);
  const all = buildParamGroups(TIED_NAMES, { ...ADAMW, no_decay_norm_and_bias: false });
  assert.equal(all.length, 1, "everything decays: the empty no-decay group is dropped");
  assert.equal(all[0].param_names.length, TIED_NAMES.length);
  const none = buildParamGroups(TIED_NAMES, {
    ...ADAMW,
    decay_norm_and_bias: true,
    no_decay_norm_and_bias: true,
  });
  assert.equal(none[1].param_names.length, 4, "the deprecated flag wins");
  assert.throws(() => buildParamGroups(["x.ln_f.weight", "x.ln_f.weight"], ADAMW), /listed twice/);
  assert.throws(() => buildParamGroups(TIED_NAMES, { ...ADAMW, name: "sgd" }), /optimizer\.name/);
});

/** Hand-computed float64 AdamW (torch formula). */
function adamwReference(
  p0: number[],
  grads: number[][],
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  wd: number,
) {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= (lr / (1 - b1 ** t)) * m[i] / denom;
    }
  });
  return { p, m, v };
}

function makeParams(values: Record<string, number[]>): Map<string, tf.Variable> {
  return new Map(Object.entries(values).map(([n, v]) => [n, tf.variable(tf.tensor1d(v))]));
}

Deno.test("AdamW: two steps with bias correction and decoupled weight decay", async () => {
  const init = {
    "transformer.blocks.0.att_proj.weight": [0.5, -1.25, 2.0],
    "transformer.ln_f.weight": [1.0, 0.75],
  };
  const g1 = {
    "transformer.blocks.0.att_proj.weight": [0.1, -0.3, 0.02],
    "transformer.ln_f.weight": [-0.5, 0.25],
  };
  const g2 = {
    "transformer.blocks.0.att_proj.weight": [0.05, 0.4, -0.2],
    "transformer.ln_f.weight": [0.125, 0],
  };
  const params = makeParams(init);
  const opt = createOptimizer(ADAMW, params);
  const before = tf.memory().numTensors;
  for (const g of [g1, g2]) {
    const grads = new Map(Object.entries(g).map(([n, v]) => [n, tf.tensor1d(v)]));
    opt.step(grads);
    tf.dispose([...grads.values()]);
  }
  assert.equal(tf.memory().numTensors, before + 4, "only the 4 moment tensors were added");
  for (
    const [name, wd] of [["transformer.blocks.0.att_proj.weight", 0.1], [
      "transformer.ln_f.weight",
      0,
    ]] as const
  ) {
    const ref = adamwReference(
      init[name],
      [g1[name], g2[name]],
      0.01,
      0.9,
      0.95,
      1e-5,
      wd,
    );
    assertClose(await params.get(name)!.data(), ref.p, 2e-7, name);
  }
  const sd = await opt.stateDict();
  const ref = adamwReference(
    init["transformer.ln_f.weight"],
    [g1["transformer.ln_f.weight"], g2["transformer.ln_f.weight"]],
    0.01,
    0.9,
    0.95,
    1e-5,
    0,
  );
  assertClose(
    sd.state.get("transformer.ln_f.weight.exp_avg")!.data as Float32Array,
    ref.m,
    1e-6,
    "m",
  );
  assertClose(
    sd.state.get("transformer.ln_f.weight.exp_avg_sq")!.data as Float32Array,
    ref.v,
    1e-6,
    "v",
  );
  assert.equal((sd.state.get("transformer.ln_f.weight.step")!.data as Float32Array)[0], 2);
  opt.dispose();
  tf.dispose([...params.values()]);
});

Deno.test("AdamW core update works on any shape: a flat shard equals per-parameter updates", async () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = tf.tensor1d([-1, 0.5, 0.25]);
  const ga = tf.tensor2d([[0.1, -0.2], [0.3, 0.0]]);
  const gb = tf.tensor1d([0.7, -0.1, 0.05]);
  const s = adamwScalars({
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-5,
    weightDecay: 0.1,
    step: 3,
  });
  const m0 = (t: tf.Tensor) => tf.mul(t, 0.5);
  const v0 = (t: tf.Tensor) => tf.mul(tf.square(t), 0.25);
  const [ra, rb, rFlat] = tf.tidy(() => {
    const ua = adamwUpdate(a, ga, m0(ga), v0(ga), s);
    const ub = adamwUpdate(b, gb, m0(gb), v0(gb), s);
    const flat = (x: tf.Tensor, y: tf.Tensor) => tf.concat([tf.reshape(x, [-1]), y]);
    const uf = adamwUpdate(flat(a, b), flat(ga, gb), m0(flat(ga, gb)), v0(flat(ga, gb)), s);
    return [ua.param, ub.param, uf.param];
  });
  const perParam = [...(await ra.data()), ...(await rb.data())];
  assert.deepEqual([...(await rFlat.data())], perParam);
  disposeAdamWScalars(s);
  tf.dispose([a, b, ga, gb, ra, rb, rFlat]);
});

Deno.test("LionW: two steps, sign(0) = 0, and update_cos_sim", async () => {
  const lion: OptimizerSettings = { ...ADAMW, name: "lionw", learning_rate: 0.1 };
  const init = {
    "transformer.blocks.0.ff_out.weight": [1.0, -2.0, 0.5],
    "transformer.wte.weight": [0.25, 4.0],
  };
  const g1 = {
    "transformer.blocks.0.ff_out.weight": [0.3, 0.0, -0.2],
    "transformer.wte.weight": [-1.0, 2.0],
  };
  const g2 = {
    "transformer.blocks.0.ff_out.weight": [-0.9, 0.0, -0.1],
    "transformer.wte.weight": [0.05, -2.0],
  };
  const params = makeParams(init);
  const opt = createOptimizer(lion, params);
  let lastCos = 0;
  for (const g of [g1, g2]) {
    const grads = new Map(Object.entries(g).map(([n, v]) => [n, tf.tensor1d(v)]));
    opt.step(grads);
    tf.dispose([...grads.values()]);
    lastCos = (await opt.postStepMetrics()).update_cos_sim;
  }
  // Hand computation in float64, also of the step-2 cosine similarity.
  let dot = 0, uSq = 0, sSq = 0;
  for (
    const [name, wd] of [["transformer.blocks.0.ff_out.weight", 0.1], [
      "transformer.wte.weight",
      0,
    ]] as const
  ) {
    const p = [...init[name]];
    const m = p.map(() => 0);
    [g1[name], g2[name]].forEach((g, k) => {
      for (let i = 0; i < p.length; i++) {
        p[i] *= 1 - 0.1 * wd;
        const u = 0.9 * m[i] + 0.1 * g[i];
        p[i] -= 0.1 * Math.sign(u);
        m[i] = 0.95 * m[i] + 0.05 * g[i];
        if (k === 1) {
          dot += Math.abs(u);
          uSq += u * u;
          sSq += Math.sign(u) ** 2;
        }
      }
    });
    assertClose(await params.get(name)!.data(), p, 2e-7, name);
  }
  // The element with zero gradient never moved except for weight decay: -2·0.99².
  assertClose([(await params.get("transformer.blocks.0.ff_out.weight")!.data())[1]], [
    -2 * 0.99 * 0.99,
  ], 1e-7);
  assertClose([lastCos], [dot / (Math.sqrt(uSq) * Math.sqrt(sSq))], 1e-6, "update_cos_sim");
  const sd = await opt.stateDict();
  assert.deepEqual([...sd.state.keys()].sort(), [
    "transformer.blocks.0.ff_out.weight.exp_avg",
    "transformer.wte.weight.exp_avg",
  ]);
  opt.dispose();
  tf.dispose([...params.values()]);
});

function gradMap(values: Record<string, number[]>): Map<string, tf.Tensor> {
  return new Map(Object.entries(values).map(([n, v]) => [n, tf.tensor1d(v)]));
}

Deno.test("global clipping: coefficient max/(total+1e-6), metrics and clipping_rate", async () => {
  const params = makeParams({
    "transformer.blocks.0.att_proj.weight": [1, 1],
    "transformer.ln_f.weight": [1],
  });
  const opt = createOptimizer(ADAMW, params, { max_grad_norm: 1.0 });
  // Norms 5 and 12: total 13.
  const grads = gradMap({
    "transformer.blocks.0.att_proj.weight": [3, -4],
    "transformer.ln_f.weight": [12],
  });
  const before = tf.memory().numTensors;
  const r = await opt.clipGradsAndCollectMetrics(grads, 1, true);
  assert.equal(tf.memory().numTensors, before + 2, "only the clipped gradients remain");
  const coef = 1 / (13 + 1e-6);
  assertClose([r.totalGradNorm], [13], 1e-7, "total");
  assertClose(await r.grads.get("transformer.blocks.0.att_proj.weight")!.data(), [
    3 * coef,
    -4 * coef,
  ], 1e-6);
  assertClose(await r.grads.get("transformer.ln_f.weight")!.data(), [12 * coef], 1e-6);
  const m = r.metrics;
  assertClose([m.total_grad_norm, m.clipping_rate], [13, 1], 1e-7, "total, rate");
  assertClose(
    [
      m["grad/transformer.blocks.0.att_proj.weight.min"],
      m["grad/transformer.blocks.0.att_proj.weight.max"],
    ],
    [3, 4],
    1e-7,
    "grad min/max of |x|",
  );
  assertClose([m["grad/transformer.blocks.0.att_proj.weight.avg"]], [-0.5], 1e-7, "grad avg");
  assertClose([m["grad/transformer.ln_f.weight.norm"], m["param/transformer.ln_f.weight.norm"]], [
    12,
    1,
  ], 1e-7);
  tf.dispose([...r.grads.values()]);
  // A large threshold leaves gradients unchanged and reports no clipping.
  const loose = createOptimizer(ADAMW, params, { max_grad_norm: 100 });
  const r2 = await loose.clipGradsAndCollectMetrics(grads, 1, true);
  assertClose(await r2.grads.get("transformer.ln_f.weight")!.data(), [12], 0);
  assert.equal(r2.metrics.clipping_rate, 0);
  // Without collecting, only the total is reported.
  const r3 = await loose.clipGradsAndCollectMetrics(grads, 1, false);
  assert.deepEqual(Object.keys(r3.metrics), ["total_grad_norm"]);
  tf.dispose([...r2.grads.values(), ...r3.grads.values(), ...grads.values(), ...params.values()]);
});

Deno.test("adaptive clipping: the EMA follows the clipped norm (upstream #371 fix)", async () => {
  const name = "transformer.blocks.0.att_proj.weight";
  const params = makeParams({ [name]: [0, 0] });
  // beta = max(0.9, 0.95) = 0.95; ratio 2.
  const opt = createOptimizer(ADAMW, params, { max_grad_norm_ratio: 2, max_grad_norm: 1 });
  const run = async (g: number[], step: number) => {
    const grads = gradMap({ [name]: g });
    const r = await opt.clipGradsAndCollectMetrics(grads, step, true);
    const out = { g: [...(await r.grads.get(name)!.data())], m: r.metrics };
    tf.dispose([...grads.values(), ...r.grads.values()]);
    return out;
  };
  // Step 1: the EMA starts at the norm (5) and is not stored; no clipping (2·5 > 5).
  let r = await run([3, 4], 1);
  assertClose(r.g, [3, 4], 1e-7);
  assertClose([r.m[`grad_norm_exp_avg/${name}`]], [5], 1e-7);
  assert.equal((await opt.stateDict()).state.size, 0, "nothing stored at step 1");
  // Step 2: starts again at the norm (10), now stored; EMA = lerp(10, 10, 0.05) = 10.
  r = await run([6, 8], 2);
  assertClose([r.m[`grad_norm_exp_avg/${name}`]], [10], 1e-7);
  // Step 3: norm 5 < 2·10: not clipped; the fixed EMA moves toward 5: 10 + 0.05·(5 − 10) = 9.75.
  // (The bug at 0afafd6d would move it toward 2·10, giving 10.5.)
  r = await run([3, 4], 3);
  assertClose(r.g, [3, 4], 1e-7);
  assertClose([r.m[`grad_norm_exp_avg/${name}`]], [9.75], 1e-6);
  assert.equal(r.m.clipping_rate, 0);
  // Step 4: norm 100 > 2·9.75: clipped to 19.5; EMA → 9.75 + 0.05·(19.5 − 9.75).
  r = await run([60, 80], 4);
  const coef = 19.5 / (100 + 1e-6);
  assertClose(r.g, [60 * coef, 80 * coef], 1e-6);
  assertClose([r.m[`grad_norm_exp_avg/${name}`]], [9.75 + 0.05 * (100 * coef - 9.75)], 1e-6);
  assert.equal(r.m.clipping_rate, 1);
  const sd = await opt.stateDict();
  assertClose(sd.state.get(`${name}.grad_norm_exp_avg`)!.data as Float32Array, [10.2375], 1e-6);
  opt.dispose();
  tf.dispose([...params.values()]);
});

Deno.test("optimizer state round trip continues training identically", async () => {
  const init = {
    "transformer.blocks.0.att_proj.weight": [0.5, -1.5],
    "transformer.wte.weight": [2, 3, 4],
  };
  const gs = [
    {
      "transformer.blocks.0.att_proj.weight": [0.1, 0.2],
      "transformer.wte.weight": [-0.3, 0, 0.5],
    },
    {
      "transformer.blocks.0.att_proj.weight": [-0.4, 0.2],
      "transformer.wte.weight": [0.3, 0.1, 0],
    },
  ];
  for (const name of ["adamw", "lionw"]) {
    const cfg = { ...ADAMW, name };
    const a = makeParams(init);
    const optA = createOptimizer(cfg, a, { max_grad_norm_ratio: 3 });
    for (const [i, g] of gs.entries()) {
      const grads = gradMap(g);
      const r = await optA.clipGradsAndCollectMetrics(grads, i + 1, false);
      optA.step(r.grads, 0.02);
      tf.dispose([...grads.values(), ...r.grads.values()]);
    }
    const sd = await optA.stateDict();
    // A fresh optimizer over copies of the parameters, loaded from the state dict.
    const b = new Map([...a].map(([n, v]) => [n, tf.variable(v.clone())]));
    const optB = createOptimizer(cfg, b, { max_grad_norm_ratio: 3 });
    optB.loadStateDict(structuredClone(sd));
    assert.equal(optB.paramGroups[0].lr, 0.02, "group LR restored");
    for (const opt of [optA, optB]) {
      const grads = gradMap(gs[0]);
      const r = await opt.clipGradsAndCollectMetrics(grads, 3, false);
      opt.step(r.grads);
      tf.dispose([...grads.values(), ...r.grads.values()]);
    }
    for (const n of a.keys()) {
      assert.deepEqual(
        [...(await b.get(n)!.data())],
        [...(await a.get(n)!.data())],
        `${name} ${n}`,
      );
    }
    optA.dispose();
    optB.dispose();
    tf.dispose([...a.values(), ...b.values()]);
  }
});

Deno.test("loadStateDict validates and names the offending parameter", () => {
  const params = makeParams({
    "transformer.blocks.0.att_proj.weight": [1, 2],
    "transformer.wte.weight": [3],
  });
  const opt = createOptimizer(ADAMW, params);
  const f32 = (shape: number[], ...v: number[]) => ({
    dtype: "float32" as const,
    shape,
    data: Float32Array.from(v),
  });
  const groups = opt.paramGroups;
  const load = (entries: [string, ReturnType<typeof f32>][], paramGroups: unknown = groups) =>
    opt.loadStateDict(
      { state: new Map(entries), paramGroups: paramGroups as typeof groups },
      "ckpt/optim",
    );
  assert.throws(
    () => load([["transformer.blocks.9.att_proj.weight.exp_avg", f32([2], 0, 0)]]),
    /ckpt\/optim: .*"transformer\.blocks\.9\.att_proj\.weight", which this model does not have/,
  );
  assert.throws(
    () => load([["transformer.wte.weight.exp_avg", f32([2], 0, 0)]]),
    /"transformer\.wte\.weight\.exp_avg" has shape \[2\] but parameter "transformer\.wte\.weight" has shape \[1\]/,
  );
  assert.throws(
    () =>
      load([["transformer.wte.weight.exp_avg", f32([1], 0)], [
        "transformer.wte.weight.step",
        f32([], 1),
      ]]),
    /"transformer\.wte\.weight" is incomplete: has exp_avg, step but not exp_avg_sq/,
  );
  assert.throws(
    () => load([["transformer.wte.weight.momentum", f32([1], 0)]]),
    /unknown state key "momentum"/,
  );
  assert.throws(
    () => load([], [groups[0], groups[1], groups[0]]),
    /3 param groups but the optimizer has 2/,
  );
  // An old single-group checkpoint is split into decay / no-decay (fix_optim_state_dict).
  load([], [{ ...groups[0], lr: 0.5, initial_lr: 0.5 }]);
  assert.deepEqual(opt.paramGroups.map((g) => [g.lr, g.weight_decay]), [[0.5, 0.1], [0.5, 0]]);
  assert.deepEqual(opt.paramGroups[1].param_names, ["transformer.wte.weight"]);
  opt.dispose();
  tf.dispose([...params.values()]);
});
