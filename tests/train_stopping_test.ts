/**
 * OLMo's stop decisions (`stopping.ts`, spec §6.5): `stop_at` on any step; the time limit
 * (`elapsed >= time_limit`), early stopping and a cancel signal on `canceled_check_interval`
 * steps; several ranks take the maximum of their decisions, so they all stop at the same step.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cancelReason, type StepState, type StopConditions } from "../lib/train/stopping.ts";

Deno.test("stop decisions: stop_at every step, the rest every canceled_check_interval, agreed by all ranks", async () => {
  const cfg = {
    stop_at: null,
    time_limit: 100,
    early_stopping_factor: 2,
    canceled_check_interval: 5,
    scheduler: { t_warmup: 2 },
  } as unknown as StopConditions["cfg"];
  const at = (step: number, over: Partial<StepState> = {}): StepState => ({
    step,
    loss: 1,
    minLoss: 1,
    elapsedSeconds: 0,
    ...over,
  });
  const single = { size: 1, allReduceMax: () => Promise.reject(new Error("no collective")) };
  assert.equal(await cancelReason({ cfg, world: single }, at(7, { elapsedSeconds: 100 })), null);
  assert.equal(
    await cancelReason({ cfg, world: single }, at(10, { elapsedSeconds: 100 })),
    "time_limit", // OLMo: elapsed >= time_limit
  );
  assert.equal(await cancelReason({ cfg, world: single }, at(10, { loss: 2.5 })), "early_stopping");
  assert.equal(
    await cancelReason({ cfg: { ...cfg, stop_at: 7 }, world: single }, at(7)),
    "stop_at",
  );
  const aborted = AbortSignal.abort();
  assert.equal(
    await cancelReason({ cfg, world: single, cancelSignal: aborted }, at(3)),
    "canceled",
  );
  // Two ranks: another rank reached the time limit; this one learns it at the check step only.
  const calls: number[] = [];
  const other = {
    size: 2,
    allReduceMax: (buf: Float64Array | Float32Array) => {
      calls.push(buf[0]);
      buf[0] = Math.max(buf[0], 2);
      return Promise.resolve();
    },
  };
  assert.equal(await cancelReason({ cfg, world: other, cancelSignal: aborted }, at(9)), null);
  assert.equal(await cancelReason({ cfg, world: other }, at(10)), "time_limit");
  assert.deepEqual(calls, [0]);
});
