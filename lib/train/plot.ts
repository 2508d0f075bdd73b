/**
 * A dependency-free SVG line chart of the training and evaluation loss curves
 * (`save_folder/loss.svg`), readable in any browser or image viewer.
 *
 * @module
 */

/** A named series of (step, value) points. */
export interface Series {
  /** Legend label, e.g. `train/CrossEntropyLoss`. */
  label: string;
  /** Points in step order. */
  points: [number, number][];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const W = 720, H = 420, LEFT = 64, RIGHT = 16, TOP = 36, BOTTOM = 48;

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(t);
  return ticks;
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

function tickLabel(v: number): string {
  return Math.abs(v) >= 1000 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

/**
 * Renders the series as a standalone SVG document with axes, grid, and a legend. With
 * `evaluation` series (downstream accuracies, on their own scale) a second panel below shows
 * them.
 */
export function lossCurveSvg(series: Series[], title = "loss", evaluation: Series[] = []): string {
  const panels = evaluation.length > 0 ? 2 : 1;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${
      H * panels
    }" viewBox="0 0 ${W} ${H * panels}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H * panels}" fill="white"/>`,
    ...panelSvg(series, title),
    ...(panels === 2
      ? [
        `<g transform="translate(0,${H})">`,
        ...panelSvg(evaluation, "evaluation: eval/downstream/*"),
        "</g>",
      ]
      : []),
    "</svg>",
  ].join("\n") + "\n";
}

/** One chart: title, grid, axes, curves and legend in a W×H box. */
function panelSvg(series: Series[], title: string): string[] {
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = pts.map(([x]) => x), ys = pts.map(([, y]) => y);
  const x0 = pts.length ? Math.min(...xs) : 0, x1 = pts.length ? Math.max(...xs) : 1;
  const y0 = pts.length ? Math.min(...ys) : 0, y1 = pts.length ? Math.max(...ys) : 1;
  const xSpan = x1 - x0 || 1, ySpan = y1 - y0 || 1;
  const px = (x: number) => LEFT + ((x - x0) / xSpan) * (W - LEFT - RIGHT);
  const py = (y: number) => H - BOTTOM - ((y - y0) / ySpan) * (H - TOP - BOTTOM);
  const out: string[] = [
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1, 5)) {
    out.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`,
      `<text x="${LEFT - 6}" y="${py(t) + 4}" text-anchor="end">${tickLabel(t)}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 6)) {
    out.push(
      `<line x1="${px(t)}" x2="${px(t)}" y1="${TOP}" y2="${H - BOTTOM}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${H - BOTTOM + 16}" text-anchor="middle">${tickLabel(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${
      H - TOP - BOTTOM
    }" fill="none" stroke="#333"/>`,
    `<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 10}" text-anchor="middle">step</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const finite = s.points.filter(([, y]) => Number.isFinite(y));
    if (finite.length > 1) {
      const d = finite.map(([x, y], j) =>
        `${j ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`
      );
      out.push(`<path d="${d.join("")}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    for (const [x, y] of finite.length <= 50 ? finite : []) {
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${color}"/>`,
      );
    }
    const ly = TOP + 14 + i * 16;
    out.push(
      `<line x1="${W - RIGHT - 190}" x2="${W - RIGHT - 170}" y1="${ly - 4}" y2="${
        ly - 4
      }" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - RIGHT - 165}" y="${ly}">${escapeXml(s.label)}</text>`,
    );
  });
  return out;
}
