// Traces: the list of an experiment's traces and, for one trace, its span tree with timings, inputs,
// outputs and attributes. Fed by MLflow's trace endpoints (/traces, /get-trace-artifact).

import * as api from "../api";
import { h, replace, type Child } from "../dom";
import { fmtAgo, fmtSpanDuration, fmtTime } from "../format";
import { replaceQuery, type PageContext } from "../router";
import { jsonView } from "../components/artifacts";
import { card, empty, errorBox, loading, pageHeader } from "../components/widgets";

interface TraceInfo {
  request_id?: string;
  trace_id?: string;
  experiment_id?: string;
  timestamp_ms?: number;
  request_time?: number | string;
  execution_time_ms?: number;
  execution_duration?: number | string;
  status?: string;
  state?: string;
  request_metadata?: api.KeyValue[] | Record<string, string>;
  trace_metadata?: Record<string, string>;
  tags?: api.KeyValue[] | Record<string, string>;
  request_preview?: string;
  response_preview?: string;
}

export interface Span {
  id: string;
  parent: string | null;
  name: string;
  type: string;
  start: number; // ms
  end: number; // ms
  status: string;
  inputs: unknown;
  outputs: unknown;
  attributes: Record<string, unknown>;
  events: unknown[];
}

function kvMap(v: api.KeyValue[] | Record<string, string> | undefined): Record<string, string> {
  if (!v) return {};
  if (Array.isArray(v)) return Object.fromEntries(v.map((x) => [x.key, x.value]));
  return v;
}

function parseMaybeJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function toMs(v: unknown): number {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : NaN;
  if (!Number.isFinite(n)) return NaN;
  return n > 1e14 ? n / 1e6 : n; // nanoseconds (OpenTelemetry) or milliseconds
}

/** Spans of MLflow's trace data, OpenTelemetry JSON, or hf_mltrack's own shape, normalised. */
export function normalizeSpans(raw: unknown): Span[] {
  const data = raw as { spans?: unknown[]; data?: { spans?: unknown[] }; trace?: { data?: { spans?: unknown[] } } };
  const spans = data?.spans ?? data?.data?.spans ?? data?.trace?.data?.spans ?? [];
  return spans.map((s0, i) => {
    const s = s0 as Record<string, unknown>;
    const ctx = (s.context ?? {}) as Record<string, unknown>;
    const attrsRaw = (s.attributes ?? {}) as Record<string, unknown> | { key: string; value: unknown }[];
    const attrs: Record<string, unknown> = {};
    if (Array.isArray(attrsRaw)) for (const a of attrsRaw) attrs[a.key] = parseMaybeJson((a.value as { stringValue?: string })?.stringValue ?? a.value);
    else for (const [k, v] of Object.entries(attrsRaw)) attrs[k] = parseMaybeJson(v);
    const status = s.status as Record<string, unknown> | string | undefined;
    const start = toMs(s.start_time_ns ?? s.start_time_unix_nano ?? s.startTimeUnixNano ?? s.start_time ?? s.start_time_ms);
    const end = toMs(s.end_time_ns ?? s.end_time_unix_nano ?? s.endTimeUnixNano ?? s.end_time ?? s.end_time_ms);
    return {
      id: String(s.span_id ?? ctx.span_id ?? s.spanId ?? i),
      parent: (s.parent_id ?? s.parent_span_id ?? s.parentSpanId ?? null) as string | null,
      name: String(s.name ?? "span"),
      type: spanType(s.span_type ?? attrs["mlflow.spanType"] ?? attrs["hf_mltrack.spanType"]),
      start,
      end: Number.isFinite(end) ? end : start,
      status: spanStatus(typeof status === "object" ? (status?.status_code ?? status?.code) : (status ?? s.status_code)),
      inputs: s.inputs ?? attrs["mlflow.spanInputs"] ?? attrs["hf_mltrack.spanInputs"],
      outputs: s.outputs ?? attrs["mlflow.spanOutputs"] ?? attrs["hf_mltrack.spanOutputs"],
      attributes: attrs,
      events: (s.events as unknown[]) ?? [],
    };
  });
}

/** "OK" / "ERROR" / "UNSET" from MLflow's names, OpenTelemetry's (STATUS_CODE_OK) or its numbers (1, 2). */
function spanStatus(v: unknown): string {
  if (v === undefined || v === null || v === "") return "UNSET";
  if (v === 1 || v === "1") return "OK";
  if (v === 2 || v === "2") return "ERROR";
  if (v === 0 || v === "0") return "UNSET";
  return String(v).replace(/^STATUS_CODE_/, "").toUpperCase();
}

/** The span type, without MLflow's placeholder "UNKNOWN". */
function spanType(v: unknown): string {
  const t = v === undefined || v === null ? "" : String(v).replace(/^"|"$/g, "");
  return t === "UNKNOWN" ? "" : t;
}

function statusPill(status: string): HTMLElement {
  return h("span", { class: `badge span-status status-${status === "OK" ? "finished" : status === "ERROR" ? "failed" : "scheduled"}`, title: `status ${status}` }, status.toLowerCase());
}

async function fetchTraceData(id: string): Promise<unknown> {
  const attempts: [string, string, api.Query][] = [
    [api.API, "get-trace-artifact", { request_id: id }],
    ["ajax-api/2.0/mlflow/", "get-trace-artifact", { request_id: id }],
    ["api/3.0/mlflow/", `traces/${encodeURIComponent(id)}`, {}],
  ];
  let last: unknown = null;
  for (const [base, path, query] of attempts) {
    try {
      return await api.request("GET", path, { base, query });
    } catch (err) {
      last = err;
      if (!(err instanceof api.ApiError && (err.status === 404 || err.status === 405))) throw err;
    }
  }
  throw last;
}

function spanTree(spans: Span[], onSelect: (s: Span) => void): HTMLElement {
  const byParent = new Map<string | null, Span[]>();
  const ids = new Set(spans.map((s) => s.id));
  for (const s of spans) {
    const p = s.parent && ids.has(s.parent) ? s.parent : null;
    if (!byParent.has(p)) byParent.set(p, []);
    byParent.get(p)!.push(s);
  }
  for (const list of byParent.values()) list.sort((a, b) => a.start - b.start);
  const t0 = Math.min(...spans.map((s) => s.start).filter(Number.isFinite));
  const t1 = Math.max(...spans.map((s) => s.end).filter(Number.isFinite));
  const total = Math.max(1e-6, t1 - t0);
  const rows: HTMLElement[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const s of byParent.get(parent) ?? []) {
      const left = ((s.start - t0) / total) * 100;
      const width = Math.max(0.4, ((s.end - s.start) / total) * 100);
      const row = h(
        "div",
        { class: ["span-row", /error/i.test(s.status) ? "error" : ""], tabindex: 0, role: "treeitem", dataset: { span: s.id } },
        h("div", { class: "span-name", style: { paddingLeft: `${8 + depth * 16}px` } }, s.type ? h("span", { class: "badge span-type" }, s.type) : null, " ", s.name),
        h("div", { class: "span-bar-track" }, h("div", { class: "span-bar", style: { left: `${left}%`, width: `${width}%` } })),
        h("div", { class: "span-time mono" }, fmtSpanDuration(s.end - s.start)),
        h("div", { class: "span-state" }, statusPill(s.status)),
      );
      const choose = () => {
        for (const r of rows) r.classList.remove("selected");
        row.classList.add("selected");
        onSelect(s);
      };
      row.addEventListener("click", choose);
      row.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), choose()));
      rows.push(row);
      walk(s.id, depth + 1);
    }
  };
  walk(null, 0);
  return h("div", { class: "span-tree", role: "tree", "data-testid": "span-tree" }, rows);
}

function spanDetails(s: Span): HTMLElement {
  const section = (title: string, v: unknown): Child =>
    v === undefined ? null : h("div", { class: "span-section" }, h("h4", null, title), typeof v === "string" ? h("pre", { class: "code" }, v) : jsonView(v));
  const attrs = Object.fromEntries(Object.entries(s.attributes).filter(([k]) => !/span(Inputs|Outputs|Type)$/.test(k)));
  return h(
    "div",
    { class: "span-details", "data-testid": "span-details" },
    h("h3", null, s.name),
    h("p", { class: "muted" }, `${s.type || "span"} · ${fmtSpanDuration(s.end - s.start)} · started ${fmtTime(s.start)} · `, statusPill(s.status)),
    section("Inputs", s.inputs),
    section("Outputs", s.outputs),
    Object.keys(attrs).length ? section("Attributes", attrs) : null,
    s.events.length ? section("Events", s.events) : null,
  );
}

export async function tracesPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const expSel = h("select", { class: "input", "aria-label": "Experiment", "data-testid": "trace-experiment" });
  const list = h("div", null, loading());
  const detail = h("div", { class: "trace-detail" });
  root.append(pageHeader("Traces"), h("div", { class: "toolbar" }, h("label", null, "Experiment ", expSel)), list, detail);
  let exps: api.Experiment[] = [];
  try {
    exps = (await api.searchExperiments({ maxResults: 1000 })).experiments;
  } catch (err) {
    replace(list, errorBox(err));
    return;
  }
  for (const e of exps) expSel.appendChild(h("option", { value: e.experiment_id }, e.name));
  expSel.value = ctx.query.get("experiment") ?? exps[0]?.experiment_id ?? "";

  const openTrace = async (t: TraceInfo) => {
    const id = t.request_id ?? t.trace_id ?? "";
    replace(detail, loading());
    try {
      const spans = normalizeSpans(await fetchTraceData(id));
      if (!spans.length) return replace(detail, empty("This trace has no spans."));
      const side = h("div", { class: "span-side" }, spanDetails(spans[0]));
      replace(detail, card(`Trace ${id}`, h("div", { class: "trace-split" }, spanTree(spans, (s) => replace(side, spanDetails(s))), side)));
    } catch (err) {
      replace(detail, errorBox(err));
    }
  };

  const load = async () => {
    replaceQuery({ experiment: expSel.value || undefined });
    detail.replaceChildren();
    replace(list, loading());
    try {
      const r = await api.get<{ traces?: TraceInfo[] }>("traces", { experiment_ids: [expSel.value], max_results: 100, order_by: ["timestamp_ms DESC"] });
      const traces = r.traces ?? [];
      if (!traces.length) return replace(list, empty("No traces in this experiment.", h("p", { class: "muted" }, "Traces appear here when code runs under @hf_mltrack.trace or with autolog(log_traces=True).")));
      replace(
        list,
        h(
          "table",
          { class: "table traces-table", "data-testid": "traces-table" },
          h("thead", null, h("tr", null, h("th", null, "Trace"), h("th", null, "Name"), h("th", null, "Time"), h("th", null, "Duration"), h("th", null, "Status"), h("th", null, "Request"))),
          h(
            "tbody",
            null,
            traces.map((t) => {
              const meta = { ...kvMap(t.request_metadata), ...kvMap(t.trace_metadata) };
              const tags = kvMap(t.tags);
              const ts = t.timestamp_ms ?? toMs(t.request_time);
              const dur = t.execution_time_ms ?? toMs(t.execution_duration);
              const id = t.request_id ?? t.trace_id ?? "";
              return h(
                "tr",
                { class: "clickable", onclick: () => void openTrace(t), dataset: { trace: id } },
                h("td", { class: "mono trace-id" }, h("button", { type: "button", class: "link-btn mono", title: `Open trace ${id}`, onclick: (e: Event) => (e.stopPropagation(), void openTrace(t)) }, id)),
                h("td", null, tags["mlflow.traceName"] ?? tags["hf_mltrack.traceName"] ?? ""),
                h("td", { title: fmtTime(ts) }, fmtAgo(ts)),
                h("td", null, fmtSpanDuration(dur)),
                h("td", null, h("span", { class: `badge status-${String(t.status ?? t.state ?? "").toLowerCase()}` }, String(t.status ?? t.state ?? ""))),
                h("td", { class: "muted clamp mono small" }, (t.request_preview ?? meta["mlflow.traceInputs"] ?? meta["hf_mltrack.traceInputs"] ?? "").slice(0, 160)),
              );
            }),
          ),
        ),
      );
    } catch (err) {
      if (err instanceof api.ApiError && (err.status === 404 || err.status === 405)) {
        replace(list, empty("This server does not serve traces yet.", h("p", { class: "muted" }, "Traces are listed from /api/2.0/mlflow/traces when the server provides it.")));
      } else replace(list, errorBox(err));
    }
  };
  expSel.addEventListener("change", () => void load());
  await load();
}
