// One run: overview (status, duration, params, latest metrics, tags, Markdown description, parent and
// children), metric charts, system metrics and the artifact browser.

import * as api from "../api";
import { h, icon, replace, type Child } from "../dom";
import { fmtDuration, fmtNum, fmtTime, runDuration } from "../format";
import { renderMarkdown } from "../markdown";
import { href, navigate, replaceQuery, type PageContext } from "../router";
import { canExperiment } from "../session";
import { artifactBrowser } from "../components/artifacts";
import { ChartGrid, ChartSettingsStore, colorFor } from "../components/chart";
import {
  attempt,
  button,
  card,
  confirmDialog,
  copyButton,
  errorBox,
  formDialog,
  kvTable,
  loading,
  pageHeader,
  statusBadge,
  tabs,
} from "../components/widgets";
import { runLink } from "./experiment";
import { Poller, progressBar } from "../live";
import { imageSeries, runGenerations } from "../components/generations";
import { runDatasetsAndModels } from "../components/loggedModels";

function quote(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

async function childRuns(run: api.Run): Promise<api.Run[]> {
  for (const tag of api.PARENT_TAGS) {
    const { runs } = await api.searchRuns({ experimentIds: [run.experimentId], filter: `tags.\`${tag}\` = ${quote(run.id)}`, maxResults: 200 });
    if (runs.length) return runs;
  }
  return [];
}

function fact(label: string, ...value: Child[]): HTMLElement {
  return h("div", { class: "fact" }, h("div", { class: "fact-label" }, label), h("div", { class: "fact-value" }, ...value));
}

export async function runPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const runId = ctx.params.id;
  root.append(loading());
  let run: api.Run;
  try {
    run = await api.getRun(runId);
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  const metricRows = [...run.metrics.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const chartRuns = [{ id: run.id, label: run.name, color: colorFor(0), start: run.start, metrics: run.metrics }];
  const settings = new ChartSettingsStore();
  const metricKeys = metricRows.map(([k]) => k).filter((k) => !k.startsWith("system/"));
  const systemKeys = metricRows.map(([k]) => k).filter((k) => k.startsWith("system/"));
  const firstTab = ctx.query.get("tab") ?? "overview";
  // the charts' first reads leave now, not after the page is built (its charts take them)
  if (firstTab === "charts" || firstTab === "system") ChartGrid.readAhead(firstTab === "charts" ? metricKeys : systemKeys, chartRuns, settings, undefined, ctx.signal);
  root.replaceChildren();
  const canEdit = canExperiment(run.experimentId, "EDIT");
  const canManage = canExperiment(run.experimentId, "MANAGE");
  const grids: ChartGrid[] = [];
  const gridKinds = new Map<ChartGrid, boolean>(); // grid -> holds system metrics
  ctx.onCleanup(() => grids.forEach((g) => g.destroy()));

  // ---- header ----
  const actions: HTMLElement[] = [];
  if (canEdit) {
    actions.push(
      button("Rename", async () => {
        const r = await formDialog({ title: "Rename run", fields: [{ name: "name", label: "Run name", value: run.name, required: true }], submit: "Rename" });
        if (r && r.name.trim() && (await attempt(() => api.renameRun(run.id, r.name.trim()), "Renamed"))) navigate(`/runs/${encodeURIComponent(run.id)}`, { t: String(Date.now()) });
      }, { kind: "ghost", icon: "edit", testid: "rename-run" }),
    );
  }
  if (canManage && run.lifecycle !== "deleted") {
    actions.push(
      button("Delete", async () => {
        if (await confirmDialog("Delete run?", ["Run ", h("b", null, run.name), " moves to the deleted runs of its experiment."])) {
          if (await attempt(() => api.deleteRun(run.id), "Run deleted")) navigate(`/experiments/${encodeURIComponent(run.experimentId)}`);
        }
      }, { kind: "danger-ghost", icon: "trash", testid: "delete-run" }),
    );
  }
  const parentId = api.tagOf(run, api.PARENT_TAGS);
  const headStatus = h("span", { "data-testid": "run-status" }, statusBadge(run.status));
  // The experiment's name arrives after the page is drawn (its charts do not wait for it).
  const expCrumb = h("a", { href: href(`/experiments/${encodeURIComponent(run.experimentId)}`) }, run.experimentId);
  void api
    .getExperiment(run.experimentId)
    .then((exp) => (expCrumb.textContent = exp.name))
    .catch(() => undefined);
  root.append(
    pageHeader([h("span", { "data-testid": "run-name" }, run.name), " ", headStatus], {
      crumbs: [
        h("a", { href: href("/") }, "Experiments"),
        expCrumb,
        h("span", null, run.name),
      ],
      actions,
      sub: [h("span", { class: "mono muted" }, run.id), copyButton(run.id), run.lifecycle === "deleted" ? h("span", { class: "badge status-killed" }, "deleted") : null],
    }),
  );

  // ---- overview ----
  const duration = h("span", null, fmtDuration(runDuration(run.start, run.end, run.status)));
  const factStatus = h("span", null, statusBadge(run.status));
  const progressHost = h("div", { class: "run-progress" }, progressBar(run));
  const ended = h("span", null, run.end ? fmtTime(run.end) : "—");
  if (run.status === "RUNNING" && !run.end) {
    const timer = window.setInterval(() => (duration.textContent = fmtDuration(runDuration(run.start, run.end, run.status))), 1000);
    // A live run: status, progress and charts follow it (new points within ~1 s, only the new ones),
    // until it ends; a hidden tab does not poll.
    const poller = new Poller(async () => {
      const fresh = await api.getRun(run.id);
      const keys = [...fresh.metrics.keys()];
      run = fresh;
      replace(progressHost, progressBar(run));
      for (const [g, system] of gridKinds) {
        g.addKeys(keys.filter((k) => k.startsWith("system/") === system));
        await g.refreshTail();
      }
      if (run.status === "RUNNING") return true;
      clearInterval(timer);
      replace(headStatus, statusBadge(run.status));
      replace(factStatus, statusBadge(run.status));
      ended.textContent = run.end ? fmtTime(run.end) : "—";
      duration.textContent = fmtDuration(runDuration(run.start, run.end, run.status));
      return false;
    });
    ctx.onCleanup(() => {
      clearInterval(timer);
      poller.stop();
    });
  }
  const childrenHost = h("span", { class: "muted" }, "…");
  let kidsAsked = false;
  const askChildren = () => {
    // on the overview only: a charts link does not make the server search for child runs first
    if (kidsAsked) return;
    kidsAsked = true;
    void childRuns(run)
      .then((kids) => replace(childrenHost, kids.length ? h("span", { class: "chips" }, kids.map((k) => h("span", { class: "chip" }, runLink(k)))) : h("span", { class: "muted" }, "none")))
      .catch(() => replace(childrenHost, h("span", { class: "muted" }, "—")));
  };
  const parentHost = h("span", { class: "muted" }, parentId ? "…" : "none");
  if (parentId) {
    void api
      .getRun(parentId)
      .then((p) => replace(parentHost, runLink(p)))
      .catch(() => replace(parentHost, h("span", { class: "mono" }, parentId)));
  }
  const source = run.tags.get("hf_mltrack.source.name") ?? run.tags.get("mlflow.source.name");
  const commit = run.tags.get("hf_mltrack.source.git.commit") ?? run.tags.get("mlflow.source.git.commit");
  const facts = h(
    "div",
    { class: "facts" },
    fact("Status", factStatus),
    fact("Started", fmtTime(run.start)),
    fact("Ended", ended),
    fact("Duration", duration),
    fact("User", run.user || "—"),
    fact("Source", source ? h("span", { class: "mono", title: source }, source.split(/[\\/]/).pop() ?? source) : "—"),
    commit ? fact("Git commit", h("span", { class: "mono" }, commit.slice(0, 10))) : null,
    fact("Parent run", parentHost),
    fact("Child runs", childrenHost),
    fact("Artifact URI", h("span", { class: "mono small", title: run.artifactUri ?? "" }, run.artifactUri ?? "—")),
  );

  const note = api.tagOf(run, api.NOTE_TAGS) ?? "";
  const descBody = h("div", { class: "description", "data-testid": "run-description" }, note ? renderMarkdown(note) : h("p", { class: "muted" }, "No description."));
  const editDesc = canEdit
    ? button("Edit", async () => {
        const current = api.tagOf(run, api.NOTE_TAGS) ?? "";
        const r = await formDialog({ title: "Run description (Markdown)", fields: [{ name: "text", label: "Description", value: current, multiline: true }], submit: "Save" });
        if (r === null) return;
        if (await attempt(() => api.setRunTag(run.id, "hf_mltrack.note.content", r.text), "Description saved")) {
          run.tags.set("hf_mltrack.note.content", r.text);
          run.tags.delete("mlflow.note.content");
          replace(descBody, r.text ? renderMarkdown(r.text) : h("p", { class: "muted" }, "No description."));
        }
      }, { kind: "ghost", icon: "edit", testid: "edit-description" })
    : null;

  const params = [...run.params.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const userTags = [...run.tags.entries()].filter(([k]) => !api.isSystemTag(k)).sort((a, b) => a[0].localeCompare(b[0]));
  const sysTags = [...run.tags.entries()].filter(([k]) => api.isSystemTag(k) && !api.NOTE_TAGS.includes(k)).sort((a, b) => a[0].localeCompare(b[0]));

  const tagsCard = () => {
    const body = h("div");
    const render = () =>
      replace(
        body,
        kvTable([...userTags], {
          emptyText: "No tags.",
          actions: canEdit
            ? (key) =>
                h("button", {
                  type: "button",
                  class: "icon-btn",
                  title: `Delete tag ${key}`,
                  onclick: async () => {
                    if (await attempt(() => api.request("POST", "runs/delete-tag", { body: { run_id: run.id, key } }), "Tag deleted")) {
                      userTags.splice(userTags.findIndex(([k]) => k === key), 1);
                      render();
                    }
                  },
                }, icon("x", 12))
            : undefined,
        }),
        sysTags.length ? h("details", { class: "sys-tags" }, h("summary", null, `System tags (${sysTags.length})`), kvTable(sysTags)) : null,
      );
    render();
    const add = canEdit
      ? button("Add", async () => {
          const r = await formDialog({ title: "Set tag", fields: [{ name: "key", label: "Key", required: true }, { name: "value", label: "Value" }], submit: "Save" });
          if (r && r.key.trim() && (await attempt(() => api.setRunTag(run.id, r.key.trim(), r.value), "Tag saved"))) {
            const i = userTags.findIndex(([k]) => k === r.key.trim());
            if (i >= 0) userTags[i] = [r.key.trim(), r.value];
            else userTags.push([r.key.trim(), r.value]);
            render();
          }
        }, { kind: "ghost", icon: "plus", testid: "add-tag" })
      : null;
    return card(h("span", { class: "card-title-row" }, "Tags", add), body);
  };

  const overview = () => {
    askChildren();
    return h(
      "div",
      { class: "overview" },
      facts,
      card(h("span", { class: "card-title-row" }, "Description", editDesc), descBody),
      card("Datasets and models", runDatasetsAndModels(run)),
      h(
        "div",
        { class: "two-col" },
        card(`Parameters (${params.length})`, h("div", { "data-testid": "params-table" }, kvTable(params, { emptyText: "No parameters." }))),
        card(
          `Metrics (${metricRows.length})`,
          h(
            "div",
            { "data-testid": "metrics-table" },
            kvTable(
              metricRows.map(([k, m]) => [k, `${fmtNum(m.value)}${m.step ? `  (step ${fmtNum(m.step)})` : ""}`] as [string, string]),
              { emptyText: "No metrics.", valueTitle: "Latest value" },
            ),
          ),
        ),
      ),
      tagsCard(),
    );
  };

  const chartsTab = (keys: string[], emptyText: string, system = false) => () => {
    const grid = new ChartGrid(keys, chartRuns, settings, { syncKey: `run-${run.id}`, emptyText });
    grids.push(grid);
    gridKinds.set(grid, system);
    return grid.el;
  };

  root.append(
    progressHost,
    tabs(
      [
        { id: "overview", label: "Overview", render: overview },
        { id: "charts", label: `Charts (${metricKeys.length})`, render: chartsTab(metricKeys, "No metrics logged.") },
        { id: "system", label: `System metrics (${systemKeys.length})`, render: chartsTab(systemKeys, "No system metrics: start the run with log_system_metrics=True.", true) },
        { id: "generations", label: "Generations", render: () => [runGenerations(run), imageSeries(run)] },
        { id: "artifacts", label: "Artifacts", render: () => artifactBrowser(run) },
      ],
      firstTab,
      (id) => replaceQuery({ tab: id !== "overview" ? id : undefined }),
    ),
  );
}
