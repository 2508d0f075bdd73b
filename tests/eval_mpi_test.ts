/**
 * Downstream evaluation on 2 MPICH ranks (`tests/distributed/eval_ranks.ts`, skipped without
 * MPICH): both ranks report exactly the metrics one process computes over all the requests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO, HAS_MPICH, run, runMpich } from "./distributed/run.ts";
import { jsonLines, writeAllTaskFiles } from "./_eval_fixture.ts";
import { withTempDir } from "./_temp_dir.ts";

Deno.test({
  name: "MPICH, 2 ranks: downstream metrics equal one process's",
  ignore: !HAS_MPICH,
  fn: () =>
    withTempDir(async (dir) => {
      const data = join(dir, "data");
      await writeAllTaskFiles(data, "jsonl");
      await Deno.writeTextFile(
        join(data, "custom.jsonl"),
        jsonLines([
          { context: "One, two,", continuations: [" three", " five", " ten"], label: 0 },
          { context: "Red, green,", continuations: [" blue", " loud"], label: 0 },
          { context: "North, south,", continuations: [" east", " up"], label: 0 },
        ]),
      );
      const [single, multi] = [join(dir, "one"), join(dir, "two")];
      await Deno.mkdir(single);
      await Deno.mkdir(multi);
      const script = "tests/distributed/eval_ranks.ts";
      const one = await run(DENO, ["run", "-A", script, data, single], { timeoutMs: 60_000 });
      assert.equal(one.code, 0, one.stdout + one.stderr);
      const two = await runMpich(2, script, [data, multi], { timeoutMs: 90_000 });
      assert.equal(two.timedOut, false);
      assert.equal(two.code, 0, two.stdout + two.stderr);
      const read = async (d: string, r: number) =>
        JSON.parse(await Deno.readTextFile(join(d, `rank${r}.json`)));
      const want = await read(single, 0);
      assert.deepEqual(Object.keys(want).sort(), [
        "eval/downstream/boolq_pmi_dc",
        "eval/downstream/custom_acc",
        "eval/downstream/custom_len_norm",
        "eval/downstream/hellaswag_len_norm",
        "eval/downstream/mrpc_f1",
      ]);
      assert.deepEqual(await read(multi, 0), want);
      assert.deepEqual(await read(multi, 1), want);
    }),
});
