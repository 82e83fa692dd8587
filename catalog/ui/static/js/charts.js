// Plain SVG charts: horizontal bars and lines by step. They scale with their container.

import { formatNumber, h, s, show } from "./dom.js";

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];
export const colour = (i) => PALETTE[i % PALETTE.length];

/** Horizontal bars: labels and numbers, at most `limit` of them. */
export function barChart(labels, values, { testid = "bar-chart", title, limit = 40 } = {}) {
  const n = Math.min(labels.length, limit);
  const barH = 22;
  const labelW = 160;
  const width = 640;
  const height = n * barH + 24;
  const finite = values.slice(0, n).filter(Number.isFinite);
  const max = Math.max(0, ...finite);
  const min = Math.min(0, ...finite);
  const span = max - min || 1;
  const plotW = width - labelW - 70;
  const x = (v) => labelW + ((v - min) / span) * plotW;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title ?? "bar chart" });
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const y = 8 + i * barH;
    const label = show(labels[i]);
    svg.append(
      s("text", { x: labelW - 6, y: y + barH / 2 + 4, "text-anchor": "end", class: "tick" }, clip(label, 22)),
    );
    if (!Number.isFinite(v)) continue;
    const x0 = x(Math.min(0, v));
    const w = Math.max(1, Math.abs(x(v) - x(0)));
    svg.append(
      s("rect", { x: x0, y: y + 3, width: w, height: barH - 6, fill: colour(0), rx: 2 }, s("title", {}, `${label}: ${v}`)),
      s("text", { x: x0 + w + 4, y: y + barH / 2 + 4, class: "tick" }, formatNumber(v)),
    );
  }
  const figure = h("figure", { class: "chart-box", testid }, title ? h("figcaption", {}, title) : null, svg);
  if (labels.length > n) figure.append(h("p", { class: "note" }, `First ${n} of ${labels.length} rows.`));
  return figure;
}

/**
 * Lines by step: series = [{name, points: [{x, y}]}], one colour each, with a legend.
 * xLabel names the x axis ("step"), xFormat writes its ticks, yFormat those of y; yMin pulls
 * the y axis down to it, xPad widens a single x value; dots: false draws lines alone.
 */
export function lineChart(
  series,
  {
    testid = "line-chart",
    title,
    attrs = {},
    xLabel = "step",
    xFormat = formatNumber,
    yFormat = formatNumber,
    yMin,
    xPad = 1,
    dots = true,
  } = {},
) {
  const width = 560;
  const height = 240;
  const pad = { left: 56, right: 16, top: 12, bottom: 32 };
  const points = series.flatMap((one) => one.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const figure = h("figure", { class: "chart-box", testid, ...attrs }, title ? h("figcaption", {}, title) : null);
  if (!points.length) {
    figure.append(h("p", { class: "empty" }, "No points to draw."));
    return figure;
  }
  let [x0, x1] = extent(points.map((p) => p.x));
  let [y0, y1] = extent(points.map((p) => p.y));
  if (yMin !== undefined) y0 = Math.min(y0, yMin);
  if (x0 === x1) [x0, x1] = [x0 - xPad, x1 + xPad];
  if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.1, y1 + Math.abs(y1 || 1) * 0.1];
  const X = (v) => pad.left + ((v - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const Y = (v) => height - pad.bottom - ((v - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title ?? "line chart" });
  svg.append(
    s("line", { x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom, class: "axis" }),
    s("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom, class: "axis" }),
  );
  for (const v of [y0, (y0 + y1) / 2, y1]) {
    svg.append(s("text", { x: pad.left - 6, y: Y(v) + 4, "text-anchor": "end", class: "tick" }, yFormat(v)));
  }
  for (const v of [x0, x1]) {
    svg.append(s("text", { x: X(v), y: height - pad.bottom + 16, "text-anchor": "middle", class: "tick" }, xFormat(v)));
  }
  svg.append(s("text", { x: (width + pad.left) / 2, y: height - 4, "text-anchor": "middle", class: "tick" }, xLabel));
  series.forEach((one, i) => {
    const pts = one.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const g = s("g", { class: "series", "data-series": one.name }, s("title", {}, one.name));
    if (pts.length > 1) {
      g.append(
        s("polyline", {
          points: pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(" "),
          fill: "none",
          stroke: colour(i),
          "stroke-width": 2,
        }),
      );
    }
    for (const p of dots || pts.length === 1 ? pts : []) {
      g.append(s("circle", { cx: X(p.x), cy: Y(p.y), r: 3, fill: colour(i) }, s("title", {}, `${one.name} ${xLabel} ${xFormat(p.x)}: ${yFormat(p.y)}`)));
    }
    svg.append(g);
  });
  figure.append(
    svg,
    h(
      "ul",
      { class: "legend" },
      series.map((one, i) => h("li", {}, h("span", { class: "swatch", style: `background:${colour(i)}` }), one.name)),
    ),
  );
  return figure;
}

function extent(values) {
  return [Math.min(...values), Math.max(...values)];
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
