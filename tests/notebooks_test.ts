/**
 * Notebooks: the committed ones are stripped and use only the public API; the executed copies
 * that `deno task notebooks` (and CI) write to `.cache/notebooks/` hold what each notebook
 * promises. The "executed" tests are ignored when a notebook has not been executed, or when its
 * executed copy is stale (its code differs from the committed notebook's).
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import {
  cellById,
  cellData,
  cellText,
  codeSources,
  hasRunState,
  joinText,
  type Notebook,
  readNotebook,
} from "../scripts/notebook_format.ts";
import { listNotebooks } from "../scripts/strip_notebooks.ts";
import { EXECUTED_NOTEBOOKS_DIR } from "../scripts/run_notebooks.ts";
import { HAS_SHARED, REPO_ROOT } from "./_shared.ts";

const NOTEBOOKS = listNotebooks();

/** The executed copy of a committed notebook, or null when absent or stale. */
function executedCopy(name: string): Notebook | null {
  const path = join(EXECUTED_NOTEBOOKS_DIR, `${name}.ipynb`);
  let executed: Notebook;
  try {
    executed = readNotebook(path);
  } catch {
    return null;
  }
  const committed = readNotebook(NOTEBOOKS.find((p) => basename(p, ".ipynb") === name)!);
  const current = JSON.stringify(codeSources(executed)) === JSON.stringify(codeSources(committed));
  return current ? executed : null;
}

/** Rows of the first markdown table in `md` (header and separator excluded). */
function tableRows(md: string): string[][] {
  const lines = md.split("\n").map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith("|"));
  assert.ok(start >= 0, `no markdown table in:\n${md}`);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    rows.push(lines[i].slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

/** The single output of MIME type `mime` of cell `id`. */
function onlyData(nb: Notebook, id: string, mime: string): string {
  const data = cellData(cellById(nb, id), mime);
  assert.equal(data.length, 1, `cell ${id}: expected one ${mime} output, got ${data.length}`);
  return data[0];
}

function assertSvgChart(svg: string, minShapes: number): void {
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\s*$/);
  const shapes = svg.match(/<(rect|path|polyline|circle)\b/g) ?? [];
  assert.ok(shapes.length >= minShapes, `expected >= ${minShapes} shapes, got ${shapes.length}`);
}

Deno.test("notebooks exist and are committed without outputs", () => {
  assert.ok(NOTEBOOKS.length >= 3, `expected the three notebooks, found ${NOTEBOOKS.join(", ")}`);
  for (const path of NOTEBOOKS) {
    assert.equal(hasRunState(readNotebook(path)), false, `${path}: run \`deno task nb-strip\``);
  }
});

Deno.test("notebooks use the Deno kernel and import only the public API", () => {
  for (const path of NOTEBOOKS) {
    const nb = readNotebook(path);
    assert.deepEqual(nb.metadata.kernelspec, {
      name: "deno",
      display_name: "Deno",
      language: "typescript",
    }, path);
    const ids = nb.cells.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length, `${path}: cell ids must be unique`);
    for (const code of codeSources(nb)) {
      for (const [, specifier] of code.matchAll(/\bfrom\s+"([^"]+)"/g)) {
        if (specifier.startsWith(".")) {
          assert.equal(specifier, "../mod.ts", `${path}: ${specifier}`);
        }
      }
    }
  }
});

Deno.test("notebook code type-checks against the public API", async () => {
  // Code cells run as one module per notebook; `../mod.ts` becomes the absolute file URL.
  const dir = await Deno.makeTempDir({ prefix: "olmo-nb-check-" });
  try {
    const modUrl = new URL("../mod.ts", import.meta.url).href;
    const files = NOTEBOOKS.map((path) => {
      const code = codeSources(readNotebook(path)).join("\n").replaceAll(
        '"../mod.ts"',
        `"${modUrl}"`,
      );
      const file = join(dir, `${basename(path, ".ipynb")}.ts`);
      Deno.writeTextFileSync(file, code + "\n");
      return file;
    });
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", join(REPO_ROOT, "deno.json"), ...files],
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, `deno check of the notebooks' code failed:\n${text}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const beamSearch = executedCopy("01_beam_search");
Deno.test({
  name: "executed 01_beam_search: beams, samples and an OLMo model.pt checkpoint",
  ignore: beamSearch === null,
  fn() {
    const nb = beamSearch!;
    const best = cellText(cellById(nb, "best-beam")).trim();
    const prompt = Deno.env.get("OLMO_NB_PROMPT") ?? "The jury said that";
    assert.ok(best.startsWith(prompt), best);
    assert.ok(best.length > prompt.length, `no generated text after the prompt: ${best}`);

    const beams = tableRows(onlyData(nb, "beam-table", "text/markdown"));
    assert.equal(beams.length, 3, "three beams");
    const scores = beams.map((r) => Number(r[1]));
    assert.ok(scores.every((x) => Number.isFinite(x) && x < 0), `scores ${scores}`);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "best beam first");

    const compared = tableRows(onlyData(nb, "sampling", "text/markdown"));
    assert.deepEqual(compared.map((r) => r[0]), [
      ...Array(3).fill("beam search"),
      ...Array(3).fill("top-p 0.9, T 0.8"),
    ]);
    for (const row of compared) assert.ok(row[3].length > 0, `empty continuation: ${row}`);

    const olmo = cellById(nb, "olmo-checkpoint");
    const printed = cellText(olmo);
    if (HAS_SHARED && Deno.env.get("OLMO_NB_OLMO_CHECKPOINT") === undefined) {
      const diff = Number(printed.match(/largest difference (\S+)/)?.[1]);
      assert.ok(diff <= 1e-4, `logits differ from PyTorch OLMo's by ${diff}:\n${printed}`);
      const rows = tableRows(onlyData(nb, "olmo-checkpoint", "text/markdown"));
      assert.equal(rows.length, 6, "two prompts, three beams each");
      for (const row of rows) {
        assert.equal(row[2].split(" ").length, 6, "six generated token ids");
        assert.ok(row[2].split(" ").every((id) => Number(id) >= 0 && Number(id) < 250), row[2]);
      }
    } else if (!printed.startsWith("skipped")) {
      assert.match(printed, /^loaded /);
    }
  },
});

const trainTiny = executedCopy("02_train_tiny");
Deno.test({
  name: "executed 02_train_tiny: the loss falls, the curve is drawn, checkpoints generate",
  ignore: trainTiny === null,
  fn() {
    const nb = trainTiny!;
    const summary = cellText(cellById(nb, "train"));
    const match = summary.match(/(\d+) steps on \S+ in \S+ s: training loss (\S+) → (\S+)/);
    assert.ok(match, summary);
    const [steps, first, last] = [Number(match[1]), Number(match[2]), Number(match[3])];
    // An untrained model predicts nearly uniformly over the 4096-token vocabulary.
    assert.ok(Math.abs(first - Math.log(4096)) < 0.3, `first loss ${first} vs ln 4096`);
    assert.ok(last < first - 0.5, `the loss did not fall: ${first} → ${last}`);

    const svg = onlyData(nb, "loss-plot", "image/svg+xml");
    assertSvgChart(svg, 3);
    assert.equal((svg.match(/<path\b/g) ?? []).length, 3, "train, smoothed train, validation");
    const validation = [
      ...cellText(cellById(nb, "loss-plot")).matchAll(/step (\d+): (\S+?)[,\n]/g),
    ];
    assert.ok(validation.length >= 1, "validation losses printed");
    // Evaluated every floor(steps / 2) steps, so at the last step or the one before it.
    assert.ok(Number(validation.at(-1)![1]) >= steps - 1, "validated at the end");
    for (const [, , loss] of validation) assert.ok(Number(loss) < Math.log(4096), loss);

    const rows = tableRows(onlyData(nb, "generate", "text/markdown"));
    const checkpointSteps = [...new Set(rows.map((r) => Number(r[0])))];
    // Saved every floor(steps / 2) steps from step 0, and at the end.
    const half = Math.floor(steps / 2);
    const expected = 2 * half === steps ? [0, half, steps] : [0, half, 2 * half, steps];
    assert.deepEqual(checkpointSteps, expected, "checkpoint steps");
    assert.equal(rows.length, 2 * checkpointSteps.length, "two prompts per checkpoint");
    for (const row of rows) assert.ok(row[2].length > 0 && row[3].length > 0, `${row}`);
  },
});

const inspectData = executedCopy("03_inspect_data");
Deno.test({
  name: "executed 03_inspect_data: step documents, statistics and histogram",
  ignore: inspectData === null,
  fn() {
    const nb = inspectData!;
    const setup = cellText(cellById(nb, "setup"));
    const batch = Number(setup.match(/global batch (\d+) instances/)?.[1]);
    assert.ok(batch > 0, setup);

    const stepCell = cellById(nb, "step-documents");
    const printed = cellText(stepCell).match(/step (\d+) instance indices: ([\d, ]+)/);
    assert.ok(printed, cellText(stepCell));
    const indices = printed[2].split(",").map(Number);
    assert.equal(indices.length, batch);
    const rows = tableRows(onlyData(nb, "step-documents", "text/markdown"));
    assert.deepEqual(rows.map((r) => Number(r[1])), indices);
    const step = Number(printed[1]);
    assert.deepEqual(
      rows.map((r) => Number(r[0])),
      indices.map((_, j) => (step - 1) * batch + j),
      "global positions of the step",
    );
    for (const row of rows) assert.match(row[3], /^c[a-r]\d\d \([a-r]\)/, "Brown document ids");

    const stats = onlyData(nb, "token-stats", "text/markdown");
    assert.match(stats, /distinct token ids used \| \d+ of 4096/);
    assertSvgChart(onlyData(nb, "histogram", "image/svg+xml"), 10);
  },
});

Deno.test({
  name: "executed notebooks: no cell raised an error",
  ignore: NOTEBOOKS.every((p) => executedCopy(basename(p, ".ipynb")) === null),
  fn() {
    for (const path of NOTEBOOKS) {
      const nb = executedCopy(basename(path, ".ipynb"));
      for (const cell of nb?.cells ?? []) {
        const errors = (cell.outputs ?? []).filter((o) => o.output_type === "error");
        assert.deepEqual(
          errors.map((e) => `${e.ename}: ${e.evalue}`),
          [],
          `${path} cell ${cell.id}: ${joinText(cell.source).slice(0, 80)}`,
        );
      }
    }
  },
});
