// Workspaces: panels (line, scatter, parallel coordinates, bar of the latest value, Markdown note) with
// their settings on a grid, saved per experiment on the server (/api/2.0/hf-mltrack/workspaces) and
// kept in the URL (`ws=<name>`, or the unsaved layout as `wspec=<JSON>`), so a link reproduces the view.

import * as api from "../api";
import { h, icon, replace } from "../dom";
import { fmtNum } from "../format";
import { renderMarkdown } from "../markdown";
import { ChartSettingsStore, colorFor, MetricChart, type ChartRun } from "./chart";
import { groupRuns } from "./groups";
import { ParallelCoordinates } from "./parcoords";
import { fieldValue, ScatterPanel } from "./scatter";
import { attempt, button, confirmDialog, empty, errorBox, formDialog } from "./widgets";

const KINDS: [api.PanelSpec["kind"], string][] = [
  ["line", "Line chart"],
  ["scatter", "Scatter"],
  ["parcoords", "Parallel coordinates"],
  ["bar", "Bar of the latest value"],
  ["markdown", "Markdown note"],
];

interface Live {
  destroy(): void;
}

function defaultPanel(kind: api.PanelSpec["kind"], metrics: string[], params: string[]): api.PanelSpec {
  const m = metrics[0] ?? "loss";
  switch (kind) {
    case "line":
      return { kind, title: m, metrics: [m], x: "step", smoothing: 0 };
    case "scatter":
      return { kind, title: `${m} by ${params[0] ?? "param"}`, x: params[0] ? `param:${params[0]}` : `metric:${m}`, y: `metric:${m}`, color: null };
    case "parcoords":
      return { kind, title: "Params and metrics", metrics: [...params.slice(0, 4).map((p) => `param:${p}`), `metric:${m}`] };
    case "bar":
      return { kind, title: `Latest ${m}`, metrics: [m] };
    default:
      return { kind: "markdown", title: "Notes", text: "## Notes\n\nWhat this sweep shows.", width: 2 };
  }
}

function splitList(v: string): string[] {
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

async function editPanel(p: api.PanelSpec): Promise<api.PanelSpec | null> {
  const fields = [{ name: "title", label: "Title", value: p.title ?? "" }];
  if (p.kind === "line") {
    fields.push(
      { name: "metrics", label: "Metrics (comma-separated)", value: (p.metrics ?? []).join(", ") },
      { name: "x", label: "X axis (step, time, relative)", value: p.x ?? "step" },
      { name: "smoothing", label: "Smoothing (0 to 0.99)", value: String(p.smoothing ?? 0) },
      { name: "group_by", label: "Group by (param:<key> or tag:<key>, empty for none)", value: p.group_by ?? "" },
    );
  } else if (p.kind === "scatter") {
    fields.push(
      { name: "x", label: "X (param:<key> or metric:<key>)", value: p.x ?? "" },
      { name: "y", label: "Y (metric:<key>)", value: p.y ?? "" },
      { name: "color", label: "Colour (param:<key> or metric:<key>, empty for one colour)", value: p.color ?? "" },
    );
  } else if (p.kind === "parcoords") {
    fields.push({ name: "metrics", label: "Axes (param:<key> or metric:<key>, comma-separated)", value: (p.metrics ?? []).join(", ") });
  } else if (p.kind === "bar") {
    fields.push({ name: "metrics", label: "Metric", value: (p.metrics ?? [])[0] ?? "" });
  } else {
    fields.push({ name: "text", label: "Markdown", value: p.text ?? "", multiline: true } as (typeof fields)[number]);
  }
  const r = await formDialog({ title: `Edit panel (${KINDS.find(([k]) => k === p.kind)?.[1]})`, fields, submit: "Apply" });
  if (!r) return null;
  const out: api.PanelSpec = { ...p, title: r.title };
  if (r.metrics !== undefined) out.metrics = splitList(r.metrics);
  if (r.x !== undefined) out.x = r.x.trim() || "step";
  if (r.y !== undefined) out.y = r.y.trim() || null;
  if (r.color !== undefined) out.color = r.color.trim() || null;
  if (r.smoothing !== undefined) out.smoothing = Math.min(0.99, Math.max(0, Number(r.smoothing) || 0));
  if (r.group_by !== undefined) out.group_by = r.group_by.trim() || null;
  if (r.text !== undefined) out.text = r.text;
  return out;
}

function renderPanel(p: api.PanelSpec, runs: api.Run[], index: number): [HTMLElement, Live | null] {
  const chartRuns: ChartRun[] = runs.slice(0, 20).map((r, i) => ({ id: r.id, label: r.name, color: colorFor(i), start: r.start, metrics: r.metrics }));
  switch (p.kind) {
    case "line": {
      const settings = new ChartSettingsStore(`hf_mltrack.workspacePanel.${index}`);
      settings.set({ x: (["step", "time", "relative"].includes(p.x ?? "") ? p.x : "step") as "step", smoothing: p.smoothing ?? 0, logY: !!p.log_y, agg: p.aggregate ?? "mean", band: p.band ?? "minmax" });
      const groups = p.group_by ? groupRuns(runs.slice(0, 500), (r) => {
        const v = fieldValue(r, p.group_by!);
        return v === undefined ? undefined : String(v);
      }, colorFor) : undefined;
      const members: ChartRun[] = groups ? runs.slice(0, 500).map((r) => ({ id: r.id, label: r.name, color: colorFor(0), start: r.start, metrics: r.metrics })) : chartRuns;
      const charts = (p.metrics ?? []).map((m) => new MetricChart(m, members, settings, { height: 200, groups }));
      charts.forEach((c) => c.load());
      return [h("div", { class: "ws-charts" }, charts.map((c) => c.el)), { destroy: () => charts.forEach((c) => c.destroy()) }];
    }
    case "scatter": {
      const s = new ScatterPanel(runs, p.x ?? "", p.y ?? "", p.color ?? "", null, (r) => (window.location.hash = `#/runs/${encodeURIComponent(r.id)}`));
      return [s.el, s];
    }
    case "parcoords": {
      const dims = (p.metrics ?? []).map((f) => ({ key: f, label: f.replace(/^(param|metric|tag):/, ""), values: runs.map((r) => fieldValue(r, f)) }));
      const pc = new ParallelCoordinates(runs.map((r) => ({ id: r.id, label: r.name })), dims, 280, (id) => (window.location.hash = `#/runs/${encodeURIComponent(id)}`));
      return [pc.el, pc];
    }
    case "bar": {
      const key = (p.metrics ?? [])[0] ?? "";
      const items = runs.slice(0, 30).map((r) => ({ r, v: r.metrics.get(key)?.value })).filter((x): x is { r: api.Run; v: number } => x.v !== undefined && Number.isFinite(x.v));
      const max = Math.max(1e-300, ...items.map((x) => Math.abs(x.v)));
      return [
        items.length
          ? h("div", { class: "bars", "data-testid": "ws-bars" }, items.map((x, i) => h("div", { class: "bar-row", title: `${x.r.name}: ${x.v}` }, h("span", { class: "bar-label" }, x.r.name), h("span", { class: "bar-track" }, h("span", { class: "bar", style: { width: `${(Math.abs(x.v) / max) * 100}%`, background: colorFor(i) } })), h("b", { class: "bar-value" }, fmtNum(x.v)))))
          : empty(`No run has ${key}.`),
        null,
      ];
    }
    default:
      return [h("div", { class: "description" }, renderMarkdown(p.text ?? "")), null];
  }
}

/** base64url of the JSON of a layout (for the URL), and back. */
export function encodeSpec(spec: api.WorkspaceSpec): string {
  const bytes = new TextEncoder().encode(JSON.stringify(spec));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeSpec(text: string): api.WorkspaceSpec | null {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const spec = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))) as api.WorkspaceSpec;
    return Array.isArray(spec.panels) ? spec : null;
  } catch {
    return null;
  }
}

export class WorkspaceView {
  readonly el: HTMLElement;
  private grid: HTMLElement;
  private live: Live[] = [];
  private spec: api.WorkspaceSpec = { panels: [] };
  private name = "";
  private picker: HTMLSelectElement;
  private status: HTMLElement;

  constructor(
    private expId: string,
    private runs: () => api.Run[],
    private keys: () => { metrics: string[]; params: string[] },
    private onState: (state: { ws?: string; wspec?: string }) => void,
    canEdit: boolean,
  ) {
    this.grid = h("div", { class: "ws-grid", "data-testid": "ws-grid" });
    this.status = h("span", { class: "muted", "data-testid": "ws-status" });
    this.picker = h("select", { class: "input input-sm", "aria-label": "Saved workspace", "data-testid": "ws-picker" });
    this.picker.addEventListener("change", () => void this.open(this.picker.value));
    const kind = h("select", { class: "input input-sm", "aria-label": "Panel kind", "data-testid": "ws-kind" }, KINDS.map(([k, label]) => h("option", { value: k }, label)));
    const add = button("Add panel", () => {
      const k = this.keys();
      this.spec.panels.push(defaultPanel(kind.value as api.PanelSpec["kind"], k.metrics, k.params));
      this.changed();
    }, { kind: "secondary", icon: "plus", testid: "ws-add" });
    const save = button("Save", () => void this.save(), { kind: "primary", testid: "ws-save" });
    const del = button("Delete", () => void this.remove(), { kind: "danger-ghost", icon: "trash", testid: "ws-delete" });
    save.hidden = del.hidden = !canEdit;
    this.el = h(
      "div",
      { class: "workspace", "data-testid": "workspace" },
      h("div", { class: "sweep-bar" }, h("label", null, "Workspace ", this.picker), h("label", null, "New panel ", kind), add, save, del, this.status),
      this.grid,
    );
  }

  async start(ws: string | null, wspec: string | null): Promise<void> {
    await this.refreshList(ws ?? "");
    const fromUrl = wspec ? decodeSpec(wspec) : null;
    if (fromUrl) {
      this.name = ws ?? "";
      this.spec = fromUrl;
      this.render();
    } else if (ws) await this.open(ws);
    else this.render();
  }

  private async refreshList(selected: string): Promise<void> {
    let list: api.Workspace[] = [];
    try {
      list = await api.listWorkspaces(this.expId);
    } catch (err) {
      replace(this.grid, errorBox(err));
    }
    this.picker.replaceChildren(h("option", { value: "" }, "(unsaved)"), ...list.map((w) => h("option", { value: w.name }, w.name)));
    this.picker.value = list.some((w) => w.name === selected) ? selected : "";
  }

  private async open(name: string): Promise<void> {
    if (!name) {
      this.name = "";
      this.spec = { panels: [] };
      this.changed();
      return;
    }
    try {
      const ws = await api.getWorkspace(this.expId, name);
      this.name = ws.name;
      this.spec = ws.spec;
      this.picker.value = name;
      this.status.textContent = "";
      this.onState({ ws: name });
      this.render();
    } catch (err) {
      replace(this.grid, errorBox(err));
    }
  }

  private async save(): Promise<void> {
    const r = await formDialog({ title: "Save workspace", fields: [{ name: "name", label: "Name", value: this.name, required: true }], submit: "Save" });
    if (!r || !r.name.trim()) return;
    const name = r.name.trim();
    if (await attempt(() => api.saveWorkspace(this.expId, name, this.spec), `Workspace ${name} saved`)) {
      this.name = name;
      await this.refreshList(name);
      this.status.textContent = "saved";
      this.onState({ ws: name });
    }
  }

  private async remove(): Promise<void> {
    if (!this.name || !(await confirmDialog(`Delete workspace ${this.name}?`, "Its layout is removed for everyone."))) return;
    if (await attempt(() => api.deleteWorkspace(this.expId, this.name), "Workspace deleted")) {
      this.name = "";
      await this.refreshList("");
      this.changed();
    }
  }

  /** The layout changed: redraw and put it in the URL (unsaved until Save). */
  private changed(): void {
    this.status.textContent = this.name ? "modified" : "";
    this.onState({ ws: this.name || undefined, wspec: encodeSpec(this.spec) });
    this.render();
  }

  render(): void {
    this.destroyPanels();
    const runs = this.runs();
    if (!this.spec.panels.length) {
      replace(this.grid, empty("No panels yet.", h("p", { class: "muted" }, "Pick a kind and press Add panel; Save keeps the layout for this experiment.")));
      return;
    }
    replace(
      this.grid,
      this.spec.panels.map((p, i) => {
        const [body, live] = renderPanel(p, runs, i);
        if (live) this.live.push(live);
        const edit = h("button", { type: "button", class: "icon-btn", title: `Edit ${p.title || p.kind}`, onclick: async () => {
          const next = await editPanel(p);
          if (next) {
            this.spec.panels[i] = next;
            this.changed();
          }
        } }, icon("edit", 14));
        const remove = h("button", { type: "button", class: "icon-btn", title: `Remove ${p.title || p.kind}`, onclick: () => {
          this.spec.panels.splice(i, 1);
          this.changed();
        } }, icon("x", 14));
        const name = p.title || KINDS.find(([k]) => k === p.kind)?.[1] || p.kind;
        const n = this.spec.panels.length;
        // keyboard reordering: move buttons (the focus follows the panel); the mouse drags the title row
        const move = (dir: -1 | 1) =>
          h("button", {
            type: "button",
            class: "icon-btn",
            title: `Move ${name} ${dir < 0 ? "up" : "down"}`,
            "aria-label": `Move ${name} ${dir < 0 ? "up" : "down"}`,
            disabled: dir < 0 ? i === 0 : i === n - 1,
            dataset: { move: dir < 0 ? "up" : "down" },
            onclick: () => this.move(i, i + dir, dir < 0 ? "up" : "down"),
          }, icon(dir < 0 ? "up" : "down", 14));
        const head = h(
          "div",
          { class: "card-title-row ws-drag", draggable: "true", title: "Drag to move the panel" },
          h("span", { class: "ws-grip", "aria-hidden": "true" }, icon("grip", 14)),
          h("b", null, name),
          h("span", { class: "spacer" }),
          move(-1),
          move(1),
          edit,
          remove,
        );
        const panel = h(
          "section",
          { class: ["card", "ws-panel", p.width === 2 ? "wide" : ""], dataset: { kind: p.kind, index: i }, "data-testid": "ws-panel", "aria-label": `Panel ${i + 1} of ${n}: ${name}` },
          head,
          body,
        );
        head.addEventListener("dragstart", (e) => {
          e.dataTransfer?.setData("application/x-hf-mltrack-panel", String(i));
          if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
          panel.classList.add("dragging");
        });
        head.addEventListener("dragend", () => panel.classList.remove("dragging"));
        panel.addEventListener("dragover", (e) => {
          if (!e.dataTransfer?.types.includes("application/x-hf-mltrack-panel")) return;
          e.preventDefault(); // a drop target
          e.dataTransfer.dropEffect = "move";
          panel.classList.add("drop-target");
        });
        panel.addEventListener("dragleave", () => panel.classList.remove("drop-target"));
        panel.addEventListener("drop", (e) => {
          e.preventDefault();
          panel.classList.remove("drop-target");
          const from = Number(e.dataTransfer?.getData("application/x-hf-mltrack-panel"));
          if (Number.isInteger(from) && from !== i) this.move(from, i);
        });
        return panel;
      }),
    );
  }

  /** Move panel `from` to position `to` (a keyboard move keeps the focus on the moved panel's button). */
  private move(from: number, to: number, focus?: "up" | "down"): void {
    const panels = this.spec.panels;
    if (to < 0 || to >= panels.length || from === to) return;
    const [p] = panels.splice(from, 1);
    panels.splice(to, 0, p);
    this.changed();
    if (focus) {
      const panel = this.grid.querySelector<HTMLElement>(`[data-testid=ws-panel][data-index="${to}"]`);
      const btn = panel?.querySelector<HTMLButtonElement>(`button[data-move="${focus}"]`);
      (btn && !btn.disabled ? btn : panel?.querySelector<HTMLButtonElement>("button[data-move]:not([disabled])"))?.focus();
    }
  }

  private destroyPanels(): void {
    for (const l of this.live) l.destroy();
    this.live = [];
  }

  destroy(): void {
    this.destroyPanels();
  }
}
