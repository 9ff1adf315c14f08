// Metric charts on canvas (uPlot). Each chart asks the server for a min/max-preserving downsampled
// series with about one point per pixel (get-history-bulk-interval); zooming on the step axis asks
// again for just the visible range, so detail appears as you zoom (1M-point series stay instant).
// A grouped chart (a sweep) asks the server for each group's line and band instead of every run's series.
// Charts are built when they scroll into view, so a page with hundreds of metrics stays responsive.

import type uPlot from "uplot";

import { bulkHistory, groupAggregate, MAX_POINTS_PER_SERIES, readAhead, type GroupLine, type Series } from "../api";
import { append, h, icon } from "../dom";
import { fmtNum, fmtSeconds, fmtTime } from "../format";
import { showError } from "./widgets";
import type { Aggregate, Band, RunGroup } from "./groups";

export type XAxis = "step" | "time" | "relative";

export interface ChartSettings {
  x: XAxis;
  smoothing: number;
  logY: boolean;
  /** Grouped charts: the line across a group's runs, and its band. */
  agg: Aggregate;
  band: Band;
}

export interface ChartRun {
  id: string;
  label: string;
  color: string;
  /** Run start (ms): the origin of the relative-time axis. */
  start?: number;
  /** The run's latest metrics (their last step tells how long a series is before asking for it). */
  metrics?: Map<string, { step: number }>;
}

export const PALETTE = [
  "#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#9333ea", "#65a30d", "#db2777",
  "#2563eb", "#ea580c", "#0d9488", "#7c3aed", "#ca8a04", "#dc2626", "#16a34a", "#475569",
];

export function colorFor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** Shared chart settings with change listeners, persisted in localStorage. */
export class ChartSettingsStore {
  value: ChartSettings;
  private listeners = new Set<(s: ChartSettings, changed: (keyof ChartSettings)[]) => void>();

  constructor(private storageKey = "hf_mltrack.chartSettings") {
    let saved: Partial<ChartSettings> = {};
    try {
      saved = JSON.parse(localStorage.getItem(storageKey) ?? "{}");
    } catch {
      saved = {};
    }
    this.value = {
      x: saved.x === "time" || saved.x === "relative" ? saved.x : "step",
      smoothing: typeof saved.smoothing === "number" ? Math.min(0.99, Math.max(0, saved.smoothing)) : 0,
      logY: saved.logY === true,
      agg: saved.agg === "median" ? "median" : "mean",
      band: saved.band === "std" || saved.band === "none" ? saved.band : "minmax",
    };
  }

  set(partial: Partial<ChartSettings>): void {
    const changed = (Object.keys(partial) as (keyof ChartSettings)[]).filter((k) => partial[k] !== this.value[k]);
    if (!changed.length) return;
    this.value = { ...this.value, ...partial };
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(this.value));
    } catch {
      /* private mode */
    }
    for (const fn of this.listeners) fn(this.value, changed);
  }

  subscribe(fn: (s: ChartSettings, changed: (keyof ChartSettings)[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** Exponential moving average with TensorBoard's debiasing (the first points are not pulled to 0). */
export function ema(values: (number | null | undefined)[], alpha: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length);
  let last = 0;
  let weight = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * alpha + (1 - alpha) * v;
    weight = weight * alpha + (1 - alpha);
    out[i] = last / weight;
  }
  return out;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function fmtTick(v: number | null): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return ""; // log axes skip some splits
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(1);
  if (a >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

let measureCtx: CanvasRenderingContext2D | null = null;

/** Width in CSS pixels of the y-axis: its widest tick label plus tick and gap, so no label is cut. */
export function axisSize(values: string[] | null | undefined, font: string): number {
  if (!values?.length) return 40;
  measureCtx ??= document.createElement("canvas").getContext("2d");
  if (!measureCtx) return 60;
  measureCtx.font = font;
  let widest = 0;
  for (const v of values) if (v) widest = Math.max(widest, measureCtx.measureText(v).width);
  return Math.ceil(widest) + 18; // tick (10) + gap (5) + a margin
}

/**
 * Points to ask per series: every point of a series up to a few thousand steps (so smoothing runs
 * on the exact points), and one min/max pair per pixel column (device pixels) for longer ones.
 */
export function pointsPerSeries(widthPx: number, runs: number, lastStep?: number, dpr = window.devicePixelRatio || 1): number {
  const pixels = 2 * Math.ceil(widthPx * dpr) + 2; // a min and a max per pixel column, the first and last point
  const exact = Math.min(5000, Math.floor(40_000 / Math.max(1, runs)));
  // A series whose last step is past what could come back whole will be downsampled anyway: ask
  // for what the pixels need, not for `exact` points.
  if (lastStep !== undefined && lastStep + 1 > exact) return Math.min(MAX_POINTS_PER_SERIES, pixels);
  return Math.min(MAX_POINTS_PER_SERIES, Math.max(pixels, exact));
}

let UPlot: typeof uPlot | null = null;
let uplotLoading: Promise<typeof uPlot> | null = null;

/** uPlot, loaded (its own chunk) when the first chart reads its data: evaluating it makes Intl
 * formatters, tens of ms in a fresh page, which would otherwise hold back the page's first requests. */
function loadUPlot(): Promise<typeof uPlot> {
  uplotLoading ??= import("uplot").then((m) => (UPlot = m.default));
  return uplotLoading;
}

/** The width to size a chart's read by, without a layout: its last observed width (`known`), else the
 * viewport's (a chart is never wider), so the first request leaves before the page's first layout. */
function requestWidth(known = 0): number {
  return Math.max(200, known || window.innerWidth || 400);
}

/** The longest series' last step, when every run says it (and no zoom narrows the range). */
function lastStep(runs: ChartRun[], metricKey: string, range: [number, number] | null): number | undefined {
  if (range) return undefined;
  let last = -1;
  for (const r of runs) {
    const step = r.metrics?.get(metricKey)?.step;
    if (step === undefined) return undefined;
    last = Math.max(last, step);
  }
  return last < 0 ? undefined : last;
}

/**
 * A chart's full read: the line and band of each group (a grouped chart), else each run's series with
 * the `points` per series it was asked for. `range` narrows the steps (a zoom on the step axis).
 */
function readChart(
  metricKey: string,
  runs: ChartRun[],
  groups: RunGroup[] | undefined,
  settings: ChartSettings,
  width: number,
  range: [number, number] | null,
  signal: AbortSignal,
): Promise<{ lines: Map<string, GroupLine> } | { raw: Map<string, Series>; points: number }> {
  void loadUPlot(); // while the data is on its way
  const ids = runs.map((r) => r.id);
  const points = pointsPerSeries(width, ids.length, lastStep(runs, metricKey, range));
  if (groups?.length) {
    // at most two bins per pixel column (the viewport's until the chart's width is known)
    const opts = { aggregate: settings.agg, band: settings.band, maxBins: Math.max(200, width * 2), maxResults: points, range };
    return ids.length ? groupAggregate(groups, metricKey, opts, signal).then((lines) => ({ lines })) : Promise.resolve({ lines: new Map() });
  }
  // timestamps only for a time axis (a switch of axis fetches again)
  const raw = ids.length ? bulkHistory(ids, metricKey, points, range, signal, settings.x !== "step") : Promise.resolve(new Map<string, Series>());
  return raw.then((r) => ({ raw: r, points }));
}

// Charts load through a small queue: the server sees a few requests at a time, visible ones first.
const queue: (() => Promise<void>)[] = [];
let active = 0;
const MAX_ACTIVE = 4;

function enqueue(job: () => Promise<void>): void {
  queue.push(job);
  pump();
}

function pump(): void {
  while (active < MAX_ACTIVE && queue.length) {
    const job = queue.shift()!;
    active++;
    void job().finally(() => {
      active--;
      pump();
    });
  }
}

export class MetricChart {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private tooltip: HTMLElement;
  private status: HTMLElement;
  private plot: uPlot | null = null;
  private raw = new Map<string, Series>();
  /** A grouped chart's lines, by group label (the server aggregates; `raw` stays empty). */
  private groupLines = new Map<string, GroupLine>();
  private zoom: [number, number] | null = null;
  private loaded = false;
  private destroyed = false;
  private controller: AbortController | null = null;
  private resizeObserver: ResizeObserver;
  private unsubscribe: () => void;
  private seriesRuns: ChartRun[] = [];
  /** Series (uPlot indices) the tooltip skips: raw lines under smoothing, group bands. */
  private hideInTip = new Set<number>();
  private hovering = false;
  private bars: HTMLElement | null = null;

  constructor(
    readonly metricKey: string,
    private runs: ChartRun[],
    private settings: ChartSettingsStore,
    private opts: { height?: number; syncKey?: string; title?: string; groups?: RunGroup[] } = {},
  ) {
    this.status = h("span", { class: "chart-status" });
    this.tooltip = h("div", { class: "chart-tooltip", hidden: true });
    this.body = h("div", { class: "chart-body", style: { height: `${opts.height ?? 220}px` } }, this.tooltip);
    const title = opts.title ?? metricKey;
    this.el = h(
      "div",
      { class: "chart-card", dataset: { metric: metricKey, points: "0" } },
      h(
        "div",
        { class: "chart-head" },
        h("span", { class: "chart-title", title }, title),
        this.status,
        h(
          "button",
          { type: "button", class: "icon-btn", title: "Reset zoom (or double-click the chart)", onclick: () => this.resetZoom() },
          icon("reset", 14),
        ),
        h(
          "button",
          {
            type: "button",
            class: "icon-btn",
            title: "Widen",
            onclick: () => {
              this.el.classList.toggle("wide");
              requestAnimationFrame(() => this.resize());
            },
          },
          icon("expand", 14),
        ),
      ),
      this.body,
    );
    this.body.addEventListener("mouseenter", () => (this.hovering = true));
    this.body.addEventListener("mouseleave", () => {
      this.hovering = false;
      this.tooltip.hidden = true;
    });
    this.resizeObserver = new ResizeObserver((entries) => {
      this.knownWidth = entries[entries.length - 1]?.contentRect.width || this.knownWidth;
      this.resize();
    });
    this.unsubscribe = settings.subscribe((_, changed) => {
      if (!this.loaded) return;
      if (changed.includes("x")) {
        this.zoom = null;
        void this.fetch(); // the step range of a zoomed fetch means nothing on a time axis
      } else if (this.grouped && (changed.includes("agg") || changed.includes("band"))) void this.fetch();
      else this.build();
    });
  }

  /** Start loading (called when the chart scrolls into view). */
  load(): void {
    if (this.loaded || this.destroyed) return;
    this.loaded = true;
    this.resizeObserver.observe(this.body);
    this.status.textContent = "loading…";
    enqueue(() => this.fetch());
  }

  setRuns(runs: ChartRun[]): void {
    this.runs = runs;
    if (this.loaded) void this.fetch();
  }

  /** Fetch again (a live run), keeping the zoom. */
  refresh(): void {
    if (this.loaded && !this.destroyed) enqueue(() => this.fetch());
  }

  /**
   * A live run: fetch only the points after the last step each series holds and append them.
   * `runIds` limits the request to the runs still running (finished series do not change). A grouped
   * chart asks for its lines again (a group's line at a step depends on every run's point there).
   * Never while a full read is under way: it brings the new points, and asking again would abort it.
   */
  refreshTail(runIds?: Set<string>): Promise<void> {
    if (!this.loaded || this.destroyed || this.tailBusy) return Promise.resolve();
    return new Promise((resolve) => enqueue(() => this.fetchTail(runIds).finally(resolve)));
  }

  private get grouped(): boolean {
    return !!this.opts.groups?.length;
  }

  /** Whether the x axis is the step (group lines are aggregated step by step, whatever the setting). */
  private get stepAxis(): boolean {
    return this.grouped || this.settings.value.x === "step";
  }

  private tailBusy = false;
  /** Full reads started and completed (a tail merges only onto the series of the last completed one). */
  private fetchesStarted = 0;
  private fetchesDone = 0;
  /** `max_results` of the last full read (points per series the chart draws across its width). */
  private budget = 0;
  /** Runs whose held series is a min/max summary of a longer one (not every point). */
  private summaries = new Set<string>();

  private async fetchTail(runIds?: Set<string>): Promise<void> {
    const ids = this.runs.map((r) => r.id).filter((id) => !runIds || runIds.has(id));
    const generation = this.fetchesStarted;
    // Nothing to follow before the first full read, nor while one is under way (it brings the new points).
    if (!ids.length || this.destroyed || this.tailBusy || !generation || this.fetchesDone !== generation) return;
    this.tailBusy = true;
    try {
      if (this.grouped) return await this.fetch();
      const lastHeld = (id: string) => {
        const steps = this.raw.get(id)?.steps;
        return steps?.length ? steps[steps.length - 1] : -1;
      };
      const after = (group: string[]) => [Math.min(...group.map(lastHeld)) + 1, Number.MAX_SAFE_INTEGER] as [number, number];
      const timestamps = this.settings.value.x !== "step";
      const signal = this.controller?.signal;
      // A whole series gets every new point; a summary (one min/max pair per pixel column) gets the new
      // steps' min and max (with their first and last point), never raw points at another resolution.
      const whole = ids.filter((id) => !this.summaries.has(id));
      const coarse = ids.filter((id) => this.summaries.has(id));
      const [fine, summarized] = await Promise.all([
        whole.length ? bulkHistory(whole, this.metricKey, this.budget, after(whole), signal, timestamps) : new Map<string, Series>(),
        coarse.length ? bulkHistory(coarse, this.metricKey, 4, after(coarse), signal, timestamps) : new Map<string, Series>(),
      ]);
      if (this.destroyed || this.fetchesStarted !== generation) return; // a full read replaces the series
      let added = 0;
      let refetch = false;
      for (const [id, s] of [...fine, ...summarized]) {
        const last = lastHeld(id); // now, not when asked: no step is ever held twice
        let i = 0;
        while (i < s.steps.length && s.steps[i] <= last) i++;
        if (i >= s.steps.length) continue;
        const held = this.raw.get(id) ?? { steps: [], values: [], timestamps: [] };
        const merged = {
          steps: held.steps.concat(s.steps.slice(i)),
          values: held.values.concat(s.values.slice(i)),
          timestamps: held.timestamps.concat(s.timestamps.slice(i)),
        };
        this.raw.set(id, merged);
        added += s.steps.length - i;
        // past what the chart draws whole (or half again a summary's points): one full read at its resolution
        if (merged.steps.length > (this.summaries.has(id) ? 1.5 * this.budget : this.budget)) refetch = true;
      }
      if (refetch) void this.fetch();
      else if (added) this.build();
    } catch (err) {
      if ((err as Error).name !== "AbortError") throw err;
    } finally {
      this.tailBusy = false;
    }
  }

  private width(): number {
    return Math.max(200, this.body.clientWidth || this.el.clientWidth || 400);
  }

  /** The width to size a request by: the chart's last observed width, else the viewport's. */
  private requestWidth(): number {
    return requestWidth(this.knownWidth);
  }

  private knownWidth = 0;

  private async fetch(): Promise<void> {
    if (this.destroyed) return;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const range = this.stepAxis ? this.zoom : null;
    const generation = ++this.fetchesStarted;
    try {
      const [read] = await Promise.all([
        readChart(this.metricKey, this.runs, this.opts.groups, this.settings.value, this.requestWidth(), range, controller.signal),
        loadUPlot(),
      ]);
      if ("lines" in read) this.groupLines = read.lines;
      else {
        this.raw = read.raw;
        // a series spanning more steps than `points` came back as a min/max summary
        const points = (this.budget = read.points);
        this.summaries = new Set([...this.raw].filter(([, r]) => r.steps.length > 1 && r.steps[r.steps.length - 1] - r.steps[0] + 1 > points).map(([id]) => id));
      }
      if (controller.signal.aborted || this.destroyed) return;
      if (generation === this.fetchesStarted) this.fetchesDone = generation;
      this.build();
    } catch (err) {
      if ((err as Error).name === "AbortError") return;
      this.status.textContent = "failed";
      showError(err);
    }
  }

  /** A run's x and y columns for uPlot: x sorted and unique, y null where it cannot be drawn. */
  private columns(run: ChartRun, s: Series): [number[], (number | null)[]] {
    const { x, logY } = this.settings.value;
    const n = s.steps.length;
    const ys: (number | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      ys[i] = Number.isFinite(v) && (!logY || v > 0) ? v : null;
    }
    if (x === "step") return [s.steps, ys]; // the server's order: sorted, one point per step
    const origin = x === "time" ? 0 : (run.start ?? s.timestamps[0] ?? 0);
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => s.timestamps[a] - s.timestamps[b]); // wall-clock time may go backwards
    const xs: number[] = [];
    const out: (number | null)[] = [];
    for (const i of order) {
      const t = (s.timestamps[i] - origin) / 1000;
      if (xs.length && xs[xs.length - 1] === t) out[out.length - 1] = ys[i];
      else {
        xs.push(t);
        out.push(ys[i]);
      }
    }
    return [xs, out];
  }

  private build(): void {
    if (this.destroyed || !UPlot) return; // (the first read draws once uPlot is loaded)
    const U = UPlot;
    const s = this.settings.value;
    const smoothing = s.smoothing > 0;
    const tables: uPlot.AlignedData[] = [];
    const series: uPlot.Series[] = [{}];
    let total = 0;
    this.seriesRuns = [];
    this.hideInTip = new Set();
    const bands: uPlot.Band[] = [];
    if (this.opts.groups?.length) {
      // A sweep: one aggregate line per group with its band (step axis).
      for (const g of this.opts.groups) {
        const agg = this.groupLines.get(g.label);
        if (!agg?.xs.length) continue;
        total += agg.xs.length;
        const line = smoothing ? ema(agg.line, s.smoothing) : agg.line;
        const pos = (v: (number | null)[]) => (s.logY ? v.map((x) => (x !== null && x > 0 ? x : null)) : v);
        const n = agg.xs.length - 1;
        if (!tables.length) this.el.dataset.last = JSON.stringify([agg.xs[n], line[n], agg.lower[n], agg.upper[n]]);
        tables.push([agg.xs, pos(agg.upper), pos(agg.lower), pos(line)] as uPlot.AlignedData);
        const label = `${g.label} (${g.runIds.length} run${g.runIds.length === 1 ? "" : "s"})`;
        const base = series.length;
        series.push(
          { label: `${label} upper`, stroke: withAlpha(g.color, 0.35), width: 0.5, spanGaps: true, points: { show: false } },
          { label: `${label} lower`, stroke: withAlpha(g.color, 0.35), width: 0.5, spanGaps: true, points: { show: false } },
          { label, stroke: g.color, width: 2, spanGaps: true, points: { show: agg.xs.length < 3 } },
        );
        if (s.band !== "none") bands.push({ series: [base, base + 1], fill: withAlpha(g.color, 0.16) });
        this.hideInTip.add(base).add(base + 1);
        const pseudo = { id: g.label, label, color: g.color };
        this.seriesRuns.push(pseudo, pseudo, pseudo);
      }
      this.el.dataset.points = String(total);
      this.el.dataset.groups = String(tables.length);
      this.status.textContent = total ? "" : "no data";
      this.plot?.destroy();
      this.plot = null;
      this.bars?.remove();
      this.bars = null;
      if (!tables.length) return;
      this.draw(U, tables.length === 1 ? tables[0] : U.join(tables), series, bands);
      return;
    }
    for (const run of this.runs) {
      const held = this.raw.get(run.id);
      if (!held?.steps.length) continue;
      total += held.steps.length;
      const [xs, ys] = this.columns(run, held);
      const label = this.runs.length > 1 ? run.label : (this.opts.title ?? this.metricKey);
      if (smoothing) {
        const smooth = ema(ys, s.smoothing);
        if (!tables.length) this.el.dataset.last = JSON.stringify([xs[xs.length - 1], ys[ys.length - 1], smooth[smooth.length - 1]]);
        tables.push([xs, ys, smooth] as uPlot.AlignedData);
        series.push(
          { label: `${label} (raw)`, stroke: withAlpha(run.color, 0.22), width: 1, spanGaps: true, points: { show: false } },
          { label, stroke: run.color, width: 1.75, spanGaps: true, points: { show: xs.length < 3 } },
        );
        this.hideInTip.add(series.length - 2); // the raw line: the tooltip shows the smoothed value
        this.seriesRuns.push(run, run);
      } else {
        if (!tables.length) this.el.dataset.last = JSON.stringify([xs[xs.length - 1], ys[ys.length - 1], ys[ys.length - 1]]);
        tables.push([xs, ys] as uPlot.AlignedData);
        series.push({ label, stroke: run.color, width: 1.5, spanGaps: true, points: { show: xs.length < 3 } });
        this.seriesRuns.push(run);
      }
    }
    this.el.dataset.points = String(total);
    this.status.textContent = total ? "" : "no data";
    this.plot?.destroy();
    this.plot = null;
    this.bars?.remove();
    this.bars = null;
    if (!tables.length) return;
    if (total === this.seriesRuns.length / (smoothing ? 2 : 1)) {
      this.renderBars(); // one value per run: a bar per run reads better than a lone dot
      return;
    }
    this.draw(U, tables.length === 1 ? tables[0] : U.join(tables), series, bands);
  }

  private draw(U: typeof uPlot, data: uPlot.AlignedData, series: uPlot.Series[], bands: uPlot.Band[]): void {
    const s = { ...this.settings.value };
    if (this.opts.groups?.length) s.x = "step"; // group lines are aggregated step by step
    const grid = cssVar("--chart-grid", "#e5e7eb");
    const axisColor = cssVar("--muted", "#6b7280");
    const font = "11px system-ui, sans-serif";
    const xAxis: uPlot.Axis = { stroke: axisColor, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, font };
    if (s.x === "relative") xAxis.values = (_u, splits) => splits.map((v) => (v === null || v === undefined ? "" : fmtSeconds(v)));
    else if (s.x === "step") xAxis.values = (_u, splits) => splits.map((v) => fmtTick(v));
    const opts: uPlot.Options = {
      width: this.width(),
      height: this.opts.height ?? 220,
      legend: { show: false },
      scales: {
        x: { time: s.x === "time" },
        y: s.logY ? { distr: 3 } : {},
      },
      axes: [
        xAxis,
        {
          stroke: axisColor,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          font,
          size: (_u, values) => axisSize(values, font),
          values: (_u, splits) => splits.map(fmtTick),
        },
      ],
      series,
      bands,
      cursor: {
        drag: { x: true, y: false, setScale: false },
        sync: this.opts.syncKey ? { key: this.opts.syncKey, scales: ["x", null] } : undefined,
        bind: {
          dblclick: () => () => {
            this.resetZoom();
            return null;
          },
        },
        points: { size: 6 },
      },
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.onCursor(u)],
      },
    };
    this.plot = new U(opts, data, this.body);
    if (this.zoom && s.x !== "step") this.plot.setScale("x", { min: this.zoom[0], max: this.zoom[1] });
  }

  private renderBars(): void {
    const items = this.runs
      .map((r) => ({ run: r, value: this.raw.get(r.id)?.values[0] }))
      .filter((x): x is { run: ChartRun; value: number } => x.value !== undefined);
    const max = Math.max(...items.map((x) => (Number.isFinite(x.value) ? Math.abs(x.value) : 0)), 1e-300);
    this.bars = h(
      "div",
      { class: "bars", "data-testid": "value-bars" },
      items.map((x) =>
        h(
          "div",
          { class: "bar-row", title: `${x.run.label}: ${x.value}` },
          this.runs.length > 1 ? h("span", { class: "bar-label" }, x.run.label) : null,
          h(
            "span",
            { class: "bar-track" },
            h("span", { class: "bar", style: { width: `${Number.isFinite(x.value) ? (Math.abs(x.value) / max) * 100 : 0}%`, background: x.run.color } }),
          ),
          h("b", { class: "bar-value" }, fmtNum(x.value)),
        ),
      ),
    );
    this.body.appendChild(this.bars);
  }

  private onSelect(u: uPlot): void {
    const sel = u.select;
    if (sel.width < 3) return;
    const lo = u.posToVal(sel.left, "x");
    const hi = u.posToVal(sel.left + sel.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.zoomTo([lo, hi]);
  }

  zoomTo(range: [number, number]): void {
    this.zoom = range;
    this.plot?.setScale("x", { min: range[0], max: range[1] });
    if (this.stepAxis) {
      this.status.textContent = "refining…";
      void this.fetch(); // the server returns full detail for just this step range
    }
  }

  resetZoom(): void {
    if (!this.zoom) return;
    this.zoom = null;
    if (this.stepAxis) void this.fetch();
    else this.build();
  }

  private onCursor(u: uPlot): void {
    const idx = u.cursor.idx;
    if (!this.hovering || idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
      this.tooltip.hidden = true;
      return;
    }
    const x = u.data[0][idx];
    const rows: { label: string; color: string; value: number }[] = [];
    for (let i = 1; i < u.series.length; i++) {
      if (this.hideInTip.has(i)) continue; // the smoothed value, not the raw one; the line, not its band
      const j = u.cursor.idxs?.[i] ?? idx;
      const v = j === null || j === undefined ? null : (u.data[i][j] as number | null | undefined);
      if (v === null || v === undefined) continue;
      const run = this.seriesRuns[i - 1];
      rows.push({ label: String(u.series[i].label ?? ""), color: run?.color ?? "#888", value: v });
    }
    if (!rows.length) {
      this.tooltip.hidden = true;
      return;
    }
    rows.sort((a, b) => b.value - a.value);
    const s = this.settings.value.x;
    const xLabel = s === "step" ? `step ${fmtNum(x)}` : s === "time" ? fmtTime(x * 1000) : fmtSeconds(x);
    this.tooltip.replaceChildren();
    append(
      this.tooltip,
      h("div", { class: "tt-x" }, xLabel),
      rows.slice(0, 12).map((r) =>
        h("div", { class: "tt-row" }, h("span", { class: "swatch", style: { background: r.color } }), h("span", { class: "tt-label" }, r.label), h("b", null, fmtNum(r.value))),
      ),
      rows.length > 12 ? h("div", { class: "muted" }, `+${rows.length - 12} more`) : null,
    );
    this.tooltip.hidden = false;
    const left = u.cursor.left + u.over.offsetLeft;
    const w = this.tooltip.offsetWidth;
    this.tooltip.style.left = `${left + 14 + w > this.body.clientWidth ? left - w - 14 : left + 14}px`;
    this.tooltip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
  }

  private resize(): void {
    if (!this.plot) return;
    const w = this.width();
    if (Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: this.opts.height ?? 220 });
  }

  destroy(): void {
    this.destroyed = true;
    this.controller?.abort();
    this.resizeObserver.disconnect();
    this.unsubscribe();
    this.plot?.destroy();
    this.plot = null;
    this.bars?.remove();
  }
}

/** The toolbar that edits shared chart settings: x axis, smoothing and log scale. */
export function chartToolbar(store: ChartSettingsStore, grouped = false): HTMLElement {
  const s = store.value;
  const xSel = h(
    "select",
    { class: "input input-sm", "aria-label": "X axis", "data-testid": "x-axis", onchange: () => store.set({ x: xSel.value as XAxis }) },
    h("option", { value: "step", selected: s.x === "step" }, "Step"),
    h("option", { value: "time", selected: s.x === "time" }, "Wall time"),
    h("option", { value: "relative", selected: s.x === "relative" }, "Relative time"),
  );
  const out = h("output", { class: "mono" }, s.smoothing.toFixed(2));
  const slider = h("input", {
    type: "range",
    min: 0,
    max: 0.99,
    step: 0.01,
    value: String(s.smoothing),
    "aria-label": "Smoothing",
    "data-testid": "smoothing",
    oninput: () => {
      out.textContent = Number(slider.value).toFixed(2);
      store.set({ smoothing: Number(slider.value) });
    },
  });
  const log = h("input", { type: "checkbox", checked: s.logY, "data-testid": "log-y", onchange: () => store.set({ logY: log.checked }) });
  return h(
    "div",
    { class: "chart-toolbar" },
    h("label", null, "X axis ", xSel),
    h("label", null, "Smoothing ", slider, out),
    h("label", null, log, " Log scale"),
    grouped ? groupControls(store) : null,
  );
}

function groupControls(store: ChartSettingsStore): HTMLElement[] {
  const s = store.value;
  const agg = h(
    "select",
    { class: "input input-sm", "aria-label": "Group line", "data-testid": "group-agg", onchange: () => store.set({ agg: agg.value as Aggregate }) },
    h("option", { value: "mean", selected: s.agg === "mean" }, "Mean"),
    h("option", { value: "median", selected: s.agg === "median" }, "Median"),
  );
  const band = h(
    "select",
    { class: "input input-sm", "aria-label": "Group band", "data-testid": "group-band", onchange: () => store.set({ band: band.value as Band }) },
    h("option", { value: "minmax", selected: s.band === "minmax" }, "Min–max band"),
    h("option", { value: "std", selected: s.band === "std" }, "± 1 std band"),
    h("option", { value: "none", selected: s.band === "none" }, "No band"),
  );
  return [h("label", null, "Line ", agg), h("label", null, "Band ", band)];
}

/** Charts of a grid loaded at once (the first rows of the grid); the others load as they scroll into view. */
const EAGER_CHARTS = 4;

/** The sections of a grid of `keys` in the order its charts are built: metrics, then system metrics. */
function gridSections(keys: string[]): [string, string[]][] {
  return [
    ["Metrics", keys.filter((k) => !k.startsWith("system/"))],
    ["System metrics", keys.filter((k) => k.startsWith("system/"))],
  ];
}

/** A filterable grid of charts, one per metric key, built lazily as they scroll into view. */
export class ChartGrid {
  /**
   * Send the first reads of the charts a grid of these arguments loads at once, before the page builds
   * it (as soon as it knows its runs): the grid's charts take the responses (`api.readAhead`).
   */
  static readAhead(keys: string[], runs: ChartRun[], settings: ChartSettingsStore, groups: RunGroup[] | undefined, signal: AbortSignal): void {
    const first = gridSections(keys).flatMap(([, group]) => group).slice(0, EAGER_CHARTS);
    readAhead(signal, () => Promise.all(first.map((key) => readChart(key, runs, groups, settings.value, requestWidth(), null, signal))));
  }

  readonly el: HTMLElement;
  private charts: MetricChart[] = [];
  private observer: IntersectionObserver;

  private syncKey?: string;
  private groups?: RunGroup[];

  constructor(
    keys: string[],
    private runs: ChartRun[],
    private settings: ChartSettingsStore,
    opts: { syncKey?: string; emptyText?: string; groups?: RunGroup[] } = {},
  ) {
    this.syncKey = opts.syncKey;
    this.groups = opts.groups;
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (!e.isIntersecting) continue;
          const chart = this.charts.find((c) => c.el === e.target);
          chart?.load();
          this.observer.unobserve(e.target);
        }
      },
      { rootMargin: "300px 0px" },
    );
    const filter = h("input", { type: "search", class: "input input-sm", placeholder: "Filter metrics…", "aria-label": "Filter metrics" });
    const sections: HTMLElement[] = [];
    for (const [title, group] of gridSections(keys)) {
      if (!group.length) continue;
      const grid = h("div", { class: "chart-grid" });
      for (const key of group) {
        const chart = new MetricChart(key, runs, settings, { syncKey: opts.syncKey, groups: opts.groups });
        this.charts.push(chart);
        grid.appendChild(chart.el);
        this.observer.observe(chart.el);
      }
      sections.push(h("section", { class: "chart-section" }, h("h3", { class: "section-title" }, title, h("span", { class: "count" }, String(group.length))), grid));
    }
    // The first charts are in view: load them once the grid is in the page (the caller inserts it in
    // this task), not a frame later when the observer reports them.
    queueMicrotask(() => {
      for (const c of this.charts.slice(0, EAGER_CHARTS)) if (c.el.isConnected && !c.el.hidden) c.load();
    });
    filter.addEventListener("input", () => {
      const q = filter.value.toLowerCase();
      for (const c of this.charts) c.el.hidden = !!q && !c.metricKey.toLowerCase().includes(q);
    });
    this.el = h(
      "div",
      { class: "charts" },
      h("div", { class: "charts-bar" }, keys.length > 6 ? filter : null, chartToolbar(settings, !!opts.groups?.length)),
      keys.length ? sections : h("div", { class: "empty" }, opts.emptyText ?? "No metrics logged."),
    );
  }

  setRuns(runs: ChartRun[]): void {
    this.runs = runs;
    for (const c of this.charts) c.setRuns(runs);
  }

  refresh(): void {
    for (const c of this.charts) c.refresh();
  }

  /** New points of live runs (only those in `runIds`, when given) on every chart built so far. */
  async refreshTail(runIds?: Set<string>): Promise<void> {
    await Promise.all(this.charts.map((c) => c.refreshTail(runIds)));
  }

  get keys(): string[] {
    return this.charts.map((c) => c.metricKey);
  }

  /** Charts for metrics that appeared since the grid was built (a live run's first eval, say). */
  addKeys(keys: string[]): void {
    const have = new Set(this.keys);
    for (const key of keys) {
      if (have.has(key)) continue;
      have.add(key);
      const chart = new MetricChart(key, this.runs, this.settings, { syncKey: this.syncKey, groups: this.groups });
      this.charts.push(chart);
      let grid = this.el.querySelector<HTMLElement>(".chart-grid");
      if (!grid) {
        grid = h("div", { class: "chart-grid" });
        this.el.querySelector(".empty")?.remove();
        this.el.appendChild(h("section", { class: "chart-section" }, grid));
      }
      grid.appendChild(chart.el);
      this.observer.observe(chart.el);
    }
  }

  destroy(): void {
    this.observer.disconnect();
    for (const c of this.charts) c.destroy();
  }
}
