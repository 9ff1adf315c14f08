// The scatter panel of a sweep: one dot per run, a param or metric on x, a metric on y, coloured by a
// third (a numeric scale, or categories), the best run ringed. Drawn on a canvas; hover names the
// run, click opens it; from the keyboard, arrows step through the runs and Enter opens one.

import type { Run } from "../api";
import { h } from "../dom";
import { fmtNum } from "../format";
import { colorFor } from "./chart";

export type Field = string; // "metric:<key>" | "param:<key>"

export function fieldValue(run: Run, field: Field): number | string | undefined {
  const [kind, ...rest] = field.split(":");
  const key = rest.join(":");
  if (kind === "metric") return run.metrics.get(key)?.value;
  const raw = kind === "param" ? run.params.get(key) : run.tags.get(key);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
}

export function fieldLabel(field: Field): string {
  const [kind, ...rest] = field.split(":");
  return `${rest.join(":")} (${kind})`;
}

interface Dot {
  run: Run;
  x: number;
  y: number;
  px: number;
  py: number;
  color: string;
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (lo === hi) return [lo];
  const span = hi - lo;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function rampColor(t: number): string {
  // blue (low) -> amber (high), readable in light and dark themes
  const a = [37, 99, 235];
  const b = [217, 119, 6];
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * Math.min(1, Math.max(0, t))));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export class ScatterPanel {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private tip: HTMLElement;
  private legend: HTMLElement;
  private dots: Dot[] = [];
  private resize: ResizeObserver;
  private announce: HTMLElement;
  /** The run the keyboard is on (kept by id across redraws). */
  private focused: string | null = null;

  constructor(
    private runs: Run[],
    private x: Field,
    private y: Field,
    private color: Field | "",
    private best: string | null,
    private onOpen: (run: Run) => void,
  ) {
    // Keyboard: the canvas takes the focus; arrows step through the runs (in x order), the live
    // region says which run and its values, Enter opens it, Escape lets go.
    this.canvas = h("canvas", { class: "scatter-canvas", role: "application", tabindex: "0", "aria-roledescription": "scatter plot", "data-testid": "scatter-canvas" });
    this.tip = h("div", { class: "chart-tooltip", hidden: true });
    this.legend = h("div", { class: "legend scatter-legend" });
    this.announce = h("div", { class: "sr-only", role: "status", "aria-live": "polite", "data-testid": "scatter-announce" });
    this.el = h("div", { class: "scatter", "data-testid": "scatter" }, h("div", { class: "scatter-body" }, this.canvas, this.tip), this.legend, this.announce);
    this.canvas.addEventListener("keydown", (e) => this.onKey(e));
    this.canvas.addEventListener("blur", () => {
      this.tip.hidden = true;
    });
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => (this.tip.hidden = true));
    this.canvas.addEventListener("click", (e) => {
      const d = this.nearest(e);
      if (d) this.onOpen(d.run);
    });
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.el);
  }

  update(runs: Run[], x: Field, y: Field, color: Field | "", best: string | null): void {
    Object.assign(this, { runs, x, y, color, best });
    this.draw();
  }

  destroy(): void {
    this.resize.disconnect();
  }

  private draw(): void {
    const width = Math.max(240, this.el.clientWidth || 600);
    const height = 320;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const css = getComputedStyle(document.documentElement);
    const muted = css.getPropertyValue("--muted").trim() || "#6b7280";
    const gridColor = css.getPropertyValue("--chart-grid").trim() || "#e5e7eb";

    // x may be categorical (a string param): categories spread evenly
    const raw = this.runs.map((r) => ({ run: r, x: fieldValue(r, this.x), y: fieldValue(r, this.y), c: this.color ? fieldValue(r, this.color) : undefined }));
    const usable = raw.filter((d) => d.x !== undefined && typeof d.y === "number" && Number.isFinite(d.y));
    const categorical = usable.some((d) => typeof d.x === "string");
    const cats = categorical ? [...new Set(usable.map((d) => String(d.x)))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })) : [];
    const xs = usable.map((d) => (categorical ? cats.indexOf(String(d.x)) : (d.x as number)));
    const ys = usable.map((d) => d.y as number);
    const m = { left: 64, right: 16, top: 12, bottom: 40 };
    this.canvas.setAttribute("aria-label", `Scatter of ${fieldLabel(this.y)} against ${fieldLabel(this.x)}: ${usable.length} runs. Arrow keys move between runs, Enter opens one.`);
    this.el.dataset.dots = String(usable.length);
    if (!usable.length) {
      ctx.fillStyle = muted;
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillText("No run has both values.", m.left, height / 2);
      this.dots = [];
      this.legend.replaceChildren();
      return;
    }
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) [x0, x1] = [x0 - 0.5, x1 + 0.5];
    if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.05, y1 + Math.abs(y1 || 1) * 0.05];
    const padX = (x1 - x0) * 0.05;
    const padY = (y1 - y0) * 0.05;
    [x0, x1, y0, y1] = [x0 - padX, x1 + padX, y0 - padY, y1 + padY];
    const px = (v: number) => m.left + ((v - x0) / (x1 - x0)) * (width - m.left - m.right);
    const py = (v: number) => height - m.bottom - ((v - y0) / (y1 - y0)) * (height - m.top - m.bottom);

    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = gridColor;
    ctx.fillStyle = muted;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of ticks(y0, y1)) {
      ctx.beginPath();
      ctx.moveTo(m.left, py(t));
      ctx.lineTo(width - m.right, py(t));
      ctx.stroke();
      ctx.fillText(fmtNum(t), m.left - 6, py(t));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const xTicks = categorical ? cats.map((_, i) => i) : ticks(x0, x1);
    for (const t of xTicks) {
      ctx.beginPath();
      ctx.moveTo(px(t), m.top);
      ctx.lineTo(px(t), height - m.bottom);
      ctx.stroke();
      ctx.fillText(categorical ? cats[t] : fmtNum(t), px(t), height - m.bottom + 6);
    }
    ctx.fillText(fieldLabel(this.x), (m.left + width - m.right) / 2, height - 16);

    // colours: a numeric ramp, or one palette colour per category
    const cvals = usable.map((d) => d.c);
    const numericC = cvals.every((c) => c === undefined || typeof c === "number");
    const cNums = cvals.filter((c): c is number => typeof c === "number");
    const [c0, c1] = cNums.length ? [Math.min(...cNums), Math.max(...cNums)] : [0, 1];
    const cCats = numericC ? [] : [...new Set(cvals.map((c) => String(c ?? "(none)")))].sort();
    const colorOf = (c: number | string | undefined): string => {
      if (!this.color) return colorFor(0);
      if (c === undefined) return muted;
      if (numericC) return rampColor(c1 === c0 ? 0.5 : ((c as number) - c0) / (c1 - c0));
      return colorFor(cCats.indexOf(String(c)));
    };
    this.dots = usable.map((d, i) => ({ run: d.run, x: xs[i], y: ys[i], px: px(xs[i]), py: py(ys[i]), color: colorOf(d.c) }));
    for (const d of this.dots) {
      ctx.beginPath();
      ctx.arc(d.px, d.py, 4.5, 0, Math.PI * 2);
      ctx.fillStyle = d.color;
      ctx.globalAlpha = 0.85;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    const best = this.dots.find((d) => d.run.id === this.best);
    if (best) {
      ctx.beginPath();
      ctx.arc(best.px, best.py, 9, 0, Math.PI * 2);
      ctx.strokeStyle = "#d97706";
      ctx.lineWidth = 2.5;
      ctx.stroke();
    }
    const focused = this.dots.find((d) => d.run.id === this.focused);
    if (focused) {
      ctx.beginPath();
      ctx.arc(focused.px, focused.py, 7, 0, Math.PI * 2);
      ctx.strokeStyle = css.getPropertyValue("--fg").trim() || "#111827";
      ctx.lineWidth = 2;
      ctx.stroke();
      if (document.activeElement === this.canvas) this.showTip(focused);
    }
    this.el.dataset.focused = focused?.run.name ?? "";
    const legendItems: HTMLElement[] = [];
    if (this.color && numericC && cNums.length) {
      legendItems.push(
        h("span", { class: "legend-item" }, `${fieldLabel(this.color)}: `, h("span", { class: "swatch", style: { background: rampColor(0) } }), ` ${fmtNum(c0)} → `, h("span", { class: "swatch", style: { background: rampColor(1) } }), ` ${fmtNum(c1)}`),
      );
    } else if (this.color) {
      for (const c of cCats.slice(0, 16)) legendItems.push(h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: colorFor(cCats.indexOf(c)) } }), c));
    }
    if (best) legendItems.push(h("span", { class: "legend-item", "data-testid": "scatter-best" }, h("span", { class: "best-mark", "aria-hidden": "true" }, "◎"), ` best: ${best.run.name}`));
    this.legend.replaceChildren(...legendItems);
  }

  private nearest(e: MouseEvent): Dot | null {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    let found: Dot | null = null;
    let bestD = 64; // 8 px
    for (const d of this.dots) {
      const dd = (d.px - x) ** 2 + (d.py - y) ** 2;
      if (dd < bestD) {
        bestD = dd;
        found = d;
      }
    }
    return found;
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.dots.length) return;
    // runs in x order (then y): Right/Down next, Left/Up previous, Home/End the ends
    const order = this.dots.map((_, i) => i).sort((a, b) => this.dots[a].x - this.dots[b].x || this.dots[a].y - this.dots[b].y);
    const at = order.findIndex((i) => this.dots[i].run.id === this.focused);
    let next = at;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") next = at < 0 ? 0 : Math.min(order.length - 1, at + 1);
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") next = at < 0 ? 0 : Math.max(0, at - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = order.length - 1;
    else if (e.key === "Enter" && at >= 0) {
      e.preventDefault();
      this.onOpen(this.dots[order[at]].run);
      return;
    } else if (e.key === "Escape" && this.focused) {
      this.focused = null;
      this.tip.hidden = true;
      this.draw();
      return;
    } else return;
    e.preventDefault();
    const d = this.dots[order[next]];
    this.focused = d.run.id;
    this.draw();
    this.announce.textContent = `${d.run.name}: ${fieldLabel(this.x)} ${String(fieldValue(d.run, this.x) ?? "")}, ${fieldLabel(this.y)} ${fmtNum(d.y)}${
      this.color ? `, ${fieldLabel(this.color)} ${String(fieldValue(d.run, this.color) ?? "none")}` : ""
    } (${next + 1} of ${order.length})`;
  }

  private hover(e: MouseEvent): void {
    const d = this.nearest(e);
    this.canvas.style.cursor = d ? "pointer" : "default";
    if (!d) {
      this.tip.hidden = true;
      return;
    }
    this.showTip(d);
  }

  private showTip(d: Dot): void {
    this.tip.replaceChildren(
      h("div", { class: "tt-x" }, d.run.name),
      h("div", { class: "tt-row" }, h("span", { class: "tt-label" }, fieldLabel(this.x)), h("b", null, String(fieldValue(d.run, this.x) ?? ""))),
      h("div", { class: "tt-row" }, h("span", { class: "tt-label" }, fieldLabel(this.y)), h("b", null, fmtNum(d.y))),
    );
    this.tip.hidden = false;
    this.tip.style.left = `${d.px + 12}px`;
    this.tip.style.top = `${Math.max(0, d.py - 10)}px`;
  }
}
