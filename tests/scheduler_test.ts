/**
 * Scheduler values against the spec's Appendix A table (computed with numpy) and OLMo's
 * `tests/optim_test.py` (spec §4.4).
 */
import assert from "node:assert/strict";
import {
  BoltOnWarmupScheduler,
  buildScheduler,
  CosWithWarmup,
  InvSqrtWithWarmup,
  LinearWithWarmup,
  MaxScheduler,
} from "../lib/optim/mod.ts";
import { defaultSchedulerConfig } from "../lib/config/mod.ts";

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

// Appendix A: lr 1, warmup 100, alpha_f 0.1, max 1000; values rounded to 6 decimals.
const TABLE: [number, number, number, number][] = [
  [0, 0.1, 0.1, 0.1],
  [1, 0.109, 0.109, 0.109],
  [50, 0.55, 0.55, 0.55],
  [99, 0.991, 0.991, 0.991],
  [100, 1.0, 1.0, 1.0],
  [101, 0.999997, 0.999, 0.995037],
  [550, 0.55, 0.55, 0.426401],
  [999, 0.100003, 0.101, 0.316386],
  [1000, 0.1, 0.1, 0.316228],
  [2000, 0.1, 0.1, 0.223607],
];

Deno.test("schedulers match the Appendix A table", () => {
  const cos = buildScheduler({ name: "cosine_with_warmup", t_warmup: 100, alpha_f: 0.1 });
  const lin = buildScheduler({ name: "linear_with_warmup", t_warmup: 100, alpha_f: 0.1 });
  const inv = buildScheduler({ name: "inverse_sqrt_with_warmup", t_warmup: 100, alpha_f: 0.1 });
  for (const [step, c, l, i] of TABLE) {
    close(cos.getLr(1, step, 1000), c, 5e-7, `cosine step ${step}`);
    close(lin.getLr(1, step, 1000), l, 5e-7, `linear step ${step}`);
    close(inv.getLr(1, step, 1000), i, 5e-7, `inv-sqrt step ${step}`);
  }
});

Deno.test("max_scheduler takes the larger of cosine and inverse sqrt", () => {
  const max = buildScheduler({ name: "max_scheduler", t_warmup: 100, alpha_f: 0.1 });
  for (const [step, c, , i] of TABLE) {
    close(max.getLr(1, step, 1000), Math.max(c, i), 5e-7, `max step ${step}`);
  }
  assert.ok(max instanceof MaxScheduler);
});

Deno.test("t_max overrides max_steps and the LR scales with initial_lr", () => {
  const cos = new CosWithWarmup(100, 0.1, 1000);
  // max_steps is ignored when t_max is set.
  close(cos.getLr(3e-4, 550, 99999), 0.55 * 3e-4, 1e-12, "cosine mid");
  close(cos.getLr(3e-4, 5000, 99999), 0.1 * 3e-4, 1e-15, "cosine after t_max");
  const viaConfig = buildScheduler({
    name: "linear_with_warmup",
    t_warmup: 100,
    t_max: 1000,
    alpha_f: 0.1,
  });
  close(viaConfig.getLr(2, 550, 5), 1.1, 1e-12, "linear mid with t_max");
});

Deno.test("OLMo optim_test: LinearWithWarmup(2000) with lr 1, max 10000", () => {
  const s = new LinearWithWarmup(2000, 0.1);
  close(s.getLr(1, 0, 10000), 0.1, 1e-12, "step 0");
  close(s.getLr(1, 2000, 10000), 1.0, 1e-12, "step 2000");
  close(s.getLr(1, 10000, 10000), 0.1, 1e-12, "step 10000");
  assert.ok(s.getLr(1, 3000, 10000) > s.getLr(1, 5000, 10000));
});

Deno.test("OLMo optim_test: bolt-on warmup over Linear(1000, 0.1), (5000, 6000), max 11000", () => {
  const inner = new LinearWithWarmup(1000, 0.1);
  const s = new BoltOnWarmupScheduler(inner, 5000, 6000);
  close(s.getLr(1, 100, 11000), 0, 0, "step 100");
  close(s.getLr(1, 5000, 11000), 0, 0, "step 5000");
  close(s.getLr(1, 5500, 11000), 0.25 * 1.1, 1e-12, "step 5500");
  close(s.getLr(1, 6000, 11000), 0.5 * 1.1, 1e-12, "step 6000");
  assert.equal(s.getLr(1, 7000, 11000), inner.getLr(1, 7000, 11000));
});

Deno.test("warmup starts at 10% of the LR", () => {
  const s = new InvSqrtWithWarmup(10);
  close(s.getLr(2, 0, 100), 0.2, 1e-15, "step 0");
  close(s.getLr(2, 5, 100), 2 * (0.1 + 0.9 * 0.5), 1e-15, "step 5");
});

Deno.test("buildScheduler rejects unknown names and bad fields", () => {
  assert.throws(
    () => buildScheduler({ name: "polynomial", t_warmup: 0, alpha_f: 0.1 }),
    /scheduler\.name: unknown scheduler "polynomial".*cosine_with_warmup/,
  );
  assert.throws(
    () => buildScheduler({ name: "cosine_with_warmup", t_warmup: -1, alpha_f: 0.1 }),
    /scheduler\.t_warmup/,
  );
});

Deno.test("the config module's SchedulerConfig builds OLMo's default cosine schedule", () => {
  const s = buildScheduler(defaultSchedulerConfig());
  assert.ok(s instanceof CosWithWarmup);
  close(s.getLr(1, 0, 1000), 0.1, 1e-15, "warmup start");
  close(s.getLr(1, 550, 1000), 0.55, 1e-12, "mid decay");
});
