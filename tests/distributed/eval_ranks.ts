/**
 * Run under mpiexec, or alone for the 1-rank reference: evaluates a seeded tiny model on the
 * JSON-lines task files of DATA_DIR (hellaswag, boolq, mrpc and `custom.jsonl`), the requests
 * split over the ranks, batches of 2. Args: DATA_DIR OUT_DIR. Writes `OUT_DIR/rank{r}.json`:
 * every metric as this rank computed it after the gather.
 *
 * @module
 */
import { join } from "node:path";
import { initBackend } from "../../lib/backend/mod.ts";
import { initWorld } from "../../lib/distributed/world.ts";
import { DownstreamEvaluator, loadTaskRequests } from "../../lib/eval/downstream_evaluator.ts";
import { selectTask } from "../../lib/eval/select.ts";
import { Olmo } from "../../lib/model/olmo.ts";
import { tinyConfig } from "../_model_fixture.ts";
import { charEncode } from "../_eval_fixture.ts";

const [dataDir, outDir] = Deno.args;
const world = await initWorld();
await initBackend("cpu", { quiet: true });
const model = new Olmo(
  tinyConfig({
    vocab_size: 100,
    embedding_size: 128,
    eos_token_id: 99,
    pad_token_id: 0,
    max_sequence_length: 256,
  }),
  { seed: 5 },
);
const metrics: Record<string, number> = {};
for (const name of ["hellaswag", "boolq", "mrpc", `custom:${join(dataDir, "custom.jsonl")}`]) {
  const { task, files } = await selectTask(name, { dataDir });
  const data = await loadTaskRequests(task, files, {
    encode: charEncode,
    maxLength: model.config.max_sequence_length,
  });
  const evaluator = new DownstreamEvaluator(task, data, { batchSize: 2, padTokenId: 0, world });
  Object.assign(metrics, await evaluator.evaluate(model));
}
await Deno.writeTextFile(join(outDir, `rank${world.rank}.json`), JSON.stringify(metrics));
await world.finalize();
