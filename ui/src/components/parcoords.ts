// Parallel coordinates on canvas for hyperparameter searches: one vertical axis per varying param
// (numeric or categorical) and the chosen metric last; lines coloured by that metric. Drag on an axis
// to brush a range; click an axis to clear its brush. From the keyboard, arrows step through the runs.

import { h } from "../dom";
import { fmtNum } from "../format";

export interface PcRun {
  id: string;
  label: string;
}

export interface PcDim {
  key: string;
  label: string;
  values: (number | string | undefined)[]; // one per run
}

interface Axis {
  dim: PcDim;
  numeric: boolean;
  min: number;
  max: number;
  cats: string[];
  log: boolean;
}

const M = { top: 36, bottom: 26, side: 60 };

function makeAxis(dim: PcDim): Axis {
  const present = dim.values.filter((v) => v !== undefined && v !== "") as (number | string)[];
  const nums = present.map((v) => (typeof v === "number" ? v : Number(v)));
  const numeric = present.length > 0 && nums.every((n) => Number.isFinite(n));
  if (numeric) {
    let min = Math.min(...nums);
    let max = Math.max(...nums);
    const log = min > 0 && max / min > 1000;
    if (min === max) {
      min -= 1;
      max += 1;
    }
    return { dim, numeric, min, max, cats: [], log };
  }
  const cats = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { dim, numeric, min: 0, max: Math.max(1, cats.length - 1), cats, log: false };
}

/** Position of a value on the axis, 0 (bottom) .. 1 (top); null when missing. */
function frac(a: Axis, v: number | string | undefined): number | null {
  if (v === undefined || v === "") return null;
  if (a.numeric) {
    const n = typeof v === "number" ? v : Number(v);
    if (!Number.isFinite(n)) return null;
    if (a.log) return (Math.log(n) - Math.log(a.min)) / (Math.log(a.max) - Math.log(a.min));
    return (n - a.min) / (a.max - a.min);
  }
  const i = a.cats.indexOf(String(v));
  if (i < 0) return null;
  return a.cats.length === 1 ? 0.5 : i / (a.cats.length - 1);
}

function heat(t: number): string {
  // indigo -> teal -> amber: readable on light and dark backgrounds
  const stops = [
    [79, 70, 229],
    [8, 145, 178],
    [22, 163, 74],
    [217, 119, 6],
    [225, 29, 72],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((s, k) => Math.round(s + (stops[i + 1][k] - s) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export class ParallelCoordinates {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private info: HTMLElement;
  private axes: Axis[];
  private brushes = new Map<number, [number, number]>(); // axis index -> fractions [lo, hi]
  private drag: { axis: number; from: number } | null = null;
  private observer: ResizeObserver;

  private announce: HTMLElement;
  /** The run the keyboard is on (an index into runs), drawn on top. */
  private focused = -1;

  constructor(
    private runs: PcRun[],
    dims: PcDim[],
    private height = 340,
    private onOpen?: (id: string) => void,
  ) {
    this.axes = dims.map(makeAxis);
    // Keyboard: the canvas takes the focus; arrows step through the runs (their line drawn on top),
    // the live region reads the run's values axis by axis, Enter opens it.
    this.canvas = h("canvas", {
      class: "pc-canvas",
      "data-testid": "parcoords",
      tabindex: "0",
      role: "application",
      "aria-roledescription": "parallel coordinates",
      "aria-label": `Parallel coordinates of ${runs.length} runs over ${dims.map((d) => d.label).join(", ")}. Arrow keys move between runs${onOpen ? ", Enter opens one" : ""}.`,
    });
    this.info = h("div", { class: "pc-info muted" });
    this.announce = h("div", { class: "sr-only", role: "status", "aria-live": "polite", "data-testid": "parcoords-announce" });
    this.el = h("div", { class: "pc" }, this.canvas, this.info, this.announce);
    this.canvas.addEventListener("keydown", (e) => this.onKey(e));
    this.canvas.addEventListener("mousedown", (e) => this.onDown(e));
    window.addEventListener("mousemove", this.onMove);
    window.addEventListener("mouseup", this.onUp);
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(this.el);
  }

  private geometry() {
    const width = Math.max(300, this.el.clientWidth);
    const n = this.axes.length;
    const xs = this.axes.map((_, i) => (n === 1 ? width / 2 : M.side + (i * (width - 2 * M.side)) / (n - 1)));
    return { width, xs, plotH: this.height - M.top - M.bottom };
  }

  private yOf(f: number): number {
    return M.top + (1 - f) * (this.height - M.top - M.bottom);
  }

  private fracAt(y: number): number {
    return Math.min(1, Math.max(0, 1 - (y - M.top) / (this.height - M.top - M.bottom)));
  }

  private axisAt(x: number): number {
    const { xs } = this.geometry();
    let best = -1;
    let dist = 16;
    xs.forEach((ax, i) => {
      if (Math.abs(ax - x) < dist) {
        dist = Math.abs(ax - x);
        best = i;
      }
    });
    return best;
  }

  private onDown(e: MouseEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const axis = this.axisAt(e.clientX - r.left);
    if (axis < 0) return;
    e.preventDefault();
    this.drag = { axis, from: this.fracAt(e.clientY - r.top) };
  }

  private onMove = (e: MouseEvent): void => {
    if (!this.drag) return;
    const r = this.canvas.getBoundingClientRect();
    const to = this.fracAt(e.clientY - r.top);
    if (Math.abs(to - this.drag.from) > 0.01) {
      this.brushes.set(this.drag.axis, [Math.min(this.drag.from, to), Math.max(this.drag.from, to)]);
      this.draw();
    }
  };

  private onUp = (e: MouseEvent): void => {
    if (!this.drag) return;
    const r = this.canvas.getBoundingClientRect();
    const to = this.fracAt(e.clientY - r.top);
    if (Math.abs(to - this.drag.from) <= 0.01) this.brushes.delete(this.drag.axis); // a click clears
    this.drag = null;
    this.draw();
  };

  private onKey(e: KeyboardEvent): void {
    const n = this.runs.length;
    if (!n) return;
    let next = this.focused;
    if (e.key === "ArrowDown" || e.key === "ArrowRight") next = Math.min(n - 1, this.focused + 1);
    else if (e.key === "ArrowUp" || e.key === "ArrowLeft") next = Math.max(0, this.focused - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = n - 1;
    else if (e.key === "Enter" && this.focused >= 0 && this.onOpen) {
      e.preventDefault();
      this.onOpen(this.runs[this.focused].id);
      return;
    } else if (e.key === "Escape" && this.focused >= 0) next = -1;
    else return;
    e.preventDefault();
    this.focused = next;
    this.draw();
    if (next < 0) return;
    const values = this.axes.map((a) => {
      const v = a.dim.values[next];
      return `${a.dim.label} ${v === undefined || v === "" ? "none" : typeof v === "number" ? fmtNum(v) : v}`;
    });
    this.announce.textContent = `${this.runs[next].label}: ${values.join(", ")} (${next + 1} of ${n})`;
  }

  /** Ids of the runs inside every brush. */
  activeIds(): string[] {
    return this.runs.filter((_, i) => this.isActive(i)).map((r) => r.id);
  }

  private isActive(runIndex: number): boolean {
    for (const [ai, [lo, hi]] of this.brushes) {
      const f = frac(this.axes[ai], this.axes[ai].dim.values[runIndex]);
      if (f === null || f < lo - 1e-9 || f > hi + 1e-9) return false;
    }
    return true;
  }

  draw(): void {
    const { width, xs } = this.geometry();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${this.height}px`;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, this.height);
    const styles = getComputedStyle(document.documentElement);
    const fg = styles.getPropertyValue("--fg").trim() || "#111827";
    const muted = styles.getPropertyValue("--muted").trim() || "#6b7280";
    const faint = styles.getPropertyValue("--chart-grid").trim() || "#e5e7eb";
    const colorAxis = this.axes[this.axes.length - 1];
    const order = this.runs.map((_, i) => i);
    const active = order.filter((i) => this.isActive(i));
    const inactive = order.filter((i) => !this.isActive(i));
    const line = (i: number, color: string, width: number) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      let pen = false;
      this.axes.forEach((a, k) => {
        const f = frac(a, a.dim.values[i]);
        if (f === null) {
          pen = false;
          return;
        }
        const y = this.yOf(f);
        if (pen) ctx.lineTo(xs[k], y);
        else ctx.moveTo(xs[k], y);
        pen = true;
      });
      ctx.stroke();
    };
    ctx.globalAlpha = 1;
    for (const i of inactive) line(i, faint, 1);
    ctx.globalAlpha = active.length > 200 ? 0.5 : 0.85;
    for (const i of active) {
      const f = colorAxis ? frac(colorAxis, colorAxis.dim.values[i]) : null;
      line(i, f === null ? muted : heat(f), 1.5);
    }
    ctx.globalAlpha = 1;
    if (this.focused >= 0 && this.focused < this.runs.length) line(this.focused, fg, 3.5); // the keyboard's run, on top
    this.canvas.dataset.focused = this.focused >= 0 ? (this.runs[this.focused]?.label ?? "") : "";
    ctx.font = "11px system-ui, sans-serif";
    this.axes.forEach((a, k) => {
      const x = xs[k];
      ctx.strokeStyle = muted;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, M.top);
      ctx.lineTo(x, this.height - M.bottom);
      ctx.stroke();
      const brush = this.brushes.get(k);
      if (brush) {
        ctx.fillStyle = "rgba(79, 70, 229, 0.18)";
        ctx.strokeStyle = "rgba(79, 70, 229, 0.9)";
        const y1 = this.yOf(brush[1]);
        const y0 = this.yOf(brush[0]);
        ctx.fillRect(x - 8, y1, 16, y0 - y1);
        ctx.strokeRect(x - 8, y1, 16, y0 - y1);
      }
      ctx.fillStyle = fg;
      ctx.textAlign = "center";
      ctx.font = "600 11px system-ui, sans-serif";
      const label = a.dim.label.length > 22 ? `${a.dim.label.slice(0, 21)}…` : a.dim.label;
      ctx.fillText(label, x, M.top - 18);
      ctx.font = "10px system-ui, sans-serif";
      ctx.fillStyle = muted;
      ctx.textAlign = k === this.axes.length - 1 && this.axes.length > 1 ? "right" : "left";
      const dx = ctx.textAlign === "right" ? -5 : 5;
      if (a.numeric) {
        const ticks = a.log ? [a.min, Math.sqrt(a.min * a.max), a.max] : [a.min, (a.min + a.max) / 2, a.max];
        for (const t of ticks) ctx.fillText(fmtNum(Number(t.toPrecision(4))), x + dx, this.yOf(frac(a, t) ?? 0) + 3);
      } else {
        const step = Math.ceil(a.cats.length / 12);
        a.cats.forEach((c, ci) => {
          if (ci % step) return;
          ctx.fillText(c.length > 14 ? `${c.slice(0, 13)}…` : c, x + dx, this.yOf(frac(a, c) ?? 0) + 3);
        });
      }
    });
    this.info.textContent = this.brushes.size
      ? `${active.length} of ${this.runs.length} runs in the brushed ranges (click an axis to clear its brush)`
      : `${this.runs.length} runs; colour: ${colorAxis?.dim.label ?? ""}. Drag along an axis to filter.`;
    this.canvas.dataset.active = String(active.length);
  }

  destroy(): void {
    this.observer.disconnect();
    window.removeEventListener("mousemove", this.onMove);
    window.removeEventListener("mouseup", this.onUp);
  }
}
