// The artifact browser of a run: a lazily expanded tree and a preview pane (text, JSON, YAML,
// Markdown, images, MLmodel summaries, CSV/TSV and MLflow table JSON), with downloads. Previews
// are built as DOM text; HTML and SVG artifacts show as source, never rendered.

import { artifactUrl, listArtifacts, type FileInfo, type Run } from "../api";
import { append, h, icon, replace, type Child } from "../dom";
import { fmtBytes } from "../format";
import { renderMarkdown } from "../markdown";
import { empty, errorBox, loading } from "./widgets";

const IMAGE = /\.(png|jpe?g|gif|webp|bmp)$/i;
const TEXT =
  /(\.(txt|log|py|yaml|yml|toml|ini|cfg|conf|sh|js|ts|css|html?|svg|xml|rst|sql|r|scala|java|c|h|cpp|go|rs|properties|env|gitignore|lock)|^[^.]+|requirements\.txt|MLmodel|MLproject|LICENSE)$/i;
const MAX_PREVIEW = 2 * 1024 * 1024;
const MAX_TABLE_ROWS = 500;

function baseName(path: string): string {
  return path.split("/").pop() ?? path;
}

async function fetchText(url: string, limit = MAX_PREVIEW): Promise<{ text: string; truncated: boolean }> {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`;
    try {
      msg = ((await resp.json()) as { message?: string }).message ?? msg;
    } catch {
      /* not JSON */
    }
    throw new Error(`Cannot read the artifact: ${msg}`);
  }
  if (!resp.body) return { text: (await resp.text()).slice(0, limit), truncated: false };
  const reader = resp.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= limit) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const all = new Uint8Array(Math.min(size, limit));
  let off = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, all.length - off);
    all.set(c.subarray(0, take), off);
    off += take;
    if (off >= all.length) break;
  }
  return { text: new TextDecoder("utf-8", { fatal: false }).decode(all), truncated };
}

/** CSV/TSV rows (quoted fields, doubled quotes, newlines in quotes). */
export function parseDelimited(text: string, sep: string, maxRows: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === sep) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      if (rows.length >= maxRows + 1) return rows;
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function dataTable(columns: string[], rows: unknown[][], total: number): HTMLElement {
  return h(
    "div",
    { class: "preview-table-wrap" },
    h(
      "table",
      { class: "table preview-table" },
      h("thead", null, h("tr", null, columns.map((c) => h("th", null, String(c))))),
      h(
        "tbody",
        null,
        rows.slice(0, MAX_TABLE_ROWS).map((r) => h("tr", null, columns.map((_, j) => h("td", null, cellText(r[j]))))),
      ),
    ),
    total > MAX_TABLE_ROWS ? h("p", { class: "muted" }, `Showing ${MAX_TABLE_ROWS} of ${total} rows.`) : null,
  );
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** JSON with syntax colouring, built from spans (no HTML parsing). */
export function jsonView(value: unknown): HTMLElement {
  const pre = h("pre", { class: "code json" });
  const walk = (v: unknown, indent: string): Child[] => {
    if (v === null) return [h("span", { class: "j-null" }, "null")];
    if (typeof v === "string") return [h("span", { class: "j-str" }, JSON.stringify(v))];
    if (typeof v === "number" || typeof v === "boolean") return [h("span", { class: "j-num" }, String(v))];
    const inner = indent + "  ";
    if (Array.isArray(v)) {
      if (!v.length) return ["[]"];
      const out: Child[] = ["[\n"];
      v.forEach((item, i) => out.push(inner, ...walk(item, inner), i < v.length - 1 ? ",\n" : "\n"));
      out.push(indent, "]");
      return out;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (!entries.length) return ["{}"];
    const out: Child[] = ["{\n"];
    entries.forEach(([k, item], i) =>
      out.push(inner, h("span", { class: "j-key" }, JSON.stringify(k)), ": ", ...walk(item, inner), i < entries.length - 1 ? ",\n" : "\n"),
    );
    out.push(indent, "}");
    return out;
  };
  append(pre, ...walk(value, ""));
  return pre;
}

/** YAML source with keys and comments coloured, line by line. */
export function yamlView(text: string): HTMLElement {
  const pre = h("pre", { class: "code yaml" });
  for (const line of text.split("\n")) {
    const comment = /^(\s*)(#.*)$/.exec(line);
    const kv = /^(\s*-?\s*)([^:#'"\s][^:#]*?):(\s|$)(.*)$/.exec(line);
    if (comment) append(pre, comment[1], h("span", { class: "y-comment" }, comment[2]));
    else if (kv) append(pre, kv[1], h("span", { class: "j-key" }, kv[2]), ":", kv[3], h("span", { class: "j-str" }, kv[4]));
    else append(pre, line);
    append(pre, "\n");
  }
  return pre;
}

/** The facts of an MLmodel file: flavors, signature, size (a minimal YAML read of known keys). */
export function mlmodelSummary(text: string): HTMLElement {
  const lines = text.split("\n");
  const top: Record<string, string> = {};
  const children: Record<string, Record<string, string>> = {};
  let current = "";
  for (const line of lines) {
    const m = /^(\s*)([\w.-]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, sp, key, value] = m;
    if (!sp.length) {
      current = key;
      top[key] = value;
      children[key] = {};
    } else if (sp.length === 2 && current) children[current][key] = value;
  }
  const unquote = (s: string) => {
    const t = s.trim();
    if (t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t.startsWith('"') && t.endsWith('"')) {
      try {
        return JSON.parse(t) as string;
      } catch {
        return t.slice(1, -1);
      }
    }
    return t;
  };
  const schema = (raw?: string): Child => {
    if (!raw) return h("span", { class: "muted" }, "—");
    try {
      const cols = JSON.parse(unquote(raw)) as { name?: string; type?: string; tensor_spec?: { dtype?: string; shape?: number[] } }[];
      return h(
        "div",
        { class: "chips" },
        cols.map((c) =>
          h("span", { class: "chip" }, c.name ? h("b", null, c.name) : null, ` ${c.type === "tensor" && c.tensor_spec ? `${c.tensor_spec.dtype} ${JSON.stringify(c.tensor_spec.shape)}` : (c.type ?? "")}`),
        ),
      );
    } catch {
      return h("code", null, unquote(raw));
    }
  };
  const flavors = Object.keys(children.flavors ?? {});
  const sig = children.signature ?? {};
  const rows: [string, Child][] = [
    ["Flavors", h("div", { class: "chips" }, flavors.map((f) => h("span", { class: "badge flavor" }, f)))],
    ["Inputs", schema(sig.inputs)],
    ["Outputs", schema(sig.outputs)],
  ];
  if (sig.params) rows.push(["Params", schema(sig.params)]);
  if (top.model_size_bytes) rows.push(["Size", fmtBytes(Number(top.model_size_bytes))]);
  if (top.run_id) rows.push(["Run", h("a", { href: `#/runs/${encodeURIComponent(unquote(top.run_id))}` }, unquote(top.run_id))]);
  if (top.utc_time_created) rows.push(["Created (UTC)", unquote(top.utc_time_created)]);
  if (top.model_uuid) rows.push(["Model UUID", unquote(top.model_uuid)]);
  return h(
    "table",
    { class: "table kv-table mlmodel-summary", "data-testid": "mlmodel-summary" },
    h("tbody", null, rows.map(([k, v]) => h("tr", null, h("td", { class: "k" }, k), h("td", null, v)))),
  );
}

async function renderPreview(run: Run, file: FileInfo): Promise<Child> {
  const url = artifactUrl(run, file.path);
  const name = baseName(file.path);
  const lower = name.toLowerCase();
  if (IMAGE.test(lower)) return h("div", { class: "preview-image" }, h("img", { src: url, alt: name, loading: "lazy" }));
  const isText = TEXT.test(name) || /\.(json|jsonl|csv|tsv|md|markdown)$/i.test(lower);
  if (!isText) return empty("No preview for this file type.", h("a", { class: "btn", href: url, download: name }, icon("download"), " Download"));
  const { text, truncated } = await fetchText(url);
  const note = truncated ? h("p", { class: "muted" }, `Showing the first ${fmtBytes(MAX_PREVIEW)}; download the file for the rest.`) : null;
  if (name === "MLmodel") return [mlmodelSummary(text), yamlView(text), note];
  if (lower.endsWith(".json") && !truncated) {
    try {
      const value = JSON.parse(text) as unknown;
      const t = value as { columns?: unknown[]; data?: unknown[][] };
      if (t && Array.isArray(t.columns) && Array.isArray(t.data)) {
        return [dataTable(t.columns.map(String), t.data, t.data.length), h("details", null, h("summary", null, "JSON"), jsonView(value))];
      }
      return jsonView(value);
    } catch {
      return [h("pre", { class: "code" }, text), note];
    }
  }
  if (lower.endsWith(".csv") || lower.endsWith(".tsv")) {
    const rows = parseDelimited(text, lower.endsWith(".tsv") ? "\t" : ",", MAX_TABLE_ROWS);
    if (rows.length) {
      const lineCount = text.split("\n").filter(Boolean).length - 1;
      return [dataTable(rows[0], rows.slice(1), lineCount), note];
    }
  }
  if (lower.endsWith(".md") || lower.endsWith(".markdown")) return [renderMarkdown(text), note];
  if (/\.(ya?ml)$/.test(lower) || name === "MLproject") return [yamlView(text), note];
  return [h("pre", { class: "code" }, text), note];
}

export function artifactBrowser(run: Run): HTMLElement {
  const tree = h("div", { class: "art-tree", role: "tree", "data-testid": "artifact-tree" });
  const preview = h("div", { class: "art-preview" }, empty("Select a file to preview it."));
  let selectedRow: HTMLElement | null = null;

  const select = async (file: FileInfo, row: HTMLElement) => {
    selectedRow?.classList.remove("selected");
    row.classList.add("selected");
    selectedRow = row;
    const url = artifactUrl(run, file.path);
    const head = h(
      "div",
      { class: "art-head" },
      h("span", { class: "mono path" }, file.path),
      h("span", { class: "muted" }, fmtBytes(file.file_size)),
      h("a", { class: "btn btn-sm", href: url, download: baseName(file.path), "data-testid": "artifact-download" }, icon("download", 14), " Download"),
    );
    const body = h("div", { class: "art-body", "data-testid": "artifact-preview" }, loading());
    replace(preview, head, body);
    try {
      replace(body, await renderPreview(run, file));
    } catch (err) {
      replace(body, errorBox(err));
    }
  };

  const renderLevel = async (container: HTMLElement, path: string | undefined, depth: number) => {
    container.appendChild(loading());
    try {
      const { files } = await listArtifacts(run.id, path);
      container.replaceChildren();
      files.sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));
      if (!files.length && depth === 0) container.appendChild(empty("No artifacts logged."));
      for (const f of files) {
        // list paths are relative to the artifact root (MLflow); tolerate names relative to `path`
        const full = path && !f.path.startsWith(`${path}/`) ? `${path}/${f.path}` : f.path;
        const file = { ...f, path: full };
        const row = h(
          "div",
          { class: "art-row", role: "treeitem", style: { paddingLeft: `${8 + depth * 16}px` }, tabindex: 0, dataset: { path: full } },
          icon(f.is_dir ? "folder" : "file", 14),
          h("span", { class: "name" }, baseName(full)),
          f.is_dir ? null : h("span", { class: "size" }, fmtBytes(f.file_size)),
        );
        container.appendChild(row);
        if (f.is_dir) {
          const kids = h("div", { class: "art-children", hidden: true });
          container.appendChild(kids);
          let loaded = false;
          const toggle = () => {
            kids.hidden = !kids.hidden;
            row.classList.toggle("open", !kids.hidden);
            if (!loaded) {
              loaded = true;
              void renderLevel(kids, full, depth + 1);
            }
          };
          row.addEventListener("click", toggle);
          row.addEventListener("keydown", (e) => e.key === "Enter" && toggle());
        } else {
          row.addEventListener("click", () => void select(file, row));
          row.addEventListener("keydown", (e) => e.key === "Enter" && void select(file, row));
        }
      }
    } catch (err) {
      container.replaceChildren(errorBox(err));
    }
  };
  void renderLevel(tree, undefined, 0);
  return h("div", { class: "artifacts" }, tree, preview);
}
