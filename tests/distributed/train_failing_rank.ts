/**
 * `cli/train.ts` with a failure injected, for the tests of multi-rank failure handling:
 *
 *   train_failing_rank.ts STEP RANK CONFIG [--key=value ...]
 *
 * runs the training command on CONFIG, and rank RANK throws `InjectedTestFailure` in step STEP
 * after its forward and backward passes (the step's `afterBackward` hook), while the other ranks
 * wait for it in the gradient reduce-scatter.
 *
 * @module
 */
import { runTrainCommand } from "../../cli/train.ts";

/** The error thrown by the injected failure. */
class InjectedTestFailure extends Error {
  /** @param step the step that failed @param rank the rank that failed */
  constructor(readonly step: number, readonly rank: number) {
    super(`injected test failure at step ${step} on rank ${rank}`);
    this.name = "InjectedTestFailure";
  }
}

const [failStep, failRank, ...argv] = Deno.args;
if (!/^\d+$/.test(failStep ?? "") || !/^\d+$/.test(failRank ?? "")) {
  console.error("usage: train_failing_rank.ts STEP RANK CONFIG [--key=value ...]");
  Deno.exit(2);
}
await runTrainCommand(argv, {
  afterBackward: (step, rank) => {
    if (step === Number(failStep) && rank === Number(failRank)) {
      throw new InjectedTestFailure(step, rank);
    }
  },
});
