/**
 * A small SVG line chart: one polyline per series over a shared x axis (steps), with axis
 * ticks and a legend. Redrawn whole on every update; runs have at most a few thousand points.
 *
 * @module
 */
/// <reference lib="dom" />

/** One line. */
export interface Series {
  /** Legend text. */
  name: string;
  /** Stroke colour. */
  color: string;
  /** Points, by increasing x. */
  points: readonly [number, number][];
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 240;
const MARGIN = { left: 56, right: 12, top: 10, bottom: 24 };

function svgElement(name: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Tick values: about `count` round numbers spanning [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  // Multiples of the step, each computed afresh and rounded, so 0.1 steps print as 3.8, not 3.80…03.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}

function label(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** Draws `series` into `svg` (replacing what was there). */
export function drawLineChart(svg: SVGSVGElement, series: readonly Series[]): void {
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const all = series.flatMap((s) => s.points);
  svg.replaceChildren();
  if (all.length === 0) {
    const t = svgElement("text", {
      x: WIDTH / 2,
      y: HEIGHT / 2,
      "text-anchor": "middle",
      fill: "#667085",
    });
    t.textContent = "no data yet";
    svg.append(t);
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.05, y1 + Math.abs(y1 || 1) * 0.05];
  const pw = WIDTH - MARGIN.left - MARGIN.right;
  const ph = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => MARGIN.top + (1 - (y - y0) / (y1 - y0)) * ph;
  for (const t of niceTicks(y0, y1)) {
    svg.append(
      svgElement("line", {
        x1: MARGIN.left,
        x2: WIDTH - MARGIN.right,
        y1: sy(t),
        y2: sy(t),
        stroke: "#eceff3",
      }),
    );
    const text = svgElement("text", {
      x: MARGIN.left - 6,
      y: sy(t) + 4,
      "text-anchor": "end",
      "font-size": 11,
      fill: "#667085",
    });
    text.textContent = label(t);
    svg.append(text);
  }
  for (const t of niceTicks(x0, x1)) {
    const text = svgElement("text", {
      x: sx(t),
      y: HEIGHT - 6,
      "text-anchor": "middle",
      "font-size": 11,
      fill: "#667085",
    });
    text.textContent = label(t);
    svg.append(text);
  }
  svg.append(
    svgElement("rect", {
      x: MARGIN.left,
      y: MARGIN.top,
      width: pw,
      height: ph,
      fill: "none",
      stroke: "#d9dee7",
    }),
  );
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join("");
    const path = svgElement("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.8 });
    path.dataset.series = s.name;
    path.dataset.points = String(s.points.length);
    svg.append(path);
    if (s.points.length === 1) {
      const [x, y] = s.points[0];
      svg.append(svgElement("circle", { cx: sx(x), cy: sy(y), r: 3, fill: s.color }));
    }
  }
}
