// One experiment: the runs table (columns, sort, filter with the search grammar, selection) and a
// charts workspace overlaying the selected runs.

import * as api from "../api";
import { downloadBlob, h, icon, replace } from "../dom";
import { fmtAgo, fmtDuration, fmtInt, fmtNum, fmtTime, runDuration } from "../format";
import { href, navigate, replaceQuery, type PageContext } from "../router";
import { canExperiment } from "../session";
import { ChartGrid, ChartSettingsStore, colorFor, type ChartRun } from "../components/chart";
import { NONE, VirtualTable, type Column } from "../components/vtable";
import { attempt, button, confirmDialog, errorBox, errorMessage, formDialog, loading, pageHeader, popover, showError, tagChip } from "../components/widgets";
import { renderMarkdown } from "../markdown";
import { MAX_STEPS_TAG, Poller, progressBar, progressOf } from "../live";
import { attachAutocomplete } from "../components/autocomplete";
import { groupRuns, type RunGroup } from "../components/groups";
import { modelsTab } from "../components/loggedModels";
import { WorkspaceView } from "../components/workspace";
import { fieldLabel, fieldValue, ScatterPanel } from "../components/scatter";

type ColumnId = string; // "metric:<key>" | "param:<key>" | "tag:<key>"

const MAX_CHART_RUNS = 20;
/** How often a visible experiment page looks for runs started since it loaded. */
const NEW_RUNS_INTERVAL_MS = 2000;
/** Runs a grouped chart aggregates (each chart reads their series, 100 runs per request). */
const MAX_GROUP_RUNS = 500;
const PAGE_SIZE = 1000;
/** The first page: a screenful and more, so the first rows paint before the larger pages arrive. */
const FIRST_PAGE_SIZE = 100;
/** Runs loaded in the background; past this the table pages on scroll and sorts on the server. */
const BACKGROUND_LIMIT = 10_000;

function quoteKey(key: string): string {
  return `\`${key.replace(/`/g, "\\`")}\``;
}

/** The search `order_by` of a column, or null when the server cannot sort by it. */
export function serverOrderBy(sort: { id: string; dir: 1 | -1 } | null): string[] | null {
  if (!sort) return ["attributes.start_time DESC"];
  const dir = sort.dir > 0 ? "ASC" : "DESC";
  const [kind, ...rest] = sort.id.split(":");
  const key = rest.join(":");
  const attr: Record<string, string> = { name: "attributes.run_name", start: "attributes.start_time", user: "attributes.user_id" };
  if (attr[sort.id]) return [`${attr[sort.id]} ${dir}`];
  if (sort.id === "source") return [`tags.${quoteKey("mlflow.source.name")} ${dir}`];
  if (kind === "metric" || kind === "param" || kind === "tag") return [`${kind}s.${quoteKey(key)} ${dir}`];
  return null;
}

function columnsKey(expId: string): string {
  return `hf_mltrack.columns.${expId}`;
}

function loadColumns(expId: string): ColumnId[] | null {
  try {
    const v = JSON.parse(localStorage.getItem(columnsKey(expId)) ?? "null");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : null;
  } catch {
    return null;
  }
}

function saveColumns(expId: string, cols: ColumnId[]): void {
  try {
    localStorage.setItem(columnsKey(expId), JSON.stringify(cols));
  } catch {
    /* private mode */
  }
}

export function runLink(run: api.Run): HTMLElement {
  return h("a", { href: href(`/runs/${encodeURIComponent(run.id)}`), class: "run-link", title: run.name }, run.name);
}

/** The parts of a name cell, kept per cell node (see the name column's `patch`). */
const nameParts = new WeakMap<HTMLElement, { star: HTMLElement; dot: HTMLElement; child: HTMLElement; link: HTMLAnchorElement }>();

function baseColumns(best: { id: string; label: string } | null = null): Column<api.Run>[] {
  return [
    {
      id: "name",
      title: "Run",
      width: 240,
      kind: "attr",
      sortValue: (r) => r.name.toLowerCase(),
      // built once per row node, then updated in place as the node shows other runs (scrolling)
      patch: (cell, r) => {
        let p = nameParts.get(cell);
        if (!p) {
          p = {
            star: h("span", { class: "best-mark", "data-testid": "best-run" }, "★"),
            dot: h("span", { class: "status-dot" }),
            child: h("span", { class: "child-mark", title: "child run" }, "↳ "),
            link: h("a", { class: "run-link" }),
          };
          cell.append(p.dot, p.link);
          nameParts.set(cell, p);
        }
        if (best?.id === r.id) {
          p.star.title = best.label;
          p.star.setAttribute("aria-label", best.label);
          if (!p.star.isConnected) cell.prepend(p.star);
        } else p.star.remove();
        const dot = `status-dot status-${r.status.toLowerCase()}`;
        if (p.dot.className !== dot) p.dot.className = dot;
        p.dot.title = r.status;
        if (api.tagOf(r, api.PARENT_TAGS)) {
          if (!p.child.isConnected) p.link.before(p.child);
        } else p.child.remove();
        p.link.setAttribute("href", href(`/runs/${encodeURIComponent(r.id)}`));
        p.link.title = r.name;
        if (p.link.textContent !== r.name) p.link.textContent = r.name;
      },
    },
    { id: "start", title: "Created", width: 120, kind: "attr", sortValue: (r) => r.start, text: (r) => fmtAgo(r.start), hover: (r) => fmtTime(r.start) },
    {
      id: "duration",
      title: "Duration",
      width: 96,
      kind: "attr",
      align: "right",
      sortValue: (r) => runDuration(r.start, r.end, r.status),
      text: (r) => fmtDuration(runDuration(r.start, r.end, r.status)),
    },
    { id: "user", title: "User", width: 110, kind: "attr", sortValue: (r) => r.user, text: (r) => r.user ?? "" },
    {
      id: "source",
      title: "Source",
      width: 140,
      kind: "attr",
      sortValue: (r) => r.tags.get("hf_mltrack.source.name") ?? r.tags.get("mlflow.source.name"),
      text: (r) => (r.tags.get("hf_mltrack.source.name") ?? r.tags.get("mlflow.source.name") ?? "").split(/[\\/]/).pop() ?? "",
    },
  ];
}

/** Trainer progress (step / max_steps, epoch, ETA), shown when a loaded run has it. */
function progressColumn(): Column<api.Run> {
  return {
    id: "progress",
    title: "Progress",
    width: 150,
    kind: "attr",
    sortValue: (r) => {
      const p = progressOf(r);
      return p ? p.step / p.maxSteps : undefined;
    },
    render: (r) => progressBar(r, true) ?? "",
  };
}

function dynamicColumn(id: ColumnId): Column<api.Run> {
  const [kind, ...rest] = id.split(":");
  const key = rest.join(":");
  if (kind === "metric") {
    return {
      id,
      title: key,
      width: 120,
      kind: "metric",
      align: "right",
      tooltip: `metrics.${key} (latest value)`,
      sortValue: (r) => r.metrics.get(key)?.value,
      textClass: "num",
      text: (r) => {
        const m = r.metrics.get(key);
        return m ? fmtNum(m.value) : "";
      },
      hover: (r) => {
        const m = r.metrics.get(key);
        return m ? `${m.value} (step ${m.step})` : undefined;
      },
    };
  }
  const get = kind === "param" ? (r: api.Run) => r.params.get(key) : (r: api.Run) => r.tags.get(key);
  return {
    id,
    title: key,
    width: 130,
    kind: kind === "param" ? "param" : "tag",
    tooltip: `${kind}s.${key}`,
    sortValue: (r) => {
      const v = get(r);
      if (v === undefined) return undefined;
      const n = Number(v);
      return v.trim() !== "" && Number.isFinite(n) ? n : v.toLowerCase();
    },
    // the full value on hover; the cell ends with an ellipsis when it is cut (never a silent clip)
    text: (r) => get(r) ?? "",
    hover: (r) => get(r),
  };
}

function discoverKeys(runs: api.Run[]): { metrics: string[]; params: string[]; tags: string[] } {
  const metrics = new Set<string>();
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const r of runs) {
    for (const k of r.metrics.keys()) metrics.add(k);
    for (const k of r.params.keys()) params.add(k);
    for (const k of r.tags.keys()) if (!api.isSystemTag(k)) tags.add(k);
  }
  const sort = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { metrics: sort(metrics), params: sort(params), tags: sort(tags) };
}

/** A sweep's charts: the first `MAX_GROUP_RUNS` of `runs` grouped by `field` (a param or tag), one
 * chart per metric any of them logged. */
function sweepCharts(runs: api.Run[], field: string): { members: api.Run[]; groups: RunGroup[]; chartRuns: ChartRun[]; metricKeys: string[] } {
  const members = runs.slice(0, MAX_GROUP_RUNS);
  const groups = groupRuns(members, (r) => {
    const v = fieldValue(r, field);
    return v === undefined ? undefined : String(v);
  }, colorFor);
  const chartRuns: ChartRun[] = members.map((r) => ({ id: r.id, label: r.name, color: colorFor(0), start: r.start, metrics: r.metrics }));
  const metricKeys = [...new Set(members.flatMap((r) => [...r.metrics.keys()]))].sort();
  return { members, groups, chartRuns, metricKeys };
}

export async function experimentPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const expId = ctx.params.id;
  root.append(loading());
  // The first page of runs is asked together with the experiment (not after it).
  const firstQuery = (o: api.SearchRunsOpts) => JSON.stringify([o.filter ?? "", o.viewType, o.orderBy, o.maxResults, o.pageToken]);
  const firstOpts: api.SearchRunsOpts = {
    experimentIds: [expId],
    filter: (ctx.query.get("filter") ?? "").trim(),
    viewType: ctx.query.get("view") ?? "ACTIVE_ONLY",
    orderBy: serverOrderBy(null) ?? undefined,
    maxResults: FIRST_PAGE_SIZE,
  };
  let prefetched: { key: string; page: ReturnType<typeof api.searchRuns> } | null = {
    key: firstQuery(firstOpts),
    page: api.searchRuns(firstOpts, ctx.signal),
  };
  prefetched.page.catch(() => undefined); // its error (a bad filter) is shown when load() reads it
  const expAsked = api.getExperiment(expId);
  const settings = new ChartSettingsStore();
  const groupField = ctx.query.get("group");
  // A sweep's charts: their reads leave as soon as the runs are here, before the page is built (which
  // then waits for the runs: it has nothing to draw without them). A guess: the charts take the
  // responses only if they ask the same; none when more runs than a page are still to come.
  const sweepAhead =
    ctx.query.get("tab") === "charts" && groupField
      ? prefetched.page.then((page) => {
          if (page.next) return;
          const sweep = sweepCharts(page.runs, groupField);
          ChartGrid.readAhead(sweep.metricKeys, sweep.chartRuns, settings, sweep.groups, ctx.signal);
        }, () => undefined)
      : null;
  let exp: api.Experiment;
  try {
    exp = await expAsked;
    await sweepAhead;
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  root.replaceChildren();

  let runs: api.Run[] = [];
  let chosen: ColumnId[] | null = loadColumns(expId);
  let keys = { metrics: [] as string[], params: [] as string[], tags: [] as string[] };
  let loadController: AbortController | null = null;
  let tab = ["charts", "models", "workspace"].includes(ctx.query.get("tab") ?? "") ? ctx.query.get("tab")! : "table";
  let wsState: { ws?: string; wspec?: string } = { ws: ctx.query.get("ws") ?? undefined, wspec: ctx.query.get("wspec") ?? undefined };
  let workspace: WorkspaceView | null = null;
  let grid: ChartGrid | null = null;

  const filter = h("input", {
    type: "search",
    "data-shortcut": "filter",
    class: "input mono",
    placeholder: "metrics.loss < 0.5 and params.lr = '0.001' and tags.team = 'nlp'",
    value: ctx.query.get("filter") ?? "",
    "aria-label": "Filter runs",
    "data-testid": "run-filter",
    spellcheck: "false",
  });
  const filterError = h("div", { class: "filter-error", role: "alert", hidden: true, "data-testid": "filter-error" });
  const lifecycle = h(
    "select",
    { class: "input", "aria-label": "Lifecycle", "data-testid": "run-view" },
    h("option", { value: "ACTIVE_ONLY" }, "Active runs"),
    h("option", { value: "DELETED_ONLY" }, "Deleted runs"),
    h("option", { value: "ALL" }, "All runs"),
  );
  lifecycle.value = ctx.query.get("view") ?? "ACTIVE_ONLY";
  const count = h("span", { class: "count-label", "data-testid": "run-count" }, "");
  const selCount = h("span", { class: "sel-count" });
  const compareBtn = button("Compare", () => {
    const ids = [...table.selected];
    navigate("/compare", { runs: ids.join(","), experiment: expId });
  }, { kind: "primary", icon: "compare", testid: "compare-selected" });
  const deleteBtn = button("Delete", async () => {
    const ids = [...table.selected];
    if (!(await confirmDialog(`Delete ${ids.length} run(s)?`, "Deleted runs can be restored until garbage collection."))) return;
    if (await attempt(() => Promise.all(ids.map((id) => api.deleteRun(id))), `Deleted ${ids.length} run(s)`)) {
      table.clearSelection();
      void load();
    }
  }, { kind: "danger-ghost", icon: "trash", testid: "delete-selected" });
  const restoreBtn = button("Restore", async () => {
    const ids = [...table.selected];
    if (await attempt(() => Promise.all(ids.map((id) => api.restoreRun(id))), `Restored ${ids.length} run(s)`)) {
      table.clearSelection();
      void load();
    }
  }, { kind: "ghost", testid: "restore-selected" });
  const canManage = canExperiment(expId, "MANAGE");

  const updateSelection = () => {
    const n = table.selected.size;
    selCount.textContent = n ? `${n} selected` : "";
    compareBtn.disabled = n < 2;
    deleteBtn.hidden = !canManage || n === 0 || lifecycle.value === "DELETED_ONLY";
    restoreBtn.hidden = !canManage || n === 0 || lifecycle.value === "ACTIVE_ONLY";
    if (tab === "charts") renderCharts();
  };

  // Paging: the first pages load in the background; a larger experiment pages on scroll and sorts
  // on the server, so a sort is never silently limited to the runs already loaded.
  let nextToken: string | undefined;
  let fetchingMore = false;
  const table = new VirtualTable<api.Run>({
    selectable: true,
    testid: "runs-table",
    emptyText: "No runs match.",
    onSelection: updateSelection,
    rowClass: (r) => (r.lifecycle === "deleted" ? "deleted" : ""),
    onSort: () => {
      if (nextToken) void load(); // a partial list: ask the server for this order
    },
    onNearEnd: () => {
      if (nextToken && !fetchingMore && runs.length >= BACKGROUND_LIMIT) void loadMore();
    },
  });

  // ---- sweeps: group by a param or tag, the best run by a metric, a scatter panel, CSV export ----
  const groupSel = h("select", { class: "input input-sm", "aria-label": "Group runs by", "data-testid": "group-by" }, h("option", { value: "" }, "No grouping"));
  const bestSel = h("select", { class: "input input-sm", "aria-label": "Best run by metric", "data-testid": "best-by" }, h("option", { value: "" }, "No best run"));
  const bestDir = h(
    "select",
    { class: "input input-sm", "aria-label": "Best is the", "data-testid": "best-dir" },
    h("option", { value: "min" }, "lowest"),
    h("option", { value: "max" }, "highest"),
  );
  const scatterX = h("select", { class: "input input-sm", "aria-label": "Scatter x", "data-testid": "scatter-x" });
  const scatterY = h("select", { class: "input input-sm", "aria-label": "Scatter y", "data-testid": "scatter-y" });
  const scatterC = h("select", { class: "input input-sm", "aria-label": "Scatter colour", "data-testid": "scatter-color" });
  const fillSelect = (sel: HTMLSelectElement, options: [string, string][], keep: string, first?: [string, string]) => {
    const want = sel.value || keep;
    sel.replaceChildren(...(first ? [h("option", { value: first[0] }, first[1])] : []), ...options.map(([v, label]) => h("option", { value: v }, label)));
    if ([...sel.options].some((o) => o.value === want)) sel.value = want;
  };
  const refreshSweepOptions = () => {
    const groupable: [string, string][] = [...keys.params.map((k) => [`param:${k}`, `param ${k}`] as [string, string]), ...keys.tags.map((k) => [`tag:${k}`, `tag ${k}`] as [string, string])];
    const metricOpts: [string, string][] = keys.metrics.map((k) => [`metric:${k}`, k]);
    const numeric: [string, string][] = [...keys.params.map((k) => [`param:${k}`, `param ${k}`] as [string, string]), ...keys.metrics.map((k) => [`metric:${k}`, `metric ${k}`] as [string, string])];
    fillSelect(groupSel, groupable, ctx.query.get("group") ?? "", ["", "No grouping"]);
    fillSelect(bestSel, keys.metrics.map((k) => [k, k]), (ctx.query.get("best") ?? "").replace(/:(min|max)$/, ""), ["", "No best run"]);
    fillSelect(scatterX, numeric, ctx.query.get("sx") ?? numeric[0]?.[0] ?? "");
    fillSelect(scatterY, metricOpts, ctx.query.get("sy") ?? metricOpts[0]?.[0] ?? "");
    fillSelect(scatterC, numeric, ctx.query.get("sc") ?? "", ["", "One colour"]);
  };
  const initialBest = ctx.query.get("best") ?? "";
  if (initialBest.endsWith(":max")) bestDir.value = "max";
  /** The best run of the table's runs (filtered) by the chosen metric. */
  const bestRun = (): api.Run | null => {
    const key = bestSel.value;
    if (!key) return null;
    let best: api.Run | null = null;
    let bestV = bestDir.value === "min" ? Infinity : -Infinity;
    for (const r of runs) {
      const v = r.metrics.get(key)?.value;
      if (v === undefined || !Number.isFinite(v)) continue;
      if (bestDir.value === "min" ? v < bestV : v > bestV) {
        bestV = v;
        best = r;
      }
    }
    return best;
  };
  bestSel.addEventListener("change", () => {
    if (bestSel.value && !bestSel.dataset.touched) bestDir.value = /loss|error|perplexity|wer|cer/i.test(bestSel.value) ? "min" : "max";
    applyColumns();
    syncQuery();
    if (tab === "charts") renderCharts();
  });
  bestDir.addEventListener("change", () => {
    bestSel.dataset.touched = "1";
    applyColumns();
    syncQuery();
    if (tab === "charts") renderCharts();
  });
  groupSel.addEventListener("change", () => {
    applyColumns();
    syncQuery();
    if (tab === "charts") renderCharts();
  });
  for (const sel of [scatterX, scatterY, scatterC]) {
    sel.addEventListener("change", () => {
      syncQuery();
      scatter?.update(table.visibleRows, scatterX.value, scatterY.value, scatterC.value, bestRun()?.id ?? null);
    });
  }
  let scatter: ScatterPanel | null = null;

  const csvCell = (v: unknown): string => {
    const t = v === undefined || v === null ? "" : String(v);
    return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const exportCsv = () => {
    // The table as shown: its filter, its sort, its columns (raw values, not the formatted ones).
    const cols = currentColumns();
    const header = ["run_id", "run_name", "status", "start_time", "end_time", "user", ...cols.map((c) => c.replace(/^(metric|param|tag):/, (_, k: string) => `${k}s.`))];
    const lines = [header.map(csvCell).join(",")];
    for (const r of table.visibleRows) {
      const row: unknown[] = [r.id, r.name, r.status, r.start ? new Date(r.start).toISOString() : "", r.end ? new Date(r.end).toISOString() : "", r.user];
      for (const c of cols) {
        const [kind, ...rest] = c.split(":");
        const key = rest.join(":");
        row.push(kind === "metric" ? r.metrics.get(key)?.value : kind === "param" ? r.params.get(key) : r.tags.get(key));
      }
      lines.push(row.map(csvCell).join(","));
    }
    downloadBlob(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" }), `${exp.name.replace(/[^\w.-]+/g, "_")}-runs.csv`);
  };
  const csvBtn = button("Export CSV", exportCsv, { kind: "ghost", icon: "download", testid: "export-csv", title: "Download the table as filtered and sorted (CSV)" });

  const columnsBtn = button("Columns", () => {
    const box = h("div", { class: "col-picker", "data-testid": "column-picker" });
    const q = h("input", { type: "search", class: "input input-sm", placeholder: "Find a column…", "aria-label": "Find a column" });
    const lists = h("div", { class: "col-lists" });
    const current = new Set(currentColumns());
    const renderLists = () => {
      const needle = q.value.toLowerCase();
      replace(
        lists,
        (["metric", "param", "tag"] as const).map((kind) => {
          const all = kind === "metric" ? keys.metrics : kind === "param" ? keys.params : keys.tags;
          const shown = all.filter((k) => k.toLowerCase().includes(needle)).slice(0, 300);
          return h(
            "div",
            { class: "col-group" },
            h("h4", null, `${kind === "metric" ? "Metrics" : kind === "param" ? "Params" : "Tags"} (${all.length})`),
            shown.length
              ? shown.map((k) => {
                  const id = `${kind}:${k}`;
                  const cb = h("input", {
                    type: "checkbox",
                    checked: current.has(id),
                    onchange: () => {
                      if (cb.checked) current.add(id);
                      else current.delete(id);
                      chosen = [...current];
                      saveColumns(expId, chosen);
                      applyColumns();
                    },
                  });
                  return h("label", { class: "col-item", title: k }, cb, h("span", null, k));
                })
              : h("p", { class: "muted" }, "none"),
          );
        }),
      );
    };
    q.addEventListener("input", renderLists);
    renderLists();
    box.append(q, lists);
    popover(columnsBtn, box);
    q.focus();
  }, { kind: "ghost", icon: "columns", testid: "columns-button" });

  // Until the user picks columns: the first metrics and params of the loaded runs.
  const currentColumns = (): ColumnId[] =>
    chosen ?? [...keys.metrics.slice(0, 5).map((k) => `metric:${k}`), ...keys.params.slice(0, 5).map((k) => `param:${k}`)];
  const applyColumns = () => {
    const best = bestRun();
    const base = baseColumns(best ? { id: best.id, label: `Best by ${bestSel.value} (${bestDir.value})` } : null);
    if (runs.some((r) => r.tags.has(MAX_STEPS_TAG))) base.splice(1, 0, progressColumn());
    if (groupSel.value) {
      const field = groupSel.value;
      base.splice(1, 0, {
        id: "group",
        title: `Group: ${fieldLabel(field)}`,
        width: 140,
        kind: "attr",
        sortValue: (r) => {
          const v = fieldValue(r, field);
          return v === undefined ? undefined : v;
        },
        render: (r) => h("span", { class: "cell-text chip", title: String(fieldValue(r, field) ?? "(none)") }, String(fieldValue(r, field) ?? "(none)")),
      });
    }
    table.setColumns([...base, ...currentColumns().map(dynamicColumn)]);
    // the table's rows under one collapsible row per group (groups keep the table's sort inside)
    const field = groupSel.value;
    if (field !== groupedBy) {
      groupedBy = field;
      table.setGrouping(field ? { of: (r) => String(fieldValue(r, field) ?? NONE), title: fieldLabel(field) } : null);
    }
  };
  let groupedBy = "";

  // Live runs: every second while some loaded run is RUNNING (and the tab is visible), re-read those
  // runs (status, latest metrics, progress) and append their new points to the charts.
  let poller: Poller | null = null;
  const watchLive = () => {
    if (poller?.active || !runs.some((r) => r.status === "RUNNING")) return;
    poller = new Poller(async () => {
      const live = runs.filter((r) => r.status === "RUNNING").slice(0, 100);
      if (!live.length) return false;
      const quoted = live.map((r) => `'${r.id}'`).join(", ");
      const { runs: fresh } = await api.searchRuns({ experimentIds: [expId], filter: `attributes.run_id IN (${quoted})`, viewType: "ALL", maxResults: live.length });
      const byId = new Map(fresh.map((r) => [r.id, r]));
      runs = runs.map((r) => byId.get(r.id) ?? r);
      table.setRows(runs);
      if (grid) {
        grid.addKeys([...new Set(fresh.flatMap((r) => [...r.metrics.keys()]))].sort()); // a first eval, say
        await grid.refreshTail(new Set(live.map((r) => r.id)));
      }
      return runs.some((r) => r.status === "RUNNING");
    });
  };

  // New runs: while the page is visible, one search every NEW_RUNS_INTERVAL_MS for runs of this
  // filter started since the newest run held (an indexed range on start_time; usually empty). New
  // ones join the table and the charts, and a running one starts the live poller above. Polling,
  // not server-sent events: the store has no change feed to push from (a stream would poll the
  // database on the server instead), and a plain search passes proxies, basic auth and the
  // existing search policy as it is; a hidden tab does not poll (Poller).
  let discovery: Poller | null = null;
  let busy = false; // load() is reading the list
  const watchNew = () => {
    if (discovery?.active) return;
    discovery = new Poller(async () => {
      const where = filter.value.trim();
      if (busy || !filterError.hidden || lifecycle.value === "DELETED_ONLY") return true;
      const since = runs.reduce((m, r) => Math.max(m, r.start ?? 0), 0);
      const { runs: found } = await api.searchRuns({
        experimentIds: [expId],
        filter: [where, `attributes.start_time >= ${since}`].filter(Boolean).join(" and "),
        viewType: lifecycle.value,
        maxResults: 100,
      });
      if (busy || where !== filter.value.trim()) return true; // the list changed meanwhile
      const have = new Set(runs.map((r) => r.id));
      const fresh = found.filter((r) => !have.has(r.id));
      if (!fresh.length) return true;
      runs = [...fresh, ...runs];
      keys = discoverKeys(runs);
      refreshSweepOptions();
      applyColumns();
      table.setRows(runs);
      showCount();
      if (tab === "charts") renderCharts();
      watchLive();
      return true;
    }, NEW_RUNS_INTERVAL_MS);
  };

  const chartHost = h("div", { class: "exp-charts" });
  const tableHost = h("div", { class: "table-host" }, table.el);
  const renderCharts = () => {
    grid?.destroy();
    scatter?.destroy();
    scatter = null;
    const best = bestRun();
    const picked = table.selected.size ? table.visibleRows.filter((r) => table.selected.has(r.id)) : table.visibleRows;
    scatter = new ScatterPanel(picked, scatterX.value, scatterY.value, scatterC.value, best?.id ?? null, (r) => navigate(`/runs/${encodeURIComponent(r.id)}`));
    const scatterCard = h(
      "section",
      { class: "card scatter-card" },
      h("div", { class: "sweep-bar" }, h("b", null, "Scatter"), h("label", null, "x ", scatterX), h("label", null, "y ", scatterY), h("label", null, "colour ", scatterC)),
      scatter.el,
    );
    let hint: string;
    let legendItems: HTMLElement[];
    if (groupSel.value) {
      // A sweep: every run of the table (up to MAX_GROUP_RUNS), one line and band per group.
      const { members, groups, chartRuns, metricKeys } = sweepCharts(picked, groupSel.value);
      grid = new ChartGrid(metricKeys, chartRuns, settings, { syncKey: `exp-${expId}`, emptyText: "The runs shown have no metrics.", groups });
      hint = `${groups.length} groups of ${members.length} runs by ${fieldLabel(groupSel.value)}${picked.length > MAX_GROUP_RUNS ? ` (the first ${MAX_GROUP_RUNS} of ${picked.length})` : ""}.`;
      legendItems = groups.map((g) => h("span", { class: "legend-item", "data-testid": "group-legend" }, h("span", { class: "swatch", style: { background: g.color } }), `${g.label} (${g.runIds.length})`));
    } else {
      const shown = picked.slice(0, MAX_CHART_RUNS);
      if (best && !shown.some((r) => r.id === best.id)) shown.push(best); // the best run is always drawn
      const chartRuns: ChartRun[] = shown.map((r, i) => ({ id: r.id, label: r.id === best?.id ? `★ ${r.name}` : r.name, color: colorFor(i), start: r.start, metrics: r.metrics }));
      const metricKeys = [...new Set(shown.flatMap((r) => [...r.metrics.keys()]))].sort();
      grid = new ChartGrid(metricKeys, chartRuns, settings, { syncKey: `exp-${expId}`, emptyText: "The runs shown have no metrics." });
      hint = `${table.selected.size ? `Charts of the ${Math.min(picked.length, MAX_CHART_RUNS)} selected runs` : `Charts of the first ${Math.min(picked.length, MAX_CHART_RUNS)} runs in table order; select runs to choose`}${picked.length > MAX_CHART_RUNS ? ` (the first ${MAX_CHART_RUNS} of ${picked.length})` : ""}.`;
      legendItems = chartRuns.map((r) => h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: r.color } }), r.label));
    }
    replace(chartHost, h("p", { class: "muted hint" }, hint), h("div", { class: "legend" }, legendItems), grid.el, keys.metrics.length ? scatterCard : null);
  };

  const tabBar = h(
    "div",
    { class: "seg" },
    h("button", { type: "button", class: "seg-btn", dataset: { tab: "table" }, "data-testid": "tab-table", onclick: () => showTab("table") }, icon("table", 14), " Table"),
    h("button", { type: "button", class: "seg-btn", dataset: { tab: "charts" }, "data-testid": "tab-charts", onclick: () => showTab("charts") }, icon("chart", 14), " Charts"),
    h("button", { type: "button", class: "seg-btn", dataset: { tab: "models" }, "data-testid": "tab-models", onclick: () => showTab("models") }, icon("model", 14), " Models"),
    h("button", { type: "button", class: "seg-btn", dataset: { tab: "workspace" }, "data-testid": "tab-workspace", onclick: () => showTab("workspace") }, icon("columns", 14), " Workspace"),
  );
  const workspaceHost = h("div", { class: "exp-workspace", hidden: true });
  const modelsHost = h("div", { class: "exp-models", hidden: true });
  const showTab = (t: string, sync = true) => {
    tab = t;
    for (const b of tabBar.children) b.classList.toggle("active", (b as HTMLElement).dataset.tab === t);
    tableHost.hidden = t !== "table";
    chartHost.hidden = t !== "charts";
    modelsHost.hidden = t !== "models";
    if (t === "models") replace(modelsHost, modelsTab(expId, new Map(runs.map((r) => [r.id, r.name]))));
    else modelsHost.replaceChildren();
    workspaceHost.hidden = t !== "workspace";
    workspace?.destroy();
    workspace = null;
    workspaceHost.replaceChildren();
    if (t === "workspace") {
      const view = new WorkspaceView(
        expId,
        () => (table.selected.size ? table.visibleRows.filter((r) => table.selected.has(r.id)) : table.visibleRows),
        () => keys,
        (state) => {
          wsState = state;
          syncQuery();
        },
        canExperiment(expId, "EDIT"),
      );
      workspace = view;
      workspaceHost.appendChild(view.el);
      void view.start(wsState.ws ?? null, wsState.wspec ?? null);
    }
    if (sync) syncQuery();
    if (t === "charts") renderCharts();
    else {
      grid?.destroy();
      grid = null;
      chartHost.replaceChildren();
    }
  };

  // The view is in the address: a link reproduces the filter, tab, grouping, best run and scatter.
  // Written when the user changes the view, not by the page's first load and tab (the address it was
  // opened with already says that view, and each change of address makes the browser fetch and decode
  // the page's icon again, on the way to the first chart).
  const syncQuery = () =>
    replaceQuery({
      filter: filter.value.trim() || undefined,
      view: lifecycle.value !== "ACTIVE_ONLY" ? lifecycle.value : undefined,
      tab: tab !== "table" ? tab : undefined,
      group: groupSel.value || undefined,
      best: bestSel.value ? `${bestSel.value}:${bestDir.value}` : undefined,
      sx: tab === "charts" ? scatterX.value || undefined : undefined,
      sy: tab === "charts" ? scatterY.value || undefined : undefined,
      sc: tab === "charts" ? scatterC.value || undefined : undefined,
      ws: tab === "workspace" ? wsState.ws : undefined,
      wspec: tab === "workspace" ? wsState.wspec : undefined,
    });

  const showCount = () => {
    const n = fmtInt(runs.length);
    count.textContent = nextToken
      ? `${n} runs loaded${fetchingMore ? " (loading…)" : runs.length >= BACKGROUND_LIMIT ? ", more on scroll" : " (loading…)"}`
      : `${n} run${runs.length === 1 ? "" : "s"}`;
  };

  const fetchPage = async (controller: AbortController) => {
    const sort = table.getSort();
    const order = serverOrderBy(sort);
    const opts: api.SearchRunsOpts = {
      experimentIds: [expId],
      filter: filter.value.trim(),
      viewType: lifecycle.value,
      orderBy: order ?? undefined,
      // a small first page, then pages that end the background load at BACKGROUND_LIMIT exactly
      maxResults: !runs.length ? FIRST_PAGE_SIZE : runs.length < BACKGROUND_LIMIT ? Math.min(PAGE_SIZE, BACKGROUND_LIMIT - runs.length) : PAGE_SIZE,
      pageToken: nextToken,
    };
    const early = prefetched?.key === firstQuery(opts) ? prefetched.page : null;
    prefetched = null;
    const page = await (early ?? api.searchRuns(opts, controller.signal));
    if (controller.signal.aborted) return false;
    runs = runs.concat(page.runs);
    nextToken = page.next;
    keys = discoverKeys(runs);
    refreshSweepOptions();
    applyColumns();
    // the server's order while the list is partial (unless the column cannot be sorted there)
    table.setExternalSort(!!nextToken && order !== null);
    table.setRows(runs);
    showCount();
    return true;
  };

  const loadMore = async () => {
    const controller = loadController;
    if (!controller || fetchingMore || !nextToken) return;
    fetchingMore = true;
    showCount();
    try {
      await fetchPage(controller);
    } catch (err) {
      if ((err as Error).name !== "AbortError") showError(err);
    } finally {
      fetchingMore = false;
      showCount();
    }
  };

  const load = async (sync = true) => {
    busy = true;
    loadController?.abort();
    const controller = new AbortController();
    loadController = controller;
    ctx.signal.addEventListener("abort", () => controller.abort());
    filterError.hidden = true;
    count.textContent = "Loading…";
    if (sync) syncQuery();
    runs = [];
    nextToken = undefined;
    fetchingMore = false;
    table.scrollToTop(); // a new filter or server-side order starts at its first row
    try {
      if (!(await fetchPage(controller))) return;
      while (nextToken && runs.length < BACKGROUND_LIMIT && !controller.signal.aborted) {
        if (!(await fetchPage(controller))) return;
      }
      updateSelection();
      watchLive();
      watchNew();
    } catch (err) {
      if ((err as Error).name === "AbortError") return;
      filterError.textContent = errorMessage(err);
      filterError.hidden = false;
      count.textContent = "";
      runs = [];
      nextToken = undefined;
      table.setRows(runs);
    } finally {
      if (loadController === controller) busy = false;
    }
  };

  filter.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.defaultPrevented) void load(); // (an autocomplete pick prevents it)
  });
  lifecycle.addEventListener("change", () => {
    table.clearSelection();
    void load();
  });

  const tags = (exp.tags ?? []).filter((t) => !api.isSystemTag(t.key));
  // The experiment's description: Markdown in the note tag (MLflow's mlflow.note.content, ours first).
  const expTags = new Map((exp.tags ?? []).map((t) => [t.key, t.value] as [string, string]));
  const noteOf = () => api.NOTE_TAGS.map((k) => expTags.get(k)).find((v) => v !== undefined) ?? "";
  const descBody = h("div", { class: "description exp-description", "data-testid": "experiment-description" });
  const renderDesc = () => {
    const note = noteOf();
    replace(descBody, note ? renderMarkdown(note) : h("p", { class: "muted" }, "No description."));
  };
  renderDesc();
  const editDesc = canExperiment(expId, "EDIT")
    ? button("Edit description", async () => {
        const r = await formDialog({ title: "Experiment description (Markdown)", fields: [{ name: "text", label: "Description", value: noteOf(), multiline: true }], submit: "Save" });
        if (r === null) return;
        if (await attempt(() => api.setExperimentTag(expId, "hf_mltrack.note.content", r.text), "Description saved")) {
          expTags.set("hf_mltrack.note.content", r.text);
          renderDesc();
        }
      }, { kind: "ghost", icon: "edit", testid: "edit-experiment-description" })
    : null;
  root.append(
    pageHeader(exp.name, {
      crumbs: [h("a", { href: href("/") }, "Experiments"), h("span", null, exp.name)],
      actions: [
        h("a", { class: "btn btn-ghost", href: href("/traces", { experiment: expId }) }, icon("trace"), " Traces"),
      ],
      sub: [
        h("span", { class: "mono muted" }, `ID ${exp.experiment_id}`),
        exp.artifact_location ? h("span", { class: "mono muted", title: "Artifact location" }, exp.artifact_location) : null,
        tags.length ? h("span", { class: "chips" }, tags.map((t) => tagChip(t.key, t.value))) : null,
      ],
    }),
    h("section", { class: "exp-desc-row", "aria-label": "Description" }, descBody, editDesc),
    h(
      "div",
      { class: "toolbar" },
      h("div", { class: "search-box grow" }, icon("search"), filter),
      button("Search", () => void load(), { kind: "secondary", testid: "run-search" }),
      lifecycle,
      columnsBtn,
      tabBar,
    ),
    filterError,
    h(
      "div",
      { class: "toolbar slim" },
      count,
      selCount,
      compareBtn,
      deleteBtn,
      restoreBtn,
      h("div", { class: "spacer" }),
      h("label", { class: "sweep-ctl" }, "Group ", groupSel),
      h("label", { class: "sweep-ctl" }, "Best ", bestSel, bestDir),
      csvBtn,
    ),
    tableHost,
    chartHost,
    modelsHost,
    workspaceHost,
  );
  const detachAutocomplete = attachAutocomplete(filter, () => ({
    ...keys,
    values: (kind, key) => {
      const seen = new Set<string>();
      for (const r of runs) {
        const v = kind === "params" ? r.params.get(key) : r.tags.get(key);
        if (v !== undefined) seen.add(v);
        if (seen.size >= 200) break;
      }
      return [...seen].sort((a, b) => {
        const x = Number(a);
        const y = Number(b);
        return a.trim() && b.trim() && Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b, undefined, { numeric: true });
      });
    },
  }));
  ctx.onCleanup(() => {
    workspace?.destroy();
    detachAutocomplete();
    scatter?.destroy();
    poller?.stop();
    discovery?.stop();
    loadController?.abort();
    grid?.destroy();
  });
  const initialTab = tab;
  tab = "table"; // (no charts drawn before the runs are here)
  applyColumns();
  updateSelection();
  for (const b of tabBar.children) b.classList.toggle("active", (b as HTMLElement).dataset.tab === "table");
  chartHost.hidden = true;
  tableHost.hidden = initialTab !== "table"; // (no table layout and paint on the way to another tab)
  await load(false);
  if (initialTab !== "table") showTab(initialTab, false);
}
