/**
 * The dashboard page: for every served run, its metrics (from `metrics.jsonl`, streamed live by
 * server-sent events), config and checkpoints. Each chart overlays one metric of every run.
 *
 * @module
 */
/// <reference lib="dom" />
import type { RunListing } from "../lib/serve/listings.ts";
import { element } from "./dom.ts";
import { drawLineChart, type Series } from "./line_chart.ts";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d"];
/** Charts shown at first when the runs have these metrics (the first eval loss is added too). */
const DEFAULT_METRICS = ["train/CrossEntropyLoss", "throughput/device/tokens_per_second"];

/** A run's metric values by name, as (step, value) points. */
type RunMetrics = Map<string, [number, number][]>;

const ui = {
  live: element("live"),
  metricSelect: element<HTMLSelectElement>("metric-select"),
  charts: element("charts"),
  runs: element("runs"),
};
const metrics = new Map<string, RunMetrics>();
const charts = new Map<string, SVGSVGElement>();
let runs: RunListing[] = [];
let redrawQueued = false;

function metricNames(): string[] {
  const names = new Set<string>();
  for (const m of metrics.values()) for (const k of m.keys()) names.add(k);
  return [...names].sort();
}

function addChart(metric: string): void {
  if (charts.has(metric)) return;
  const box = document.createElement("div");
  box.className = "chart";
  box.dataset.metric = metric;
  const title = Object.assign(document.createElement("h3"), { textContent: metric });
  const close = Object.assign(document.createElement("button"), {
    className: "close",
    textContent: "×",
    title: "remove",
  });
  close.onclick = () => {
    charts.delete(metric);
    box.remove();
  };
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const legend = Object.assign(document.createElement("div"), { className: "legend" });
  box.append(title, close, svg, legend);
  ui.charts.append(box);
  charts.set(metric, svg);
  redraw();
}

function redraw(): void {
  redrawQueued = false;
  for (const [metric, svg] of charts) {
    const series: Series[] = runs.map((run, i) => ({
      name: run.name,
      color: COLORS[i % COLORS.length],
      points: metrics.get(run.id)?.get(metric) ?? [],
    }));
    drawLineChart(svg, series);
    const legend = svg.nextElementSibling as HTMLElement;
    legend.replaceChildren(
      ...series.filter((s) => s.points.length > 0).map((s) => {
        const last = s.points[s.points.length - 1];
        return Object.assign(document.createElement("span"), {
          textContent: `■ ${s.name}: ${Number(last[1].toPrecision(5))} @ step ${last[0]}`,
          style: `color: ${s.color}`,
        });
      }),
    );
  }
  const names = metricNames();
  const current = [...ui.metricSelect.options].map((o) => o.value).slice(1);
  if (names.join() !== current.join()) {
    ui.metricSelect.replaceChildren(new Option("…", ""), ...names.map((n) => new Option(n, n)));
  }
  const firstEvalLoss = names.find((n) => n.startsWith("eval/") && n.endsWith("CrossEntropyLoss"));
  for (const m of [...DEFAULT_METRICS, ...(firstEvalLoss ? [firstEvalLoss] : [])]) {
    if (names.includes(m) && !charts.has(m) && !dismissedDefaults.has(m)) {
      dismissedDefaults.add(m);
      addChart(m);
    }
  }
}
/** Default charts already shown once (a removed one does not come back). */
const dismissedDefaults = new Set<string>();

function queueRedraw(): void {
  if (!redrawQueued) {
    redrawQueued = true;
    requestAnimationFrame(redraw);
  }
}

function addLine(runId: string, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line);
  } catch {
    return; // A line the trainer is still writing never reaches here; others are not metrics.
  }
  const step = record.step;
  if (typeof step !== "number") return;
  const m = metrics.get(runId)!;
  for (const [k, v] of Object.entries(record)) {
    if (k === "step" || typeof v !== "number" || !Number.isFinite(v)) continue;
    const points = m.get(k) ?? [];
    points.push([step, v]);
    m.set(k, points);
  }
  const box = document.querySelector<HTMLElement>(`.run[data-run="${runId}"]`);
  if (box) box.dataset.lines = String(Number(box.dataset.lines ?? 0) + 1);
  queueRedraw();
}

async function showRun(run: RunListing): Promise<void> {
  const box = document.createElement("section");
  box.className = "panel run";
  box.dataset.run = run.id;
  box.dataset.lines = "0";
  const h = Object.assign(document.createElement("h2"), {
    textContent: `${run.name}  (${run.label})`,
  });
  const list = document.createElement("ul");
  for (const c of run.checkpoints) {
    const links = Object.entries(run.latest).filter(([, target]) => target === c.name).map(([l]) =>
      l
    );
    list.append(Object.assign(document.createElement("li"), {
      textContent: `${c.name} (step ${c.step}, ${c.sharded ? "sharded" : "unsharded"})` +
        (links.length ? ` ← ${links.join(", ")}` : ""),
    }));
  }
  if (run.checkpoints.length === 0) {
    list.append(Object.assign(document.createElement("li"), { textContent: "no checkpoints yet" }));
  }
  const config = Object.assign(document.createElement("pre"), { textContent: "(no config.yaml)" });
  const details = document.createElement("details");
  details.append(
    Object.assign(document.createElement("summary"), { textContent: "config.yaml" }),
    config,
  );
  box.append(
    h,
    Object.assign(document.createElement("h3"), { textContent: "Checkpoints" }),
    list,
    details,
  );
  ui.runs.append(box);
  if (run.config) {
    const response = await fetch(`/files/${run.id}/config.yaml`);
    if (response.ok) config.textContent = await response.text();
  }
}

function follow(run: RunListing): void {
  metrics.set(run.id, new Map());
  const events = new EventSource(`/api/runs/${run.id}/metrics`);
  events.onopen = () => {
    ui.live.textContent = "live";
  };
  events.onmessage = (e) => addLine(run.id, e.data);
  events.addEventListener("reset", () => {
    metrics.set(run.id, new Map());
    queueRedraw();
  });
  events.onerror = () => {
    ui.live.textContent = "reconnecting…";
  };
}

async function start(): Promise<void> {
  runs = await (await fetch("/api/runs")).json();
  if (runs.length === 0) {
    ui.runs.textContent = "No run folders served: start with --run runs/NAME.";
    ui.live.textContent = "no runs";
    return;
  }
  for (const run of runs) {
    await showRun(run);
    follow(run);
  }
  ui.metricSelect.onchange = () => {
    if (ui.metricSelect.value) addChart(ui.metricSelect.value);
    ui.metricSelect.value = "";
  };
  redraw();
}

start().catch((e) => {
  ui.live.textContent = `error: ${(e as Error).message}`;
});
