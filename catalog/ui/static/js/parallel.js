// Parallel coordinates in plain SVG: one vertical axis per param or metric, one polyline per run.

import { formatNumber, h, s } from "./dom.js";

const LOW = [37, 99, 235]; // the colour of the lowest value of the colour metric
const HIGH = [234, 88, 12]; // ... and of the highest
const NO_COLOUR = "#9aa5b1";

function mix(t) {
  const c = LOW.map((lo, i) => Math.round(lo + (HIGH[i] - lo) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const isNumber = (v) => v !== null && v !== undefined && v !== "" && Number.isFinite(Number(v));

/**
 * An axis for each of `axes` = [{key, label, value(item)}]: numeric when every present value
 * parses as a number, else its categories evenly spaced (sorted).
 */
function scaleFor(axis, items) {
  const present = items.map(axis.value).filter((v) => v !== null && v !== undefined);
  if (present.length && present.every(isNumber)) {
    const numbers = present.map(Number);
    let lo = Math.min(...numbers);
    let hi = Math.max(...numbers);
    if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2];
    return {
      kind: "number",
      at: (v) => (Number(v) - lo) / (hi - lo),
      ticks: [lo, (lo + hi) / 2, hi].map((v) => [formatNumber(v), (v - lo) / (hi - lo)]),
    };
  }
  const categories = [...new Set(present.map(String))].sort();
  const step = categories.length > 1 ? 1 / (categories.length - 1) : 0;
  const single = categories.length === 1;
  return {
    kind: "category",
    at: (v) => (single ? 0.5 : categories.indexOf(String(v)) * step),
    ticks: categories.map((c, i) => [c, single ? 0.5 : i * step]),
  };
}

/**
 * items: [{id, name, ...}], axes: [{key, label, value(item)}], colourBy: an axis (or null).
 * The axes and colours span scaleItems (all items by default), so that they stay put while the
 * drawn items change. Values an item lacks sit below the axis, at the "missing" mark.
 */
export function parallelCoordinates(items, axes, { colourBy = null, scaleItems = items, testid = "parallel-coordinates" } = {}) {
  const figure = h("figure", { class: "chart-box parallel", testid });
  if (axes.length < 2 || !items.length) {
    figure.append(h("p", { class: "empty" }, axes.length < 2 ? "Choose at least two axes." : "No runs to draw."));
    return figure;
  }
  const pad = { left: 60, right: 60, top: 28, bottom: 44 };
  const gap = Math.max(110, Math.min(240, 960 / (axes.length - 1)));
  const width = pad.left + pad.right + gap * (axes.length - 1);
  const height = 300;
  const plotH = height - pad.top - pad.bottom;
  const scales = axes.map((axis) => scaleFor(axis, scaleItems));
  const X = (i) => pad.left + i * gap;
  const Y = (t) => pad.top + (1 - t) * plotH;
  const missingY = height - pad.bottom + 22;

  let colourOf = () => NO_COLOUR;
  let range = null;
  if (colourBy) {
    const values = scaleItems.map(colourBy.value).filter(isNumber).map(Number);
    if (values.length) {
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      range = [lo, hi];
      colourOf = (item) => {
        const v = colourBy.value(item);
        return isNumber(v) ? mix(hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)) : NO_COLOUR;
      };
    }
  }

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    style: `max-width:${width}px`,
    class: "chart parallel-svg",
    role: "img",
    "aria-label": `parallel coordinates of ${axes.map((a) => a.label).join(", ")}`,
  });
  const hover = h("p", { class: "hint pc-hover", testid: "pc-hover", "aria-live": "polite" }, "Point at a line to see its run.");
  const lines = s("g", { class: "pc-lines" });
  for (const item of items) {
    const points = axes.map((axis, i) => {
      const v = axis.value(item);
      const y = v === null || v === undefined ? missingY : Y(scales[i].at(v));
      return `${X(i).toFixed(1)},${y.toFixed(1)}`;
    });
    const line = s(
      "polyline",
      {
        points: points.join(" "),
        fill: "none",
        stroke: colourOf(item),
        "stroke-width": 2.2,
        class: "pc-line",
        "data-testid": "pc-line",
        "data-run-id": item.id,
        "data-run-name": item.name,
      },
      s("title", {}, item.name),
    );
    line.addEventListener("mouseenter", () => {
      line.classList.add("hover");
      const values = axes.map((axis) => `${axis.label} ${axis.value(item) ?? "—"}`).join(" · ");
      hover.textContent = `${item.name}: ${values}`;
    });
    line.addEventListener("mouseleave", () => line.classList.remove("hover"));
    lines.append(line);
  }
  svg.append(lines);
  axes.forEach((axis, i) => {
    const g = s("g", { class: "pc-axis", "data-axis": axis.key });
    g.append(
      s("line", { x1: X(i), y1: pad.top, x2: X(i), y2: height - pad.bottom, class: "axis" }),
      s("text", { x: X(i), y: pad.top - 12, "text-anchor": "middle", class: "pc-label" }, axis.label),
      s("text", { x: X(i), y: missingY + 4, "text-anchor": "middle", class: "tick" }, "—"),
    );
    for (const [label, t] of scales[i].ticks) {
      g.append(
        s("line", { x1: X(i) - 3, y1: Y(t), x2: X(i) + 3, y2: Y(t), class: "axis" }),
        s("text", { x: X(i) + 6, y: Y(t) + 4, class: "tick" }, label.length > 14 ? `${label.slice(0, 13)}…` : label),
      );
    }
    svg.append(g);
  });
  figure.append(h("div", { class: "graph-wrap" }, svg), hover);
  if (range) {
    figure.append(
      h(
        "p",
        { class: "legend pc-legend" },
        `colour: ${colourBy.label} `,
        h("span", { class: "swatch", style: `background:${mix(0)}` }),
        formatNumber(range[0]),
        " → ",
        h("span", { class: "swatch", style: `background:${mix(1)}` }),
        formatNumber(range[1]),
      ),
    );
  }
  return figure;
}
