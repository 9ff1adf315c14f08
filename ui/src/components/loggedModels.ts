// MLflow 3's model-centric view: an experiment's logged models (every log_model and every Trainer
// checkpoint) with their linked metrics, a run's datasets and models, and the lineage of a
// registered version (dataset -> run -> logged model -> version).

import * as api from "../api";
import { h, replace, type Child } from "../dom";
import { fmtAgo, fmtNum, fmtTime } from "../format";
import { href } from "../router";
import { VirtualTable, type Column } from "./vtable";
import { empty, errorBox, loading, statusBadge } from "./widgets";

interface ModelRow {
  id: string;
  model: api.LoggedModel;
  step?: number;
  metrics: Map<string, api.LoggedModelMetric>;
}

const STEP_TAGS = ["hf_mltrack.checkpoint.step", "checkpoint_step", "step"];

/** The training step of a logged model: a step tag, the run output's step, `checkpoint-N`, or its metrics' step. */
export function modelStep(m: api.LoggedModel, outputStep?: number): number | undefined {
  const tags = new Map((m.info.tags ?? []).map((t) => [t.key, t.value]));
  for (const k of STEP_TAGS) {
    const v = Number(tags.get(k));
    if (tags.has(k) && Number.isFinite(v)) return v;
  }
  if (outputStep !== undefined && Number.isFinite(outputStep) && outputStep > 0) return outputStep; // 0: unset
  const named = /checkpoint-(\d+)/.exec(m.info.name ?? "");
  if (named) return Number(named[1]);
  const steps = (m.data?.metrics ?? []).map((x) => Number(x.step)).filter(Number.isFinite);
  return steps.length ? Math.max(...steps) : undefined;
}

function metricKey(x: api.LoggedModelMetric): string {
  return x.dataset_name ? `${x.key} (${x.dataset_name})` : x.key;
}

function toRow(m: api.LoggedModel): ModelRow {
  const metrics = new Map<string, api.LoggedModelMetric>();
  for (const x of m.data?.metrics ?? []) {
    const k = metricKey(x);
    const prev = metrics.get(k);
    if (!prev || Number(x.step ?? 0) >= Number(prev.step ?? 0)) metrics.set(k, x);
  }
  return { id: m.info.model_id, model: m, step: modelStep(m), metrics };
}

export function modelLabel(m: api.LoggedModel): string {
  return m.info.name || m.info.model_id;
}

/** The Models tab of an experiment: its logged models, sortable by any linked metric. */
export function modelsTab(expId: string, runNames: Map<string, string>): HTMLElement {
  const host = h("div", { class: "models-tab", "data-testid": "logged-models" }, loading());
  void (async () => {
    let models: api.LoggedModel[];
    try {
      models = await api.searchLoggedModels([expId]);
    } catch (err) {
      replace(host, errorBox(err));
      return;
    }
    if (!models.length) {
      replace(host, empty("No logged models in this experiment.", h("p", { class: "muted" }, "log_model(...) and every Trainer checkpoint create one (MLflow 3's LoggedModel).")));
      return;
    }
    const rows = models.map(toRow);
    const keys = [...new Set(rows.flatMap((r) => [...r.metrics.keys()]))].sort();
    const runSel = h(
      "select",
      { class: "input input-sm", "aria-label": "Source run", "data-testid": "models-run" },
      h("option", { value: "" }, "All runs"),
      [...new Set(rows.map((r) => r.model.info.source_run_id).filter((x): x is string => !!x))].map((id) => h("option", { value: id }, runNames.get(id) ?? id)),
    );
    const table = new VirtualTable<ModelRow>({ testid: "logged-models-table", emptyText: "No logged models." });
    const columns: Column<ModelRow>[] = [
      { id: "name", title: "Model", width: 220, kind: "attr", sortValue: (r) => modelLabel(r.model).toLowerCase(), render: (r) => h("span", { class: "cell-text", title: r.id }, modelLabel(r.model)) },
      { id: "step", title: "Step", width: 80, kind: "attr", align: "right", sortValue: (r) => r.step, render: (r) => (r.step === undefined ? "" : fmtNum(r.step)) },
      {
        id: "run",
        title: "Source run",
        width: 170,
        kind: "attr",
        sortValue: (r) => runNames.get(r.model.info.source_run_id ?? "") ?? r.model.info.source_run_id,
        render: (r) => {
          const id = r.model.info.source_run_id;
          return id ? h("a", { href: href(`/runs/${encodeURIComponent(id)}`), class: "cell-text" }, runNames.get(id) ?? id) : "";
        },
      },
      { id: "status", title: "Status", width: 100, kind: "attr", sortValue: (r) => r.model.info.status, render: (r) => statusBadge(r.model.info.status === "READY" ? "FINISHED" : r.model.info.status === "FAILED" ? "FAILED" : "RUNNING") },
      { id: "type", title: "Type", width: 110, kind: "attr", sortValue: (r) => r.model.info.model_type, render: (r) => r.model.info.model_type ?? "" },
      { id: "created", title: "Created", width: 110, kind: "attr", sortValue: (r) => r.model.info.creation_timestamp_ms, render: (r) => h("span", { title: fmtTime(r.model.info.creation_timestamp_ms) }, fmtAgo(r.model.info.creation_timestamp_ms)) },
      ...keys.map(
        (k): Column<ModelRow> => ({
          id: `metric:${k}`,
          title: k,
          width: 130,
          kind: "metric",
          align: "right",
          tooltip: `metrics.${k} linked to the model`,
          sortValue: (r) => {
            const v = r.metrics.get(k)?.value;
            return v === undefined ? undefined : api.num(v);
          },
          render: (r) => {
            const x = r.metrics.get(k);
            return x ? h("span", { class: "num", title: `${x.value}${x.step !== undefined ? ` (step ${x.step})` : ""}` }, fmtNum(api.num(x.value))) : "";
          },
        }),
      ),
    ];
    table.setColumns(columns);
    const apply = () => {
      const id = runSel.value;
      table.setRows(id ? rows.filter((r) => r.model.info.source_run_id === id) : rows);
      if (id) table.setSort({ id: "step", dir: 1 }); // a run's checkpoints in step order
    };
    runSel.addEventListener("change", apply);
    apply();
    replace(host, h("div", { class: "sweep-bar" }, h("span", { class: "muted" }, `${rows.length} logged model${rows.length === 1 ? "" : "s"}`), h("label", null, "Run ", runSel)), table.el);
  })();
  return host;
}

function contextOf(tags: api.KeyValue[] | undefined): string {
  return tags?.find((t) => t.key === "mlflow.data.context" || t.key === "hf_mltrack.data.context")?.value ?? "";
}

function datasetChip(d: api.DatasetJson, context = ""): HTMLElement {
  return h(
    "span",
    { class: "chip dataset", title: `${d.source_type ?? ""} ${d.source ?? ""}`.trim(), "data-testid": "dataset" },
    h("b", null, d.name),
    ` ${d.digest.slice(0, 8)}`,
    context ? h("span", { class: "muted" }, ` · ${context}`) : null,
  );
}

function modelChip(m: api.LoggedModel | null, id: string, step?: number): HTMLElement {
  const s = m ? modelStep(m, step) : step;
  return h("span", { class: "chip model", title: id, "data-testid": "model-output" }, h("b", null, m ? modelLabel(m) : id), s !== undefined ? ` step ${fmtNum(s)}` : "");
}

/** The run page's card: the datasets the run read and the models it produced (and read). */
export function runDatasetsAndModels(run: api.Run): HTMLElement {
  const body = h("div", { "data-testid": "run-io" }, loading());
  void (async () => {
    try {
      const io = await api.getRunIO(run.id);
      const rank = (c: string) => ["training", "train", "validation", "eval", "test"].indexOf(c) >>> 0; // unknown last
      const inputs = [...(io.inputs.dataset_inputs ?? [])].sort(
        (a, b) => rank(contextOf(a.tags)) - rank(contextOf(b.tags)) || a.dataset.name.localeCompare(b.dataset.name),
      );
      const outs = io.outputs.model_outputs ?? [];
      const modelIns = io.inputs.model_inputs ?? [];
      const fetchModel = (id: string) => api.getLoggedModel(id).catch(() => null);
      const outModels = await Promise.all(outs.map((o) => fetchModel(o.model_id)));
      const inModels = await Promise.all(modelIns.map((o) => fetchModel(o.model_id)));
      const order = outs.map((o, i) => ({ o, m: outModels[i], step: modelStep(outModels[i] ?? ({ info: { model_id: o.model_id, experiment_id: "", name: "" } } as api.LoggedModel), o.step === undefined ? undefined : Number(o.step)) }));
      order.sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity));
      const section = (title: string, items: Child[], none: string) => h("div", { class: "io-section" }, h("h4", null, title), items.length ? h("div", { class: "chips" }, items) : h("p", { class: "muted" }, none));
      replace(
        body,
        section("Datasets", inputs.map((d) => datasetChip(d.dataset, contextOf(d.tags))), "No dataset inputs."),
        section("Models produced", order.map(({ o, m, step }) => modelChip(m, o.model_id, step)), "No logged models."),
        modelIns.length ? section("Models used", modelIns.map((o, i) => modelChip(inModels[i], o.model_id)), "") : null,
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  })();
  return body;
}

/** dataset -> run -> logged model -> version, for a registered version with a `model_id`. */
export function versionLineage(v: api.ModelVersion): HTMLElement {
  const body = h("div", { class: "lineage", "data-testid": "lineage" }, loading());
  void (async () => {
    try {
      const model = v.model_id ? await api.getLoggedModel(v.model_id).catch(() => null) : null;
      const runId = model?.info.source_run_id ?? v.run_id;
      const [run, io] = runId ? await Promise.all([api.getRun(runId).catch(() => null), api.getRunIO(runId).catch(() => null)]) : [null, null];
      const datasets = io?.inputs.dataset_inputs ?? [];
      const arrow = () => h("span", { class: "lineage-arrow", "aria-hidden": "true" }, "→");
      replace(
        body,
        h("span", { class: "sr-only" }, "Lineage: "),
        datasets.length ? h("span", { class: "chips" }, datasets.map((d) => datasetChip(d.dataset, contextOf(d.tags)))) : h("span", { class: "muted" }, "no dataset recorded"),
        arrow(),
        runId ? h("a", { class: "chip", href: href(`/runs/${encodeURIComponent(runId)}`), "data-testid": "lineage-run" }, run?.name ?? runId) : h("span", { class: "muted" }, "no run"),
        arrow(),
        v.model_id ? modelChip(model, v.model_id) : h("span", { class: "muted" }, "no logged model"),
        arrow(),
        h("span", { class: "chip", "data-testid": "lineage-version" }, `${v.name} v${v.version}`),
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  })();
  return body;
}
