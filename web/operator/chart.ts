import { el } from "../src/dom";
import type { AlertBucket } from "./api";

/**
 * Alerts per rule over time as a stacked bar chart in plain SVG, built node by node (no markup
 * strings, so rule ids from the server can never become markup). Buckets are UTC.
 */

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f4e8c", "#c4622d", "#2e8b57", "#8e44ad", "#b8860b", "#c0392b", "#16a085", "#5d6d7e"];
const W = 960;
const H = 200;
const PAD = { left: 40, right: 8, top: 10, bottom: 26 };

export interface ChartRange {
  from: number;
  to: number;
  bucketMs: number;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function bucketLabel(start: number, bucketMs: number): string {
  const iso = new Date(start).toISOString();
  return bucketMs < 86_400_000 ? `${iso.slice(11, 16)}` : iso.slice(5, 10);
}

/** Integer ticks 0..top with a step of 1, 2, 5, 10, 20, 50… giving at most 5 intervals. */
function ticks(max: number): number[] {
  const steps = [1, 2, 5];
  let step = 1;
  for (let m = 1; ; m *= 10) {
    const s = steps.map((x) => x * m).find((x) => Math.ceil(max / x) <= 5);
    if (s) {
      step = s;
      break;
    }
  }
  const top = Math.max(step, Math.ceil(max / step) * step);
  const out: number[] = [];
  for (let v = 0; v <= top; v += step) out.push(v);
  return out;
}

/** Colour per rule, stable for a given set of rule ids (sorted). */
export function ruleColours(ruleIds: readonly string[]): Map<string, string> {
  return new Map([...new Set(ruleIds)].sort().map((r, i) => [r, PALETTE[i % PALETTE.length]!]));
}

/** Replaces `host`'s content with the chart and `legend`'s with one entry per rule (with its total). */
export function drawAlertChart(
  host: HTMLElement,
  legend: HTMLElement,
  buckets: readonly AlertBucket[],
  range: ChartRange,
): void {
  const first = Math.floor(range.from / range.bucketMs) * range.bucketMs;
  const starts: number[] = [];
  for (let t = first; t < range.to; t += range.bucketMs) starts.push(t);
  const colours = ruleColours(buckets.map((b) => b.ruleId));
  const totals = new Map<number, number>();
  for (const b of buckets) totals.set(b.bucket, (totals.get(b.bucket) ?? 0) + b.count);
  const yTicks = ticks(Math.max(1, ...totals.values()));
  const top = yTicks[yTicks.length - 1]!;

  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, starts.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;

  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-labelledby": "chart-title",
    class: "alert-chart",
  });
  root.append(svg("title", { id: "chart-title" }, "Alerts per rule over time"));
  for (const v of yTicks) {
    root.append(
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: "#e3e7ee" }),
      svg("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, String(v)),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(starts.length / 12));
  starts.forEach((start, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const b of buckets
      .filter((b) => b.bucket === start)
      .sort((a, b) => a.ruleId.localeCompare(b.ruleId))) {
      const rect = svg("rect", {
        x,
        y: y(base + b.count),
        width: barW,
        height: y(base) - y(base + b.count),
        fill: colours.get(b.ruleId)!,
        "data-rule": b.ruleId,
        "data-bucket": b.bucket,
        "data-count": b.count,
      });
      rect.append(
        svg(
          "title",
          {},
          `${b.ruleId}: ${b.count} alert${b.count === 1 ? "" : "s"} (${bucketLabel(start, range.bucketMs)} UTC)`,
        ),
      );
      root.append(rect);
      base += b.count;
    }
    if (i % labelEvery === 0)
      root.append(
        svg(
          "text",
          { x: x + barW / 2, y: H - 8, "text-anchor": "middle", class: "axis" },
          bucketLabel(start, range.bucketMs),
        ),
      );
  });
  root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0), stroke: "#8a94a6" }));
  host.replaceChildren(root);

  const byRule = new Map<string, number>();
  for (const b of buckets) byRule.set(b.ruleId, (byRule.get(b.ruleId) ?? 0) + b.count);
  legend.replaceChildren(
    ...(byRule.size === 0
      ? [el("li", "No alerts in this period.", { class: "muted" })]
      : [...colours].map(([rule, colour]) => {
          const swatch = svg("svg", { width: 12, height: 12, "aria-hidden": "true" });
          swatch.append(svg("rect", { width: 12, height: 12, rx: 2, fill: colour }));
          const item = el("li", undefined, { "data-rule": rule });
          item.append(
            swatch,
            el("span", rule, { class: "mono" }),
            el("span", ` ${byRule.get(rule)}`, { class: "count" }),
          );
          return item;
        })),
  );
}
