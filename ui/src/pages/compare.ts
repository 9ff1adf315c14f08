// Compare N runs: overlaid charts, a diff table of params and metrics, parallel coordinates.

import * as api from "../api";
import { h, icon, replace, type Child } from "../dom";
import { fmtDuration, fmtNum, fmtTime, runDuration } from "../format";
import { href, navigate, replaceQuery, type PageContext } from "../router";
import { ChartGrid, ChartSettingsStore, colorFor, type ChartRun } from "../components/chart";
import { ParallelCoordinates } from "../components/parcoords";
import { empty, errorBox, loading, pageHeader, tabs } from "../components/widgets";
import { Poller } from "../live";
import { compareGenerations } from "../components/generations";

const MAX_RUNS = 100;

interface Row {
  section: string;
  key: string;
  values: (string | number | undefined)[];
}

function differs(values: (string | number | undefined)[]): boolean {
  const seen = values.map((v) => (v === undefined ? "\u0000missing" : typeof v === "number" ? String(v) : v));
  return new Set(seen).size > 1;
}

export async function comparePage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const ids = [...new Set((ctx.query.get("runs") ?? "").split(",").filter(Boolean))].slice(0, MAX_RUNS);
  if (ids.length < 1) {
    root.append(pageHeader("Compare runs"), empty("Select two or more runs in an experiment's table, then press Compare."));
    return;
  }
  root.append(loading(`Loading ${ids.length} runs…`));
  let runs: api.Run[];
  try {
    runs = await Promise.all(ids.map((id) => api.getRun(id)));
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  root.replaceChildren();
  const expIds = [...new Set(runs.map((r) => r.experimentId))];
  const exp = expIds.length === 1 ? await api.getExperiment(expIds[0]).catch(() => null) : null;
  const colors = new Map(runs.map((r, i) => [r.id, colorFor(i)]));
  const grids: ChartGrid[] = [];
  let pc: ParallelCoordinates | null = null;
  // Live runs among those compared: their charts follow new points until they end.
  let live = new Set(runs.filter((r) => r.status === "RUNNING").map((r) => r.id));
  const poller = live.size
    ? new Poller(async () => {
        for (const g of grids) await g.refreshTail(live);
        const fresh = await Promise.all([...live].map((id) => api.getRun(id)));
        live = new Set(fresh.filter((r) => r.status === "RUNNING").map((r) => r.id));
        if (!live.size) for (const g of grids) await g.refreshTail(new Set(fresh.map((r) => r.id))); // their last points
        return live.size > 0;
      })
    : null;
  ctx.onCleanup(() => {
    poller?.stop();
    grids.forEach((g) => g.destroy());
    pc?.destroy();
  });

  const remove = (id: string) => {
    const rest = ids.filter((x) => x !== id);
    navigate("/compare", { runs: rest.join(","), experiment: ctx.query.get("experiment") ?? undefined });
  };
  const legend = h(
    "div",
    { class: "legend run-legend", "data-testid": "compare-legend" },
    runs.map((r) =>
      h(
        "span",
        { class: "legend-item" },
        h("span", { class: "swatch", style: { background: colors.get(r.id)! } }),
        h("a", { href: href(`/runs/${encodeURIComponent(r.id)}`) }, r.name),
        runs.length > 1 ? h("button", { type: "button", class: "icon-btn", title: `Remove ${r.name}`, onclick: () => remove(r.id) }, icon("x", 12)) : null,
      ),
    ),
  );
  root.append(
    pageHeader(`Compare ${runs.length} runs`, {
      crumbs: [
        h("a", { href: href("/") }, "Experiments"),
        exp ? h("a", { href: href(`/experiments/${encodeURIComponent(exp.experiment_id)}`) }, exp.name) : h("span", null, `${expIds.length} experiments`),
        h("span", null, "Compare"),
      ],
    }),
    legend,
  );

  // ---- charts ----
  const metricKeys = [...new Set(runs.flatMap((r) => [...r.metrics.keys()]))].sort();
  const chartRuns: ChartRun[] = runs.map((r) => ({ id: r.id, label: r.name, color: colors.get(r.id)!, start: r.start, metrics: r.metrics }));
  const settings = new ChartSettingsStore();
  const chartsTab = () => {
    const grid = new ChartGrid(metricKeys, chartRuns, settings, { syncKey: "compare" });
    grids.push(grid);
    return grid.el;
  };

  // ---- diff table ----
  const rows: Row[] = [
    { section: "Attributes", key: "Status", values: runs.map((r) => r.status) },
    { section: "Attributes", key: "Started", values: runs.map((r) => fmtTime(r.start)) },
    { section: "Attributes", key: "Duration", values: runs.map((r) => fmtDuration(runDuration(r.start, r.end, r.status))) },
    { section: "Attributes", key: "User", values: runs.map((r) => r.user || undefined) },
  ];
  const paramKeys = [...new Set(runs.flatMap((r) => [...r.params.keys()]))].sort();
  for (const k of paramKeys) rows.push({ section: "Parameters", key: k, values: runs.map((r) => r.params.get(k)) });
  for (const k of metricKeys) rows.push({ section: "Metrics", key: k, values: runs.map((r) => r.metrics.get(k)?.value) });
  const tagKeys = [...new Set(runs.flatMap((r) => [...r.tags.keys()].filter((k) => !api.isSystemTag(k))))].sort();
  for (const k of tagKeys) rows.push({ section: "Tags", key: k, values: runs.map((r) => r.tags.get(k)) });

  const diffTab = () => {
    const onlyDiff = h("input", { type: "checkbox", checked: runs.length > 1, "data-testid": "only-diff" });
    const body = h("tbody");
    const render = () => {
      const shown = rows.filter((r) => !onlyDiff.checked || r.section === "Attributes" || differs(r.values));
      const out: Child[] = [];
      let section = "";
      for (const r of shown) {
        if (r.section !== section) {
          section = r.section;
          out.push(h("tr", { class: "section-row" }, h("th", { colspan: runs.length + 1 }, section)));
        }
        const nums = r.values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
        const min = nums.length > 1 ? Math.min(...nums) : undefined;
        const max = nums.length > 1 ? Math.max(...nums) : undefined;
        out.push(
          h(
            "tr",
            { class: differs(r.values) ? "differs" : "" },
            h("th", { class: "k", title: r.key }, r.key),
            r.values.map((v) =>
              h(
                "td",
                { class: [typeof v === "number" ? "num" : "", v === min && min !== max ? "is-min" : "", v === max && min !== max ? "is-max" : ""] },
                v === undefined ? h("span", { class: "muted" }, "—") : typeof v === "number" ? fmtNum(v) : v,
              ),
            ),
          ),
        );
      }
      replace(body, out.length ? out : h("tr", null, h("td", { colspan: runs.length + 1, class: "muted" }, "No differences.")));
    };
    onlyDiff.addEventListener("change", render);
    render();
    return h(
      "div",
      null,
      h("label", { class: "check" }, onlyDiff, " Only rows that differ"),
      h(
        "div",
        { class: "diff-wrap" },
        h(
          "table",
          { class: "table diff-table", "data-testid": "diff-table" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              h("th"),
              runs.map((r) => h("th", null, h("span", { class: "swatch", style: { background: colors.get(r.id)! } }), h("a", { href: href(`/runs/${encodeURIComponent(r.id)}`) }, r.name))),
            ),
          ),
          body,
        ),
      ),
    );
  };

  // ---- parallel coordinates ----
  const pcTab = () => {
    const host = h("div", { class: "pc-host" });
    const varying = paramKeys.filter((k) => differs(runs.map((r) => r.params.get(k)))).slice(0, 12);
    if (!metricKeys.length && !varying.length) return empty("Parallel coordinates need params that vary or metrics.");
    const metricSel = h("select", { class: "input input-sm", "aria-label": "Colour by metric", "data-testid": "pc-metric" }, metricKeys.map((k) => h("option", { value: k }, k)));
    const preferred = metricKeys.find((k) => /loss|acc|f1|score|bleu|rouge|perplex/i.test(k) && !k.startsWith("system/"));
    if (preferred) metricSel.value = preferred;
    const draw = () => {
      pc?.destroy();
      const dims = varying.map((k) => ({ key: k, label: k, values: runs.map((r) => r.params.get(k)) }));
      if (metricSel.value) dims.push({ key: metricSel.value, label: metricSel.value, values: runs.map((r) => r.metrics.get(metricSel.value)?.value) as never });
      pc = new ParallelCoordinates(runs.map((r) => ({ id: r.id, label: r.name })), dims, 340, (id) => navigate(`/runs/${encodeURIComponent(id)}`));
      replace(host, pc.el);
      requestAnimationFrame(() => pc?.draw());
    };
    metricSel.addEventListener("change", draw);
    requestAnimationFrame(draw);
    return h(
      "div",
      null,
      h("div", { class: "toolbar slim" }, metricKeys.length ? h("label", null, "Metric ", metricSel) : null, h("span", { class: "muted" }, `${varying.length} varying parameter(s)`)),
      host,
    );
  };

  root.append(
    tabs(
      [
        { id: "charts", label: `Charts (${metricKeys.length})`, render: chartsTab },
        { id: "diff", label: "Diff", render: diffTab },
        { id: "parallel", label: "Parallel coordinates", render: pcTab },
        { id: "generations", label: "Generations", render: () => compareGenerations(runs, (id) => colors.get(id) ?? colorFor(0)) },
      ],
      ctx.query.get("tab") ?? "charts",
      (id) => replaceQuery({ runs: ids.join(","), experiment: ctx.query.get("experiment") ?? undefined, tab: id !== "charts" ? id : undefined }),
    ),
  );
}
