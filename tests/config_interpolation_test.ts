/**
 * Config interpolation (spec §1.1): `${a.b}` references resolved after overrides, `oc.env` with
 * nested defaults, `path.glob`, `path.choose`, `path.last_checkpoint`, custom resolvers,
 * quoting, escapes, and the errors of unresolvable interpolations.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findLatestCheckpoint } from "../lib/checkpoint/trainer/run_folder.ts";
import { loadTrainConfig, registerResolver, trainConfigFromObject } from "../lib/config/mod.ts";
import { rejectsWith, writeText } from "./_config_helpers.ts";
import { withTempDir } from "./_temp_dir.ts";

Deno.test("interpolation: references keep their type and resolve after overrides", async () => {
  await withTempDir(async (dir) => {
    const path = await writeText(
      dir,
      "c.yaml",
      [
        "run_name: base",
        "save_interval: 500",
        "eval_interval: ${save_interval}",
        "save_folder: /runs/${run_name}/s${seed}",
        "device_eval_batch_size: ${device_train_microbatch_size}",
        "wandb: {name: '${run_name}', log_interval: '${console_log_interval}'}",
        "evaluators: [{label: '${run_name}-eval', data: {paths: '${data.paths}'}}]",
        "data: {paths: [a.npy, b.npy]}",
      ].join("\n"),
    );
    const plain = await loadTrainConfig(path);
    assert.equal(plain.eval_interval, 500);
    assert.equal(plain.save_folder, "/runs/base/s6198");
    assert.equal(plain.device_eval_batch_size, 16);
    assert.deepEqual(plain.evaluators[0].data.paths, ["a.npy", "b.npy"]);
    const cfg = await loadTrainConfig(path, {
      overrides: ["--run_name=x", "--save_interval=7", "--seed=3", "--console_log_interval=4"],
    });
    assert.equal(cfg.wandb?.name, "x");
    assert.equal(cfg.wandb?.log_interval, 4);
    assert.equal(cfg.evaluators[0].label, "x-eval");
    assert.equal(cfg.eval_interval, 7);
    assert.equal(cfg.save_folder, "/runs/x/s3");
  });
});

Deno.test("interpolation: oc.env with defaults, nested defaults and missing variables", async () => {
  const set = "OLMO_TS_CFG_TEST_SET";
  const unset = "OLMO_TS_CFG_TEST_UNSET";
  const vars: Record<string, string> = { [set]: "from-env" };
  const env = (name: string) => vars[name];
  const cfg = await trainConfigFromObject({
    run_name: "rn",
    save_folder: `\${oc.env:${set}}`,
    load_path: `\${oc.env:${unset},\${run_name}/ckpt}`,
    remote_save_folder: `\${oc.env:${unset},null}`,
    tokenizer: { identifier: `\${oc.env:${unset}, spaced }` },
    seed: `\${oc.env:${unset},42}`,
  }, { env });
  assert.equal(cfg.save_folder, "from-env");
  assert.equal(cfg.load_path, "rn/ckpt");
  assert.equal(cfg.remote_save_folder, null);
  assert.equal(cfg.tokenizer.identifier, "spaced");
  assert.equal(cfg.seed, 42);
  await rejectsWith(
    trainConfigFromObject({ run_name: `\${oc.env:${unset}}` }, { source: "obj", env }),
    "obj",
    "run_name",
    `\${oc.env:${unset}}`,
    unset,
  );
  // Without `env`, the process environment is read (PATH is set wherever the tests run).
  const fromProcess = await trainConfigFromObject({ save_folder: "${oc.env:PATH}" });
  assert.equal(fromProcess.save_folder, Deno.env.get("PATH"));
});

Deno.test("interpolation: path.glob, path.choose, nesting and validatePaths", async () => {
  await withTempDir(async (dir) => {
    for (const f of ["b/c.2.npy", "b/c.10.npy", "b/c.1.npy", "b/.c.3.npy", "b/x.npy", "a/z.npy"]) {
      await writeText(dir, f, "");
    }
    await writeText(dir, "b/deep/er/c.9.npy", "");
    const glob = async (expr: string, validatePaths = true) =>
      (await trainConfigFromObject({ data: { paths: expr } }, { validatePaths })).data.paths;
    // Sorted within a pattern, concatenated in pattern order; hidden files are skipped.
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/c.*.npy,${dir}/a/*.npy}`), [
      `${dir}/b/c.1.npy`,
      `${dir}/b/c.10.npy`,
      `${dir}/b/c.2.npy`,
      `${dir}/a/z.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/c.?.npy}`), [
      `${dir}/b/c.1.npy`,
      `${dir}/b/c.2.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/[!c]*}`), [
      `${dir}/b/deep`,
      `${dir}/b/x.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/b/c.[0-1]*.npy}`), [
      `${dir}/b/c.1.npy`,
      `${dir}/b/c.10.npy`,
    ]);
    assert.deepEqual(await glob(`\${path.glob:${dir}/**/c.9.npy}`), [`${dir}/b/deep/er/c.9.npy`]);
    await rejectsWith(glob(`\${path.glob:${dir}/nothing/*.npy}`), "data.paths", "nothing/*.npy");
    assert.deepEqual(await glob(`\${path.glob:${dir}/nothing/*.npy}`, false), []);
    // Nested: choose (env default) → glob.
    const name = "OLMO_TS_CFG_TEST_ROOT";
    const nested = `\${path.glob:\${path.choose:\${oc.env:${name},no_exist}/a,${dir}/b}/c.*.npy}`;
    assert.equal((await glob(nested))?.length, 3);
    const withRoot = await trainConfigFromObject(
      { data: { paths: nested.replace("c.*.npy", "*.npy") } },
      { env: (n) => (n === name ? dir : undefined) },
    );
    assert.deepEqual(withRoot.data.paths, [`${dir}/a/z.npy`]);
    const choose = async (args: string, validatePaths = true) =>
      (await trainConfigFromObject({ save_folder: `\${path.choose:${args}}` }, { validatePaths }))
        .save_folder;
    assert.equal(await choose(`/no/such,s3://bucket/x,${dir}`), "s3://bucket/x");
    assert.equal(await choose(`/no/such, ${dir}/a`), `${dir}/a`);
    assert.equal(await choose("/no/such,/no/other", false), "");
    await rejectsWith(choose("/no/such,/no/other"), "save_folder", "/no/such, /no/other");
    // Whole-string interpolation keeps the list; embedded in a string it is stringified.
    const embedded = await trainConfigFromObject({
      run_name: `n=\${path.glob:${dir}/a/*.npy}`,
    });
    assert.equal(embedded.run_name, `n=${JSON.stringify([`${dir}/a/z.npy`])}`);
  });
});

Deno.test("interpolation: relative glob patterns are relative to the working directory", async () => {
  const expected: string[] = [];
  for await (const e of Deno.readDir(".")) {
    if (e.name.endsWith(".md") && !e.name.startsWith(".")) expected.push(e.name);
  }
  const cfg = await trainConfigFromObject(
    { data: { paths: "${path.glob:*.md}" } },
    { validatePaths: false },
  );
  assert.deepEqual(cfg.data.paths, expected.sort());
});

Deno.test("path.last_checkpoint and findLatestCheckpoint: highest step, sharded wins a tie", async () => {
  await withTempDir(async (dir) => {
    assert.equal(await findLatestCheckpoint(join(dir, "missing")), null);
    assert.equal(await findLatestCheckpoint(dir), null);
    const last = (validatePaths = true) =>
      trainConfigFromObject({ load_path: `\${path.last_checkpoint:${dir}}` }, { validatePaths });
    assert.equal((await last(false)).load_path, "");
    await rejectsWith(last(), "load_path", dir);
    for (const d of ["step10", "step20-unsharded", "step9", "step100-tmp", "latest", "stepx"]) {
      await Deno.mkdir(join(dir, d));
    }
    await writeText(dir, "step999", "a file, not a checkpoint");
    assert.equal(await findLatestCheckpoint(dir), join(dir, "step20-unsharded"));
    await Deno.mkdir(join(dir, "step20"));
    assert.equal((await last()).load_path, join(dir, "step20"));
    await Deno.mkdir(join(dir, "step30-unsharded"));
    assert.equal(await findLatestCheckpoint(dir), join(dir, "step30-unsharded"));
  });
});

Deno.test("interpolation: custom async resolvers, quoting, escapes and errors", async () => {
  const seen: { validatePaths: boolean; configPath: string }[] = [];
  registerResolver("test.join", async (args, ctx) => {
    seen.push(ctx);
    await new Promise((r) => setTimeout(r, 1));
    return args.join("|");
  });
  await withTempDir(async (dir) => {
    const path = await writeText(
      dir,
      "c.yaml",
      [
        "run_name: \"${test.join:'a,b', c ,${seed}}\"",
        "save_folder: 'literal \\${not_a_key}'",
      ].join("\n"),
    );
    const cfg = await loadTrainConfig(path, { validatePaths: false });
    assert.equal(cfg.run_name, "a,b|c|6198");
    assert.equal(cfg.save_folder, "literal ${not_a_key}");
    assert.deepEqual(seen.at(-1), { validatePaths: false, configPath: path });
    const bad = async (value: string, ...fragments: string[]) => {
      await writeText(dir, "bad.yaml", `run_name: "${value}"\n`);
      await rejectsWith(loadTrainConfig(join(dir, "bad.yaml")), "bad.yaml", ...fragments);
    };
    await bad("${test.jion:x}", "run_name", "unknown resolver 'test.jion'", "test.join");
    await bad("${model.d_modle}", "run_name", "${model.d_modle}", "not found");
    await bad("${save_folder", "run_name", "malformed");
    await writeText(dir, "cycle.yaml", "run_name: ${save_folder}\nsave_folder: ${run_name}\n");
    await rejectsWith(loadTrainConfig(join(dir, "cycle.yaml")), "cycle", "run_name");
  });
});
