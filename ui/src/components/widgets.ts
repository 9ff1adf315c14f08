// Small building blocks: toasts, dialogs, badges, tabs, key/value tables, popovers.

import { ApiError } from "../api";
import { append, h, icon, replace, type Child } from "../dom";
import { fmtNum } from "../format";

// ---- toasts ----------------------------------------------------------------------------------
export function toast(message: string, kind: "info" | "error" | "success" = "info"): void {
  let host = document.getElementById("toasts");
  if (!host) {
    host = h("div", { id: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(host);
  }
  const el = h("div", { class: `toast toast-${kind}` }, message);
  host.appendChild(el);
  setTimeout(() => el.classList.add("leaving"), kind === "error" ? 6000 : 3000);
  setTimeout(() => el.remove(), kind === "error" ? 6400 : 3400);
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function showError(err: unknown): void {
  if ((err as Error)?.name === "AbortError") return;
  console.warn(err);
  toast(errorMessage(err), "error");
}

/** Run an action and report failures as a toast; returns whether it succeeded. */
export async function attempt(action: () => Promise<unknown>, success?: string): Promise<boolean> {
  try {
    await action();
    if (success) toast(success, "success");
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}

// ---- dialogs ---------------------------------------------------------------------------------
interface DialogField {
  name: string;
  label: string;
  value?: string;
  multiline?: boolean;
  placeholder?: string;
  required?: boolean;
}

/** A modal form; resolves with the field values, or `null` when cancelled. */
export function formDialog(opts: {
  title: string;
  fields: DialogField[];
  submit: string;
  danger?: boolean;
  body?: Child;
}): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const inputs = new Map<string, HTMLInputElement | HTMLTextAreaElement>();
    const dialog = h("dialog", { class: "dialog" });
    const form = h("form", { method: "dialog" });
    const close = (value: Record<string, string> | null) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    append(form, h("h3", null, opts.title), opts.body ?? null);
    for (const f of opts.fields) {
      const input = f.multiline
        ? h("textarea", { name: f.name, rows: 10, placeholder: f.placeholder ?? "" })
        : h("input", { name: f.name, type: "text", placeholder: f.placeholder ?? "", autocomplete: "off" });
      input.value = f.value ?? "";
      if (f.required) input.required = true;
      inputs.set(f.name, input);
      append(form, h("label", { class: "field" }, h("span", null, f.label), input));
    }
    append(
      form,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel"),
        h("button", { type: "submit", class: opts.danger ? "btn btn-danger" : "btn btn-primary" }, opts.submit),
      ),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const values: Record<string, string> = {};
      for (const [k, input] of inputs) values[k] = input.value;
      close(values);
    });
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      close(null);
    });
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    dialog.showModal();
    const first = inputs.values().next().value;
    if (first) first.focus();
  });
}

export async function confirmDialog(title: string, message: Child, submit = "Delete"): Promise<boolean> {
  const r = await formDialog({ title, fields: [], submit, danger: true, body: h("p", null, message) });
  return r !== null;
}

// ---- badges ----------------------------------------------------------------------------------
export function statusBadge(status: string): HTMLElement {
  const s = (status || "UNKNOWN").toUpperCase();
  return h("span", { class: `badge status-${s.toLowerCase()}`, title: s }, h("span", { class: "dot" }), s.toLowerCase());
}

export function stageBadge(stage?: string): HTMLElement {
  const s = stage || "None";
  return h("span", { class: `badge stage-${s.toLowerCase()}` }, s);
}

export function aliasBadge(alias: string): HTMLElement {
  return h("span", { class: "badge alias" }, `@${alias}`);
}

export function tagChip(key: string, value: string): HTMLElement {
  return h("span", { class: "chip", title: `${key}: ${value}` }, h("b", null, key), value ? ` ${value}` : "");
}

// ---- layout helpers --------------------------------------------------------------------------
export function loading(text = "Loading…"): HTMLElement {
  return h("div", { class: "loading" }, h("span", { class: "spinner" }), text);
}

export function empty(text: Child, ...extra: Child[]): HTMLElement {
  return h("div", { class: "empty" }, h("p", null, text), ...extra);
}

export function errorBox(err: unknown): HTMLElement {
  return h("div", { class: "error-box", role: "alert" }, errorMessage(err));
}

export function card(title: Child, ...body: Child[]): HTMLElement {
  return h("section", { class: "card" }, title ? h("h3", { class: "card-title" }, title) : null, ...body);
}

export function button(label: Child, onclick: (ev: MouseEvent) => void, opts: { kind?: string; icon?: string; title?: string; testid?: string } = {}): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: `btn ${opts.kind ? `btn-${opts.kind}` : ""}`, onclick, title: opts.title ?? null, "data-testid": opts.testid ?? null },
    opts.icon ? icon(opts.icon) : null,
    label,
  );
}

export function copyButton(text: string): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "icon-btn",
      title: "Copy",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast("Copied", "success");
        } catch {
          toast("Copy failed: the clipboard needs a secure context", "error");
        }
      },
    },
    icon("copy", 14),
  );
}

/** Tabs; the body shows the selected tab's content, built on first selection. */
export function tabs(
  items: { id: string; label: Child; render: () => Child }[],
  initial: string,
  onChange?: (id: string) => void,
): HTMLElement {
  const bar = h("div", { class: "tabs", role: "tablist" });
  const body = h("div", { class: "tab-body" });
  const built = new Map<string, HTMLElement>();
  const select = (id: string) => {
    for (const b of bar.children) b.classList.toggle("active", (b as HTMLElement).dataset.tab === id);
    for (const [k, el] of built) el.hidden = k !== id;
    if (!built.has(id)) {
      const item = items.find((t) => t.id === id) ?? items[0];
      const panel = h("div", { class: "tab-panel", role: "tabpanel" });
      append(panel, item.render());
      built.set(item.id, panel);
      body.appendChild(panel);
    }
    onChange?.(id);
  };
  for (const t of items) {
    bar.appendChild(h("button", { type: "button", role: "tab", class: "tab", dataset: { tab: t.id }, onclick: () => select(t.id) }, t.label));
  }
  const root = h("div", { class: "tabs-wrap" }, bar, body);
  select(items.some((t) => t.id === initial) ? initial : items[0].id);
  return root;
}

/** A two-column table of key/value pairs with a filter box. */
export function kvTable(
  rows: [string, string | number][],
  opts: { emptyText?: string; keyTitle?: string; valueTitle?: string; actions?: (key: string) => Child } = {},
): HTMLElement {
  const tbody = h("tbody");
  const filter = h("input", { type: "search", class: "input input-sm", placeholder: "Filter…", "aria-label": "Filter rows" });
  const render = () => {
    const q = filter.value.toLowerCase();
    const shown = rows.filter(([k, v]) => !q || k.toLowerCase().includes(q) || String(v).toLowerCase().includes(q));
    replace(
      tbody,
      shown.length
        ? shown.map(([k, v]) =>
            h(
              "tr",
              null,
              h("td", { class: "k" }, k),
              h("td", { class: "v" }, typeof v === "number" ? fmtNum(v) : v),
              opts.actions ? h("td", { class: "actions" }, opts.actions(k)) : null,
            ),
          )
        : h("tr", null, h("td", { colspan: 3, class: "muted" }, rows.length ? "No match" : (opts.emptyText ?? "None"))),
    );
  };
  filter.addEventListener("input", render);
  render();
  return h(
    "div",
    { class: "kv" },
    rows.length > 8 ? filter : null,
    h(
      "table",
      { class: "table kv-table" },
      h("thead", null, h("tr", null, h("th", null, opts.keyTitle ?? "Key"), h("th", null, opts.valueTitle ?? "Value"), opts.actions ? h("th") : null)),
      tbody,
    ),
  );
}

/** A popover anchored under `anchor`; closes on outside click or Escape. */
export function popover(anchor: HTMLElement, content: HTMLElement): () => void {
  const pop = h("div", { class: "popover" }, content);
  document.body.appendChild(pop);
  const r = anchor.getBoundingClientRect();
  pop.style.top = `${r.bottom + window.scrollY + 4}px`;
  pop.style.left = `${Math.max(8, Math.min(r.left + window.scrollX, window.innerWidth - pop.offsetWidth - 8))}px`;
  const close = () => {
    pop.remove();
    document.removeEventListener("mousedown", outside, true);
    document.removeEventListener("keydown", esc, true);
  };
  const outside = (ev: MouseEvent) => {
    if (!pop.contains(ev.target as Node) && !anchor.contains(ev.target as Node)) close();
  };
  const esc = (ev: KeyboardEvent) => {
    if (ev.key === "Escape") close();
  };
  document.addEventListener("mousedown", outside, true);
  document.addEventListener("keydown", esc, true);
  return close;
}

export function pageHeader(title: Child, opts: { crumbs?: Child[]; actions?: Child[]; sub?: Child } = {}): HTMLElement {
  return h(
    "header",
    { class: "page-header" },
    opts.crumbs?.length ? h("nav", { class: "crumbs" }, opts.crumbs.map((c, i) => [i ? h("span", { class: "sep" }, "/") : null, c])) : null,
    h("div", { class: "title-row" }, h("h1", null, title), h("div", { class: "actions" }, ...(opts.actions ?? []))),
    opts.sub ? h("div", { class: "sub" }, opts.sub) : null,
  );
}
