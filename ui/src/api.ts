// The REST client of the UI: MLflow's REST API 2.0 paths and JSON shapes, relative to the page so the
// UI also works behind a path prefix. Basic-auth credentials are the browser's (same origin).

export const API = "api/2.0/mlflow/";
export const ARTIFACTS_API = "api/2.0/mlflow-artifacts/artifacts";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

type QueryValue = string | number | boolean | undefined | null | (string | number)[];
export type Query = Record<string, QueryValue>;

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, String(item));
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

/**
 * Reads started ahead of the code that will make them (a chart's first read, sent as soon as the page
 * knows its runs instead of after the page is built): request -> its response, taken by the first
 * identical request (same method, URL and body), so a guess that turns out wrong costs one unused read.
 */
const ahead = new Map<string, Promise<unknown>>();
/** How long a read's response, once here, waits to be taken. */
const AHEAD_TTL_MS = 10_000;
/** While `readAhead` runs its reads: the signal they end with (the page's). */
let startingAhead: AbortSignal | null = null;

/** Send the requests `reads` makes now, for identical requests made later to take (see `ahead`).
 * They are dropped, unanswered or not, when `signal` aborts (the page is left). */
export function readAhead(signal: AbortSignal, reads: () => Promise<unknown>): void {
  if (signal.aborted) return;
  startingAhead = signal;
  try {
    reads().catch(() => undefined); // (an error reaches the request that takes the response)
  } finally {
    startingAhead = null;
  }
}

export async function request<T>(
  method: string,
  path: string,
  opts: { query?: Query; body?: unknown; signal?: AbortSignal; base?: string } = {},
): Promise<T> {
  const url = (opts.base ?? API) + path + queryString(opts.query);
  const init: RequestInit = { method, signal: opts.signal, credentials: "same-origin", headers: {} };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const key = `${method} ${url} ${init.body ?? ""}`;
  if (startingAhead) {
    const signal = startingAhead;
    const sent = send<T>(url, { ...init, signal });
    ahead.set(key, sent);
    const drop = () => ahead.get(key) === sent && ahead.delete(key);
    signal.addEventListener("abort", drop, { once: true });
    // a response nobody took soon after it came (a wrong guess) is never served later as fresh data
    void sent.catch(() => undefined).finally(() => setTimeout(drop, AHEAD_TTL_MS));
    return sent;
  }
  const early = ahead.get(key);
  if (early) {
    ahead.delete(key);
    return early as Promise<T>;
  }
  return send<T>(url, init);
}

async function send<T>(url: string, init: RequestInit): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK_ERROR", `Cannot reach the tracking server (${(err as Error).message})`);
  }
  const text = await resp.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const d = (data ?? {}) as { error_code?: string; message?: string; detail?: unknown };
    let message = d.message ?? "";
    if (!message && d.detail !== undefined) {
      message = Array.isArray(d.detail)
        ? d.detail.map((x: { loc?: unknown[]; msg?: string }) => `${(x.loc ?? []).join(".")}: ${x.msg}`).join("; ")
        : String(d.detail);
    }
    throw new ApiError(resp.status, d.error_code ?? `HTTP_${resp.status}`, message || `${resp.status} ${resp.statusText}`);
  }
  return (data ?? {}) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", path, { query, signal });
export const post = <T>(path: string, body: unknown) => request<T>("POST", path, { body });
export const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, { body });
export const del = <T>(path: string, body: unknown) => request<T>("DELETE", path, { body });

// ---- shapes ----------------------------------------------------------------------------------
export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: string;
  creation_time?: number;
  last_update_time?: number;
  tags?: KeyValue[];
}

export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: string;
}

export interface MetricJson {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
  run_id?: string;
}

export interface RunJson {
  info: RunInfo;
  data: { metrics?: MetricJson[]; params?: KeyValue[]; tags?: KeyValue[] };
}

/** A run as the UI uses it: maps for quick column lookups. */
export interface Run {
  id: string;
  name: string;
  experimentId: string;
  status: string;
  user: string;
  start?: number;
  end?: number;
  lifecycle: string;
  artifactUri?: string;
  params: Map<string, string>;
  metrics: Map<string, { value: number; step: number; timestamp: number }>;
  tags: Map<string, string>;
}

export function num(v: number | string): number {
  return typeof v === "number" ? v : Number(v); // "NaN", "Infinity", "-Infinity" as protobuf JSON writes them
}

export function toRun(r: RunJson): Run {
  const tags = new Map((r.data.tags ?? []).map((t) => [t.key, t.value] as [string, string]));
  return {
    id: r.info.run_id ?? r.info.run_uuid,
    name: r.info.run_name || tags.get("hf_mltrack.runName") || tags.get("mlflow.runName") || r.info.run_id,
    experimentId: r.info.experiment_id,
    status: r.info.status,
    user: r.info.user_id || tags.get("hf_mltrack.user") || tags.get("mlflow.user") || "",
    start: r.info.start_time,
    end: r.info.end_time,
    lifecycle: r.info.lifecycle_stage,
    artifactUri: r.info.artifact_uri,
    params: new Map((r.data.params ?? []).map((p) => [p.key, p.value] as [string, string])),
    metrics: new Map(
      (r.data.metrics ?? []).map((m) => [m.key, { value: num(m.value), step: m.step, timestamp: m.timestamp }]),
    ),
    tags,
  };
}

export const PARENT_TAGS = ["hf_mltrack.parentRunId", "mlflow.parentRunId"];
export const NOTE_TAGS = ["hf_mltrack.note.content", "mlflow.note.content"];

export function tagOf(run: Run, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = run.tags.get(k);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function isSystemTag(key: string): boolean {
  return key.startsWith("hf_mltrack.") || key.startsWith("mlflow.");
}

// ---- experiments -----------------------------------------------------------------------------
export async function searchExperiments(opts: {
  filter?: string;
  viewType?: string;
  maxResults?: number;
  pageToken?: string;
  orderBy?: string[];
}): Promise<{ experiments: Experiment[]; next_page_token?: string }> {
  const r = await post<{ experiments?: Experiment[]; next_page_token?: string }>("experiments/search", {
    filter: opts.filter || undefined,
    view_type: opts.viewType ?? "ACTIVE_ONLY",
    max_results: opts.maxResults ?? 1000,
    page_token: opts.pageToken,
    order_by: opts.orderBy ?? [],
  });
  return { experiments: r.experiments ?? [], next_page_token: r.next_page_token };
}

export async function getExperiment(id: string): Promise<Experiment> {
  return (await get<{ experiment: Experiment }>("experiments/get", { experiment_id: id })).experiment;
}

export async function createExperiment(name: string): Promise<string> {
  return (await post<{ experiment_id: string }>("experiments/create", { name })).experiment_id;
}

export const renameExperiment = (id: string, newName: string) =>
  post("experiments/update", { experiment_id: id, new_name: newName });
export const setExperimentTag = (id: string, key: string, value: string) =>
  post("experiments/set-experiment-tag", { experiment_id: id, key, value });
export const deleteExperiment = (id: string) => post("experiments/delete", { experiment_id: id });
export const restoreExperiment = (id: string) => post("experiments/restore", { experiment_id: id });

// ---- runs ------------------------------------------------------------------------------------
export interface SearchRunsOpts {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: string;
}

export async function searchRuns(o: SearchRunsOpts, signal?: AbortSignal): Promise<{ runs: Run[]; next?: string }> {
  const r = await request<{ runs?: RunJson[]; next_page_token?: string }>("POST", "runs/search", {
    body: {
      experiment_ids: o.experimentIds,
      filter: o.filter || undefined,
      order_by: o.orderBy ?? ["attributes.start_time DESC"],
      max_results: o.maxResults ?? 1000,
      page_token: o.pageToken,
      run_view_type: o.viewType ?? "ACTIVE_ONLY",
    },
    signal,
  });
  return { runs: (r.runs ?? []).map(toRun), next: r.next_page_token };
}

/** Every run matching, page by page (`onPage` sees the growing list), up to `limit`. */
export async function searchAllRuns(
  o: SearchRunsOpts,
  onPage: (runs: Run[], done: boolean) => void,
  signal?: AbortSignal,
  limit = 50_000,
): Promise<Run[]> {
  const all: Run[] = [];
  let token: string | undefined;
  do {
    const page = await searchRuns({ ...o, pageToken: token, maxResults: o.maxResults ?? 1000 }, signal);
    all.push(...page.runs);
    token = page.next;
    onPage(all, !token || all.length >= limit);
  } while (token && all.length < limit);
  return all;
}

export async function getRun(id: string): Promise<Run> {
  return toRun((await get<{ run: RunJson }>("runs/get", { run_id: id })).run);
}

export const setRunTag = (runId: string, key: string, value: string) => post("runs/set-tag", { run_id: runId, key, value });
export const deleteRun = (runId: string) => post("runs/delete", { run_id: runId });
export const restoreRun = (runId: string) => post("runs/restore", { run_id: runId });
export const renameRun = (runId: string, name: string) => post("runs/update", { run_id: runId, run_name: name });

// ---- metrics ---------------------------------------------------------------------------------
/** One run's series of a metric, as columns (step order). NaN values are NaN; `timestamps` is empty
 * when they were not asked for. */
export interface Series {
  steps: number[];
  values: number[];
  timestamps: number[];
}

export const MAX_RUNS_PER_BULK = 100;
/** The server's cap on `max_results` per series of get-history-bulk-interval (hf_mltrack; MLflow: 2500). */
export const MAX_POINTS_PER_SERIES = 10_000;
/** hf_mltrack's own routes (the UI's workspaces and columnar chart reads). */
export const OWN_API = "api/2.0/hf-mltrack/";

interface ColumnsJson {
  series?: { run_id: string; steps: number[]; values: (number | string | null)[]; timestamps?: number[] }[];
}

/**
 * History of one metric for many runs: run id -> its series, in one request per 100 runs, as columns
 * (hf_mltrack's history-columns: get-history-bulk-interval's points without an object per point).
 * A series of at most `maxResults` points comes back whole (every point); a longer one as the min
 * and max point of each of `(maxResults - 2) / 2` equal step columns, plus its first and last point.
 */
export async function bulkHistory(
  runIds: string[],
  key: string,
  maxResults: number,
  range?: [number, number] | null,
  signal?: AbortSignal,
  timestamps = true,
): Promise<Map<string, Series>> {
  const out = new Map<string, Series>(runIds.map((id) => [id, { steps: [], values: [], timestamps: [] }]));
  const chunks: string[][] = [];
  for (let i = 0; i < runIds.length; i += MAX_RUNS_PER_BULK) chunks.push(runIds.slice(i, i + MAX_RUNS_PER_BULK));
  await Promise.all(
    chunks.map(async (ids) => {
      const r = await request<ColumnsJson>("GET", "metrics/history-columns", {
        base: OWN_API,
        query: {
          metric_key: key,
          run_ids: ids,
          max_results: Math.max(2, Math.min(MAX_POINTS_PER_SERIES, Math.round(maxResults))),
          start_step: range ? Math.floor(range[0]) : undefined,
          end_step: range ? Math.ceil(range[1]) : undefined,
          timestamps: timestamps ? undefined : "false",
        },
        signal,
      });
      for (const s of r.series ?? []) {
        const values = s.values;
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (typeof v !== "number") values[i] = v === null ? NaN : Number(v); // NaN, "Infinity", "-Infinity"
        }
        out.set(s.run_id, { steps: s.steps, values: values as number[], timestamps: s.timestamps ?? [] });
      }
    }),
  );
  return out;
}

/** One group's aggregate line and band (step axis): `lower`/`upper` are null where there is no band. */
export interface GroupLine {
  xs: number[];
  line: number[];
  lower: (number | null)[];
  upper: (number | null)[];
}

interface GroupAggregateJson {
  groups?: { group: string; xs: number[]; line: (number | string)[]; lower?: (number | string)[]; upper?: (number | string)[] }[];
}

/** JSON's numbers as they are, "Infinity" and "-Infinity" made numbers, in place (a read ahead and the
 * chart that takes it share one response: converting it twice is a no-op). */
function toNumbers(values: (number | string)[]): number[] {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== "number") values[i] = Number(values[i]);
  return values as number[];
}

/**
 * The line (mean or median across a group's runs, step by step) and band (min-max or mean ± one
 * standard deviation) of each group of runs, computed by the server (hf_mltrack's group-aggregate)
 * from the points `bulkHistory` would return for `maxResults`: group label -> its line.
 */
export async function groupAggregate(
  groups: { label: string; runIds: string[] }[],
  key: string,
  opts: { aggregate: "mean" | "median"; band: "minmax" | "std" | "none"; maxBins: number; maxResults: number; range?: [number, number] | null },
  signal?: AbortSignal,
): Promise<Map<string, GroupLine>> {
  const members = groups.flatMap((g) => g.runIds.map((id) => [id, g.label] as const));
  const r = await request<GroupAggregateJson>("POST", "metrics/group-aggregate", {
    base: OWN_API,
    body: {
      metric_key: key,
      run_ids: members.map(([id]) => id),
      groups: members.map(([, label]) => label),
      aggregate: opts.aggregate,
      band: opts.band,
      max_bins: Math.max(1, Math.round(opts.maxBins)),
      max_results: Math.max(2, Math.min(MAX_POINTS_PER_SERIES, Math.round(opts.maxResults))),
      start_step: opts.range ? Math.floor(opts.range[0]) : undefined,
      end_step: opts.range ? Math.ceil(opts.range[1]) : undefined,
    },
    signal,
  });
  const out = new Map<string, GroupLine>();
  for (const g of r.groups ?? []) {
    const none = () => g.xs.map(() => null);
    out.set(g.group, { xs: g.xs, line: toNumbers(g.line), lower: g.lower ? toNumbers(g.lower) : none(), upper: g.upper ? toNumbers(g.upper) : none() });
  }
  return out;
}

// ---- artifacts -------------------------------------------------------------------------------
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export async function listArtifacts(runId: string, path?: string): Promise<{ root_uri?: string; files: FileInfo[] }> {
  const r = await get<{ root_uri?: string; files?: FileInfo[] }>("artifacts/list", { run_id: runId, path });
  return { root_uri: r.root_uri, files: r.files ?? [] };
}

/** The URL that downloads one artifact file of a run. */
export function artifactUrl(run: Run, path: string): string {
  const root = run.artifactUri ?? "";
  const enc = path.split("/").map(encodeURIComponent).join("/");
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(root);
  if (m) {
    const prefix = m[1].replace(/\/+$/, "").split("/").map(encodeURIComponent).join("/");
    return `${ARTIFACTS_API}/${prefix ? `${prefix}/` : ""}${enc}`;
  }
  // MLflow's own download endpoint for artifacts the server reads from its stores.
  return `get-artifact${queryString({ path, run_uuid: run.id })}`;
}

// ---- registry --------------------------------------------------------------------------------
export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  user_id?: string;
  current_stage?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: KeyValue[];
  aliases?: string[];
  /** The LoggedModel (m-...) this version was registered from (MLflow 3). */
  model_id?: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}

export interface RegistryEvent {
  id?: number;
  name: string;
  version?: string | null;
  event: string;
  alias?: string | null;
  from?: string | null;
  to?: string | null;
  user_id?: string | null;
  timestamp: number;
}

export async function searchRegisteredModels(
  filter?: string,
  pageToken?: string,
): Promise<{ models: RegisteredModel[]; next?: string }> {
  const r = await get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>("registered-models/search", {
    filter,
    max_results: 1000,
    page_token: pageToken,
    order_by: ["name ASC"],
  });
  return { models: r.registered_models ?? [], next: r.next_page_token };
}

export async function getRegisteredModel(name: string): Promise<RegisteredModel> {
  return (await get<{ registered_model: RegisteredModel }>("registered-models/get", { name })).registered_model;
}

function quoted(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export async function searchModelVersions(name: string): Promise<ModelVersion[]> {
  const out: ModelVersion[] = [];
  let token: string | undefined;
  do {
    const r = await get<{ model_versions?: ModelVersion[]; next_page_token?: string }>("model-versions/search", {
      filter: `name=${quoted(name)}`,
      max_results: 1000,
      page_token: token,
    });
    out.push(...(r.model_versions ?? []));
    token = r.next_page_token;
  } while (token);
  return out.sort((a, b) => Number(b.version) - Number(a.version));
}

export const transitionStage = (name: string, version: string, stage: string, archive: boolean) =>
  post<{ model_version: ModelVersion }>("model-versions/transition-stage", {
    name,
    version,
    stage,
    archive_existing_versions: archive,
  });
export const updateRegisteredModel = (name: string, description: string) =>
  patch("registered-models/update", { name, description });
export const updateModelVersion = (name: string, version: string, description: string) =>
  patch("model-versions/update", { name, version, description });
export const setModelTag = (name: string, key: string, value: string) =>
  post("registered-models/set-tag", { name, key, value });
export const deleteModelTag = (name: string, key: string) => del("registered-models/delete-tag", { name, key });
export const setVersionTag = (name: string, version: string, key: string, value: string) =>
  post("model-versions/set-tag", { name, version, key, value });
export const deleteVersionTag = (name: string, version: string, key: string) =>
  del("model-versions/delete-tag", { name, version, key });
export const setAlias = (name: string, alias: string, version: string) =>
  post("registered-models/alias", { name, alias, version });
export const deleteAlias = (name: string, alias: string) => del("registered-models/alias", { name, alias });

/** Stage transitions and alias moves of a model (hf_mltrack's audit trail; absent on MLflow servers). */
export async function registryHistory(name: string, version?: string): Promise<RegistryEvent[] | null> {
  try {
    const r = await get<{ events?: RegistryEvent[]; history?: RegistryEvent[] }>("model-versions/history", {
      name,
      version,
    });
    return r.events ?? r.history ?? [];
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

// ---- auth ------------------------------------------------------------------------------------
export interface User {
  username: string;
  is_admin: boolean;
  experiment_permissions?: { experiment_id: string; permission: string }[];
  registered_model_permissions?: { name: string; permission: string }[];
  /** The server's default permission for resources without a grant, when the server says it. */
  default_permission?: string;
}

/** The signed-in user, or `null` when the server runs without authentication. */
export async function currentUser(): Promise<User | null> {
  try {
    return (await get<{ user: User }>("users/current")).user;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

// ---- MLflow 3: logged models, datasets, run inputs and outputs (MLflow 3.17's REST shapes) ------
export interface LoggedModelMetric {
  key: string;
  value: number | string;
  timestamp?: number;
  step?: number;
  dataset_name?: string;
  dataset_digest?: string;
  model_id?: string;
  run_id?: string;
}

export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    source_run_id?: string;
    status?: string;
    status_message?: string;
    creation_timestamp_ms?: number;
    last_updated_timestamp_ms?: number;
    artifact_uri?: string;
    model_type?: string;
    tags?: KeyValue[];
  };
  data?: { params?: KeyValue[]; metrics?: LoggedModelMetric[] };
}

export interface DatasetJson {
  name: string;
  digest: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

export interface RunIO {
  inputs: { dataset_inputs?: { tags?: KeyValue[]; dataset: DatasetJson }[]; model_inputs?: { model_id: string }[] };
  outputs: { model_outputs?: { model_id: string; step?: number | string }[] };
}

/** Every logged model of the experiments (page by page, up to `limit`). */
export async function searchLoggedModels(
  experimentIds: string[],
  opts: { filter?: string; orderBy?: { field_name: string; ascending?: boolean }[]; limit?: number } = {},
): Promise<LoggedModel[]> {
  const out: LoggedModel[] = [];
  let token: string | undefined;
  do {
    const r = await post<{ models?: LoggedModel[]; next_page_token?: string }>("logged-models/search", {
      experiment_ids: experimentIds,
      filter: opts.filter || undefined,
      order_by: opts.orderBy ?? [],
      max_results: 100,
      page_token: token,
    });
    out.push(...(r.models ?? []));
    token = r.next_page_token;
  } while (token && out.length < (opts.limit ?? 5000));
  return out;
}

export async function getLoggedModel(modelId: string): Promise<LoggedModel> {
  return (await get<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(modelId)}`)).model;
}

/** A run's dataset and model inputs and its model outputs (MLflow 3 `runs/get`). */
export async function getRunIO(runId: string): Promise<RunIO> {
  const r = await get<{ run: { inputs?: RunIO["inputs"]; outputs?: RunIO["outputs"] } }>("runs/get", { run_id: runId });
  return { inputs: r.run.inputs ?? {}, outputs: r.run.outputs ?? {} };
}

// ---- the UI's saved workspaces (hf_mltrack's own API: /api/2.0/hf-mltrack/workspaces) ---------------
export const WORKSPACES_API = "api/2.0/hf-mltrack/workspaces/";

export interface PanelSpec {
  kind: "line" | "scatter" | "parcoords" | "bar" | "markdown";
  title?: string;
  metrics?: string[];
  x?: string;
  y?: string | null;
  color?: string | null;
  smoothing?: number;
  log_y?: boolean;
  group_by?: string | null;
  aggregate?: "mean" | "median";
  band?: "minmax" | "std" | "none";
  text?: string;
  width?: 1 | 2;
}

export interface WorkspaceSpec {
  panels: PanelSpec[];
  filter?: string;
  runs?: string[];
}

export interface Workspace {
  experiment_id: string;
  name: string;
  spec: WorkspaceSpec;
  user_id?: string | null;
  last_update_time?: number;
}

export async function listWorkspaces(experimentId: string): Promise<Workspace[]> {
  return (await request<{ workspaces?: Workspace[] }>("GET", "list", { base: WORKSPACES_API, query: { experiment_id: experimentId } })).workspaces ?? [];
}

export async function getWorkspace(experimentId: string, name: string): Promise<Workspace> {
  return (await request<{ workspace: Workspace }>("GET", "get", { base: WORKSPACES_API, query: { experiment_id: experimentId, name } })).workspace;
}

export async function saveWorkspace(experimentId: string, name: string, spec: WorkspaceSpec): Promise<Workspace> {
  return (await request<{ workspace: Workspace }>("POST", "save", { base: WORKSPACES_API, body: { experiment_id: experimentId, name, spec } })).workspace;
}

export const deleteWorkspace = (experimentId: string, name: string) =>
  request("DELETE", "delete", { base: WORKSPACES_API, body: { experiment_id: experimentId, name } });
