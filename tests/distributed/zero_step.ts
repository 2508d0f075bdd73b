/**
 * Run under mpiexec, or alone for the 1-rank reference (the plain local optimizer, no ZeRO):
 * trains the tiny model 3 steps, each rank on its own rows of the same fixed global batches, with
 * gradient clipping that depends on the global norm. Arg: OUT_DIR. Writes `OUT_DIR/rank{r}.json`:
 * this rank's view of the global loss and gradient norm at every step, and its full parameters.
 *
 * @module
 */
import { initBackend } from "../../lib/backend/mod.ts";
import type { CollatedBatch } from "../../lib/data/collator.ts";
import { LocalDataParallel } from "../../lib/distributed/data_parallel.ts";
import { initWorld } from "../../lib/distributed/world.ts";
import { Olmo } from "../../lib/model/olmo.ts";
import { createOptimizer } from "../../lib/optim/optimizer.ts";
import { runTrainStep } from "../../lib/train/train_step.ts";
import { ZeroDataParallel } from "../../lib/distributed/zero/data_parallel.ts";
import { makeTinyEnv, patternTokens, tinyTrainConfig } from "../_train_fixture.ts";

const GLOBAL_BATCH = 4;
const SEQ_LEN = 16;

const outDir = Deno.args[0];
const world = await initWorld();
await initBackend("cpu", { quiet: true });
const env = await makeTinyEnv();
const cfg = await tinyTrainConfig(env, `${env.dir}/run`, {
  max_grad_norm: 0.05, // below the tiny model's gradient norms: every step clips by the global norm
  model: { residual_dropout: 0 },
});
await Deno.remove(env.dir, { recursive: true });

const model = new Olmo(cfg.model, { seed: 3 });
// One process trains with the plain local optimizer, as the trainer does: the reference.
const zero = world.size > 1 ? await ZeroDataParallel.create(world, model, cfg) : null;
const dataParallel = zero ??
  new LocalDataParallel(model, createOptimizer(cfg.optimizer, model.params, cfg));
const rowsPerRank = GLOBAL_BATCH / world.size;
const steps: { ce: number; norm: number }[] = [];
for (let step = 1; step <= 3; step++) {
  // The same global batch on every rank; rank r trains rows [r·B/n, (r+1)·B/n).
  const global = Int32Array.from(patternTokens(GLOBAL_BATCH * SEQ_LEN, 10 + step));
  const mine = global.slice(
    world.rank * rowsPerRank * SEQ_LEN,
    (world.rank + 1) * rowsPerRank * SEQ_LEN,
  );
  const batch: CollatedBatch = {
    inputIds: { dtype: "int32", shape: [rowsPerRank, SEQ_LEN], data: mine },
  };
  const result = await runTrainStep(
    {
      model,
      dataParallel,
      microBatchSize: 1,
      zLoss: false,
      dropoutSeed: (micro) => micro,
    },
    batch,
    step,
    0.01,
  );
  steps.push({ ce: result.ce, norm: result.gradNorm });
}
const params: Record<string, number[]> = {};
for (const [name, t] of await model.stateDict()) params[name] = Array.from(t.data as Float32Array);
await Deno.writeTextFile(`${outDir}/rank${world.rank}.json`, JSON.stringify({ steps, params }));
dataParallel.dispose();
model.dispose();
await world.finalize();
