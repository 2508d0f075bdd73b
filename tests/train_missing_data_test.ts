/**
 * Data that is not there is recognised by error class, not by message text: the data readers
 * throw `MissingTokenDataError`, the path resolvers `PathNotFoundError` (wrapped in an
 * `InterpolationError` naming the key), and `runTraining` / `missingDataKey` turn exactly those
 * into the "how to prepare data" explanation, naming the config key at fault.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { InterpolationError, trainConfigFromObject } from "../lib/config/mod.ts";
import { MissingTokenDataError } from "../lib/data/errors.ts";
import { memMapDatasetFromDataConfig } from "../lib/data/memmap_dataset.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { MissingDataError, missingDataKey } from "../lib/train/missing_data.ts";
import { runTraining } from "../lib/train/run.ts";
import { makeTinyEnv, patternTokens, tinyTrainConfig, writeTokenFile } from "./_train_fixture.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true }, configPath: "tiny.yaml" };

Deno.test("the data readers throw MissingTokenDataError for data that is not there", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ paths: [] }, /^data: the configured list of token files is empty$/],
    [{}, /^data: one of `paths` or `datasets` is required$/],
  ];
  for (const [data, message] of cases) {
    assert.throws(
      () => memMapDatasetFromDataConfig(data, 16),
      (e: unknown) => e instanceof MissingTokenDataError && message.test(e.message),
    );
  }
  const absent = memMapDatasetFromDataConfig({ paths: ["/nonexistent/olmo-ts/x.npy"] }, 16);
  assert.throws(
    () => absent.length,
    (e: unknown) =>
      e instanceof MissingTokenDataError && e.configKey === null &&
      /cannot read token file \/nonexistent\/olmo-ts\/x\.npy/.test(e.message),
  );
  // Bad settings are not missing data.
  assert.throws(
    () => memMapDatasetFromDataConfig({ paths: ["a.npy"], datasets: { x: ["b.npy"] } }, 16),
    (e: unknown) => e instanceof Error && !(e instanceof MissingTokenDataError),
  );
});

Deno.test("runTraining explains missing training and evaluation data, naming the key", async () => {
  const env = await makeTinyEnv();
  try {
    const short = join(env.dir, "short.npy");
    await writeTokenFile(short, patternTokens(10, 4)); // under one 16-token instance
    const absent = join(env.dir, "absent.npy");
    const cases: [Record<string, unknown>, RegExp, RegExp][] = [
      [{ data: { paths: [absent] } }, /the training data \(data\.paths\)/, /cannot read token/],
      [{ data: { paths: [short] } }, /the training data \(data\.paths\)/, /no complete instance/],
      [
        {
          evaluators: [{ label: "a", data: { paths: [env.validation] } }, {
            label: "b",
            data: { paths: [absent] },
          }],
        },
        /the evaluation data \(evaluators\[1\]\.data\.paths\)/,
        /evaluators\[1\] \(b\): MemMapDataset: cannot read token file/,
      ],
    ];
    for (const [extra, what, detail] of cases) {
      const cfg = await tinyTrainConfig(env, join(env.dir, "run"), { ...extra, dry_run: true });
      await assert.rejects(runTraining(cfg, QUIET), (e: unknown) => {
        assert.ok(e instanceof MissingDataError, String(e));
        assert.match(e.message, what);
        assert.match(e.message, detail);
        assert.match(e.message, /deno task prepare-data .* --tokenizer /);
        return true;
      });
    }
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test("missingDataKey: only a path resolver that found nothing at a data key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-missing-" });
  const failure = async (raw: Record<string, unknown>): Promise<unknown> => {
    try {
      await trainConfigFromObject(raw);
    } catch (e) {
      return e;
    }
    throw new Error(`loading ${JSON.stringify(raw)} did not fail`);
  };
  try {
    const glob = `\${path.glob:${dir}/none-*.npy}`;
    const choose = `\${path.choose:${dir}/a.npy,${dir}/b.npy}`;
    const data = await failure({ data: { paths: glob } });
    assert.ok(data instanceof InterpolationError);
    assert.equal(data.keyPath, "data.paths");
    assert.equal(missingDataKey(data), "data.paths");
    assert.equal(
      missingDataKey(await failure({ evaluators: [{ label: "x", data: { paths: choose } }] })),
      "evaluators[0].data.paths",
    );
    // Other failures at a data key, and path failures elsewhere, are not missing data.
    const unset = "${oc.env:OLMO_TS_MISSING_DATA_TEST_UNSET_VARIABLE}";
    assert.equal(missingDataKey(await failure({ data: { paths: unset } })), null);
    assert.equal(missingDataKey(await failure({ load_path: choose })), null);
    assert.equal(
      missingDataKey(new Error(`cannot resolve 'data.paths': does not match any files`)),
      null,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
