/**
 * Token ids beyond the embedding table never train silently (issue 15): reading an instance
 * checks its ids, training stops naming the file, offset and id, and `inspect-data --validate`
 * checks whole files. Offsets are computed by hand from where the test writes the bad id.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MemMapDataset } from "../lib/data/memmap_dataset.ts";
import {
  checkTokenIds,
  TokenIdOutOfRangeError,
  validateTokenFile,
} from "../lib/data/validate_ids.ts";
import { runTraining } from "../lib/train/run.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { runCli } from "./_cli.ts";
import {
  makeTinyEnv,
  patternTokens,
  TINY_VOCAB,
  tinyConfigObject,
  writeTinyConfigYaml,
  writeTokenFile,
} from "./_train_fixture.ts";
import { trainConfigFromObject } from "../lib/config/mod.ts";

/** The tiny env with `train1.npy` holding `id` at token `at`. */
async function poisonedEnv(at: number, id: number) {
  const env = await makeTinyEnv();
  const tokens = patternTokens(16 * 24, 2);
  tokens[at] = id;
  await writeTokenFile(env.train[1], tokens);
  return env;
}

Deno.test("checkTokenIds: passes ids below the limit, names the first one at or above it", () => {
  checkTokenIds(Int32Array.of(0, 5, 4095), 4096, "f.npy", 0, "uint16");
  assert.throws(
    () => checkTokenIds(Int32Array.of(1, 2, 60000, 70000), 4096, "f.npy", 32, "uint16"),
    (e: Error) =>
      e instanceof TokenIdOutOfRangeError && e.id === 60000 && e.tokenOffset === 34 &&
      e.byteOffset === 68 &&
      e.message.startsWith(
        "f.npy: token id 60000 at token offset 34 (byte 68) is out of range: the model has 4096 " +
          "embedding rows (model.embedding_size), so ids must be < 4096",
      ),
  );
  assert.throws(
    () => checkTokenIds(Int32Array.of(4096), 4096, "g.npy", 10, "uint32"),
    /g\.npy: token id 4096 at token offset 10 \(byte 40\)/,
  );
});

Deno.test("MemMapDataset with tokenIdLimit: the bad instance throws, the others read", async () => {
  const env = await poisonedEnv(16 * 5 + 3, 60000);
  try {
    using ds = new MemMapDataset(env.train, { chunkSize: 16, tokenIdLimit: TINY_VOCAB });
    // train0 holds 40 instances; train1's instance 5 (global 45) holds the bad id.
    assert.equal(ds.get(44).inputIds.length, 16);
    assert.throws(
      () => ds.get(45),
      (e: Error) =>
        e instanceof TokenIdOutOfRangeError && e.path === env.train[1] && e.tokenOffset === 83 &&
        e.id === 60000,
    );
    using unchecked = new MemMapDataset(env.train, { chunkSize: 16 });
    assert.equal(unchecked.get(45).inputIds[3], 60000);
    assert.deepEqual(validateTokenFile(env.train[0], "uint16", TINY_VOCAB), {
      path: env.train[0],
      tokens: 640,
      maxId: TINY_VOCAB - 3,
    });
    assert.throws(() => validateTokenFile(env.train[1], "uint16", TINY_VOCAB), /offset 83/);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("training stops at the first batch holding an id ≥ embedding_size", async () => {
  // Every instance of train1 is poisoned at one spot: whichever the shuffle draws first fails.
  const env = await makeTinyEnv();
  try {
    const tokens = patternTokens(16 * 24, 2);
    for (let i = 0; i < 24; i++) tokens[i * 16 + 7] = 60000;
    await writeTokenFile(env.train[1], tokens);
    const cfg = await trainConfigFromObject({
      ...tinyConfigObject(env, join(env.dir, "run")),
      max_duration: 40,
      save_interval: 1000,
      no_pre_train_checkpoint: true,
    });
    await assert.rejects(
      runTraining(cfg, { logger: SILENT_LOGGER, progress: { silent: true } }),
      (e: Error) =>
        e instanceof TokenIdOutOfRangeError && e.path === env.train[1] && e.id === 60000 &&
        e.tokenOffset % 16 === 7 && e.message.includes(`< ${TINY_VOCAB}`),
    );
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("inspect-data --validate checks every file against model.embedding_size", async () => {
  const env = await poisonedEnv(100, 60000);
  try {
    const config = join(env.dir, "run.yaml");
    await writeTinyConfigYaml(env, config, join(env.dir, "run"));
    const bad = await runCli("inspect_data.ts", ["--config", config, "--validate"], {
      NO_COLOR: "1",
    });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(
      bad.stderr,
      new RegExp(`${env.train[1]}: token id 60000 at token offset 100 \\(byte 200\\)`),
    );
    await writeTokenFile(env.train[1], patternTokens(16 * 24, 2));
    const good = await runCli("inspect_data.ts", ["--config", config, "--validate"], {
      NO_COLOR: "1",
    });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /validated 2 token file\(s\), 1024 tokens: every id is < 64/);
    const badStep = await runCli("inspect_data.ts", ["--config", config, "--step", "0"], {
      NO_COLOR: "1",
    });
    assert.equal(badStep.code, 2, badStep.stderr);
    assert.match(badStep.stderr, /--step must be an integer ≥ 1, got 0/);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});
