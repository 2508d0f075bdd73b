/**
 * Exact resume: N steps straight equal N/2 steps, a stop, a restart from the checkpoint and N/2
 * more — the same loss at every step and bit-identical final parameters — on cpu and wasm, with
 * micro-batching, dropout, clipping and AdamW. Also: restarting into the same `save_folder`
 * needs no `--save_overwrite`, while a new run there is refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { ConfigError } from "../lib/config/mod.ts";
import { readDataIndices } from "../lib/train/data_indices.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { runTraining } from "../lib/train/run.ts";
import { makeTinyEnv, type TinyEnv, tinyTrainConfig } from "./_train_fixture.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true } };

async function finalParams(saveFolder: string, step: number) {
  const file = join(saveFolder, `step${step}-unsharded`, "model.safetensors");
  return (await readSafetensors(file)).tensors;
}

async function resumeCase(env: TinyEnv, backend: "cpu" | "wasm"): Promise<void> {
  const straight = join(env.dir, `${backend}-straight`);
  const split = join(env.dir, `${backend}-split`);
  const base = { backend };

  const a = await runTraining(await tinyTrainConfig(env, straight, base), QUIET);
  assert.equal(a.fit?.reason, "max_duration");
  assert.equal(a.fit?.losses.length, 6);

  const b = await runTraining(await tinyTrainConfig(env, split, { ...base, stop_at: 3 }), QUIET);
  assert.equal(b.fit?.reason, "stop_at");
  assert.equal(b.fit?.step, 3);

  // A new run into the same folder is refused; a restart from its checkpoint is not.
  await assert.rejects(
    async () => await runTraining(await tinyTrainConfig(env, split, base), QUIET),
    (e: Error) => e instanceof ConfigError && /--save_overwrite/.test(e.message),
  );
  const c = await runTraining(
    await tinyTrainConfig(env, split, { ...base, load_path: join(split, "latest") }),
    QUIET,
  );
  assert.equal(c.fit?.reason, "max_duration");
  assert.deepEqual([...b.fit!.losses, ...c.fit!.losses], a.fit!.losses);

  const want = await finalParams(straight, 6);
  const got = await finalParams(split, 6);
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [name, t] of want) {
    assert.deepEqual(got.get(name)!.data, t.data, `${backend}: ${name} differs after resume`);
  }
  // The restarted run's metrics.jsonl has each step once, in order; its data-indices file lists
  // the same instances per step as the straight run's.
  const steps = (await Deno.readTextFile(join(split, "metrics.jsonl")))
    .trim().split("\n").map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  const indices = (folder: string) => readDataIndices(join(folder, "data-indices", "rank0.tsv.gz"));
  const straightIndices = await indices(straight);
  assert.deepEqual(straightIndices.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(await indices(split), straightIndices);
}

Deno.test("exact resume on cpu and wasm: split run == straight run, bit for bit", async () => {
  const env = await makeTinyEnv();
  try {
    await resumeCase(env, "cpu");
    await resumeCase(env, "wasm");
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});
