/**
 * The playground and dashboard in a real headless browser (Debian's `chromium`, driven by
 * playwright-core in a subprocess, `_browser.ts`; skipped with a message where
 * `/usr/bin/chromium` is absent):
 * - a checkpoint trained here by `deno task train` is served, loaded in the page and generates
 *   the same greedy token ids (and text) as `deno task generate` on the same checkpoint;
 * - an OLMo reference checkpoint's `model.pt` is dropped into the page (file input) and
 *   generates what `deno task generate --token-ids` does: greedy, beam search, seeded top-k
 *   (on wasm; the first page runs on the default backend, webgl in headless chromium); served
 *   with its `model.pt` picked in the list, the same;
 * - the stop button ends a generation; a bad control value is refused; the next-token
 *   distribution is a sorted top 10 led by greedy's first token;
 * - the dashboard overlays two runs' loss curves, shows the evaluation loss and throughput, the
 *   run's config and checkpoints, and grows when lines are appended to `metrics.jsonl`;
 * - traversal attempts from the page get 403/404.
 *
 * With `OLMO_TS_SCREENSHOTS=DIR` it saves `playground.png` and `dashboard.png` there (how the
 * README's screenshots are made).
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { servedFolders } from "../lib/serve/served_folders.ts";
import { startServer } from "../lib/serve/server.ts";
import { buildWebBundle, WASM_DIR, WEB_DIR } from "../lib/serve/web_bundle.ts";
import { RemoteBrowser, type RemotePage as Page } from "./_browser.ts";
import { assertExit, runCli } from "./_cli.ts";
import { HAS_SHARED, referenceCaseDir, REPO_ROOT } from "./_shared.ts";
import { makeTinyEnv, writeTinyConfigYaml } from "./_train_fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  console.warn(`serve_browser_test: skipped: no ${CHROMIUM} (apt-get install chromium)`);
}
/** Flags for a root user on a machine without network or GPU (see the machine notes). */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TRAIN_STEPS = 12;
const EVAL_LOSS = "eval/held-out/CrossEntropyLoss";
const SCREENSHOTS = Deno.env.get("OLMO_TS_SCREENSHOTS");

/** Trains the tiny model for `TRAIN_STEPS` steps; returns the run folder. */
async function trainTinyRun(dir: string): Promise<string> {
  const env = await makeTinyEnv();
  const run = join(dir, "tiny-run");
  const config = join(env.dir, "tiny.yaml");
  await writeTinyConfigYaml(env, config, run, {
    max_duration: TRAIN_STEPS,
    save_interval: 1000,
    save_interval_unsharded: TRAIN_STEPS,
    console_log_interval: 1,
    eval_interval: TRAIN_STEPS / 2,
    evaluators: [{ label: "held-out", data: { paths: [env.validation] } }],
  });
  const train = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "cli", "train.ts"), config],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(train.code, 0, new TextDecoder().decode(train.stderr));
  return run;
}

/** A second run folder whose losses are the first one's plus 1 (to overlay on its charts). */
async function writeSecondRun(dir: string, run: string): Promise<string> {
  const second = join(dir, "second-run");
  await Deno.mkdir(second);
  const lines = (await Deno.readTextFile(join(run, "metrics.jsonl"))).trim().split("\n");
  const shifted = lines.map((line) => {
    const record = JSON.parse(line);
    if ("train/CrossEntropyLoss" in record) record["train/CrossEntropyLoss"] += 1;
    return JSON.stringify(record);
  });
  await Deno.writeTextFile(join(second, "metrics.jsonl"), shifted.join("\n") + "\n");
  return second;
}

/** `deno task generate` on `checkpoint` with `args`; its stdout without the newline. */
async function cliGenerate(checkpoint: string, args: string[]): Promise<string> {
  const run = await runCli("generate.ts", [
    "--checkpoint",
    checkpoint,
    "--backend",
    "cpu",
    ...args,
  ]);
  assertExit(run, 0);
  return run.stdout.replace(/\n$/, "");
}

/** JavaScript for the output's state in the page. */
const OUTPUT_STATE = `document.getElementById("output").dataset.state`;

/** The output element's `data-*` values. */
function outputData(page: Page): Promise<Record<string, string>> {
  return page.evaluate(`({ ...document.getElementById("output").dataset })`);
}

/** Sets the controls, clicks Generate and waits for the end; returns the output's dataset. */
async function generateInPage(
  page: Page,
  controls: Record<string, string>,
  tokenIds: boolean,
): Promise<Record<string, string>> {
  for (const [id, value] of Object.entries(controls)) {
    if (id === "sampler") await page.selectOption("#sampler", value);
    else await page.fill(`#${id}`, value);
  }
  await page.setChecked("#token-ids", tokenIds);
  await page.click("#generate-button");
  await page.waitForFunction(`["done", "stopped", "error"].includes(${OUTPUT_STATE})`);
  const result = await outputData(page);
  const status = await page.textContent("#status");
  assert.notEqual(result.state, "error", `generation failed: ${status}`);
  return result;
}

/** Waits until the page says a checkpoint is loaded; fails with the page's error otherwise. */
async function waitLoaded(page: Page): Promise<string> {
  await page.waitForFunction(
    `document.body.dataset.loaded !== undefined ||
      document.getElementById("status").classList.contains("error")`,
  );
  const status = (await page.textContent("#status")) ?? "";
  assert.match(status, /^Loaded /, status);
  return status;
}

Deno.test({
  name: "playground and dashboard in headless chromium",
  ignore: !HAS_CHROMIUM,
  // The driver process and the pages' event streams stay open across the steps.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "olmo-ts-serve-browser-" });
    const bundle = join(dir, "bundle");
    const [run] = await Promise.all([trainTinyRun(dir), buildWebBundle(bundle)]);
    const tiny = join(run, "latest-unsharded");
    const fixture = referenceCaseDir("rope-swiglu-seq");
    const server = startServer({
      port: 0,
      checkpoints: servedFolders(HAS_SHARED ? [tiny, fixture] : [tiny], "c"),
      runs: servedFolders([run, await writeSecondRun(dir, run)], "r"),
      assets: { pagesDir: WEB_DIR, bundleDir: bundle, wasmDir: WASM_DIR },
    });
    const browser = RemoteBrowser.launch(CHROMIUM, CHROMIUM_ARGS);
    const newPage = async (path: string) => {
      const page = await browser.newPage(1280, 760, 60_000);
      await page.goto(new URL(path, server.url).href);
      return page;
    };
    try {
      await t.step(
        "a trained checkpoint, served: greedy ids and text equal generate's",
        async () => {
          const page = await newPage("/");
          await page.waitForSelector("#checkpoint-select option[value=c0]", { state: "attached" });
          await page.selectOption("#checkpoint-select", "c0");
          await page.click("#load-button");
          await waitLoaded(page);
          const backend = await page.getAttribute("#backend", "data-backend");
          assert.ok(["webgpu", "webgl", "wasm"].includes(backend ?? ""), `backend ${backend}`);

          const ids = await generateInPage(page, { prompt: "5 6 7", "max-tokens": "8" }, true);
          assert.equal(ids.state, "done");
          const expected = await cliGenerate(tiny, ["--token-ids", "--max-steps", "8", "5 6 7"]);
          assert.equal(ids.tokenIds, expected, `page on ${backend} vs deno task generate`);

          const text = await generateInPage(page, { prompt: "w5 w6 w7", "max-tokens": "8" }, false);
          assert.equal(text.text, await cliGenerate(tiny, ["--max-steps", "8", "w5 w6 w7"]));

          await page.click("#distribution-button");
          await page.waitForFunction(
            `document.getElementById("distribution").dataset.state === "done"`,
          );
          const rows: string[][] = await page.evaluate(
            `[...document.querySelectorAll("#distribution tr")].slice(1)
              .map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))`,
          );
          assert.equal(rows.length, 10);
          const probabilities = rows.map((r) => Number(r[2]!.replace("%", "")));
          assert.deepEqual([...probabilities].sort((a, b) => b - a), probabilities);
          assert.ok(probabilities.reduce((a, b) => a + b) <= 100.01);
          assert.equal(
            rows[0][0],
            text.tokenIds.split(" ")[0],
            "most likely = greedy's first token",
          );

          // A bad control value is refused with a message naming it.
          await page.fill("#max-tokens", "0");
          await page.click("#generate-button");
          await page.waitForFunction(`${OUTPUT_STATE} === "error"`);
          assert.match((await page.textContent("#status")) ?? "", /max tokens must be an integer/);

          // Stop, pressed as soon as the first token shows (the worker is busy generating).
          await page.fill("#max-tokens", "13");
          await page.fill("#prompt", "5 6 7");
          await page.setChecked("#token-ids", true);
          await page.click("#generate-button");
          await page.waitForFunction(`document.getElementById("rate").textContent !== ""`);
          await page.click("#stop-button");
          await page.waitForFunction(`["done", "stopped"].includes(${OUTPUT_STATE})`);
          const stopped = await outputData(page);
          assert.equal(stopped.state, "stopped", `stop did not stop: ${stopped.tokenIds}`);
          assert.ok(stopped.tokenIds.split(" ").length < 13, stopped.tokenIds);
          // Greedy again: one of the two runs (8 tokens, or stopped) starts the other.
          const [shorter, longer] = [stopped.tokenIds, ids.tokenIds].sort((a, b) =>
            a.length - b.length
          );
          assert.ok(longer.startsWith(shorter), `${stopped.tokenIds} vs ${ids.tokenIds}`);
          assert.equal(stopped.liveTensors, ids.liveTensors, "a stop leaks no tensor");
          await page.fill("#max-tokens", "8");
          await page.fill("#prompt", "w5 w6 w7");
          await page.setChecked("#token-ids", false);
          await generateInPage(page, {}, false);
          if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "playground.png") });
          await page.close();
        },
      );

      await t.step({
        name: "an OLMo model.pt dropped in: greedy, beam and top-k equal generate --token-ids",
        ignore: !HAS_SHARED,
        fn: async () => {
          const page = await newPage("/?backend=wasm");
          // Weights without their config.yaml: the page says what it needs.
          await page.setInputFiles("#file-input", [join(fixture, "model.pt")]);
          assert.match(
            (await page.textContent("#status")) ?? "",
            /Need config\.yaml and model\.safetensors or model\.pt; got model\.pt/,
          );
          await page.setInputFiles("#file-input", [
            join(fixture, "config.yaml"),
            join(fixture, "model.pt"),
          ]);
          assert.match(await waitLoaded(page), /model\.pt/);
          assert.equal(await page.getAttribute("#backend", "data-backend"), "wasm");
          const bar = await page.evaluate(
            `[document.getElementById("progress").value, document.getElementById("progress").max]`,
          );
          const size = (await Deno.stat(join(fixture, "model.pt"))).size;
          assert.deepEqual(bar, [size, size], "the progress bar ends full at model.pt's size");
          const prompt = "133 65 57 6 38 177 81 168";
          const cases: [Record<string, string>, string[]][] = [
            [{ sampler: "greedy", "max-tokens": "6" }, []],
            [{ sampler: "beam", "beam-size": "3", "max-tokens": "6" }, ["--beam-size", "3"]],
            [
              { sampler: "top-k", "top-k": "5", temperature: "0.8", seed: "3", "max-tokens": "6" },
              ["--sampler", "top-k", "--k", "5", "--temperature", "0.8", "--seed", "3"],
            ],
          ];
          for (const [controls, args] of cases) {
            const got = await generateInPage(page, { prompt, ...controls }, true);
            const want = await cliGenerate(fixture, [
              "--token-ids",
              "--max-steps",
              "6",
              ...args,
              prompt,
            ]);
            assert.equal(got.tokenIds, want, JSON.stringify(controls));
          }
          // The same checkpoint served, its model.pt picked in the list: the same greedy ids.
          await page.selectOption("#checkpoint-select", "c1");
          await page.selectOption("#weights-select", "model.pt");
          await page.evaluate(`delete document.body.dataset.loaded`);
          await page.click("#load-button");
          assert.match(await waitLoaded(page), /rope-swiglu-seq \(model\.pt/);
          const served = await generateInPage(page, { prompt, ...cases[0][0] }, true);
          assert.equal(
            served.tokenIds,
            await cliGenerate(fixture, ["--token-ids", "--max-steps", "6", prompt]),
          );
          await page.close();
        },
      });

      await t.step("the dashboard overlays the runs and grows with appended lines", async () => {
        const page = await newPage("/dashboard");
        const loss = '.chart[data-metric="train/CrossEntropyLoss"] path';
        const points = (series: string, n: number) =>
          page.waitForSelector(`${loss}[data-series="${series}"][data-points="${n}"]`);
        await points("tiny-run", TRAIN_STEPS);
        await points("second-run", TRAIN_STEPS);
        await page.waitForSelector(`.chart[data-metric="${EVAL_LOSS}"] path[data-points="2"]`);
        await page.waitForSelector(
          '.chart[data-metric="throughput/device/tokens_per_second"] path',
        );
        const runPanel = (await page.textContent('.run[data-run="r0"]')) ?? "";
        assert.match(runPanel, /step12-unsharded \(step 12, unsharded\) ← latest-unsharded/);
        assert.match(runPanel, /max_duration: 12/, "the run's config.yaml is shown");

        const metrics = join(run, "metrics.jsonl");
        const more = [1, 2].map((i) =>
          JSON.stringify({ step: TRAIN_STEPS + i, "train/CrossEntropyLoss": 3 - i / 10 })
        );
        await Deno.writeTextFile(metrics, more.join("\n") + "\n", { append: true });
        await points("tiny-run", TRAIN_STEPS + 2);
        const chart = (await page.textContent('.chart[data-metric="train/CrossEntropyLoss"]')) ??
          "";
        assert.match(chart, new RegExp(`tiny-run: 2\\.8 @ step ${TRAIN_STEPS + 2}`));
        if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "dashboard.png") });
        await page.close();
      });

      await t.step("the page cannot read outside the served folders", async () => {
        const page = await newPage("/");
        const statuses: number[] = await page.evaluate(`(async () => {
          const targets = [
            "/files/c0/..%2f..%2fconfig.yaml",
            "/files/r0/..%2f..%2f..%2fetc%2fpasswd",
            "/files/c0/%2e%2e%2f%2e%2e%2fmetrics.jsonl",
            "/bundle/..%2f..%2fdeno.json",
          ];
          return await Promise.all(targets.map(async (t) => (await fetch(t)).status));
        })()`);
        for (const s of statuses) assert.ok(s === 403 || s === 404, `status ${s}`);
        await page.close();
      });
      assert.deepEqual(await browser.pageErrors(), [], "uncaught errors in the pages");
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
