// Autocomplete of the run filter: keys after `metrics.` / `params.` / `tags.` / `attributes.`, and the
// values a param or tag takes in the loaded runs after `params.x =`. A combobox with a listbox
// (ArrowUp/ArrowDown, Enter or Tab to accept, Escape to close), as the ARIA practices describe.

import { h } from "../dom";

export interface Vocabulary {
  metrics: string[];
  params: string[];
  tags: string[];
  /** Values seen for `params.<key>` / `tags.<key>` (a few hundred at most). */
  values: (kind: "params" | "tags", key: string) => string[];
}

const ATTRIBUTES = ["run_name", "run_id", "status", "start_time", "end_time", "user_id", "artifact_uri"];
const PREFIXES = ["metrics.", "params.", "tags.", "attributes."];
const MAX_SHOWN = 12;

function quoteKey(key: string): string {
  return /^[A-Za-z_][\w.]*$/.test(key) ? key : `\`${key.replace(/`/g, "\\`")}\``;
}

/** Suggestions for the text before the caret: [replace-from index, candidates]. */
export function suggest(before: string, vocab: Vocabulary): [number, string[]] {
  // a value after `params.key =` / `tags.key !=` / `LIKE`
  const valueMatch = /(params|tags)\.(`[^`]*`|[\w.-]+)\s*(=|!=|LIKE|ILIKE)\s*'?([^']*)$/i.exec(before);
  if (valueMatch) {
    const kind = valueMatch[1].toLowerCase() as "params" | "tags";
    const key = valueMatch[2].replace(/^`|`$/g, "");
    const typed = valueMatch[4];
    const from = before.length - typed.length - (before.endsWith(`'${typed}`) ? 1 : 0);
    const vals = vocab.values(kind, key).filter((v) => v.toLowerCase().startsWith(typed.toLowerCase()));
    return [from, vals.slice(0, MAX_SHOWN).map((v) => `'${v.replace(/'/g, "\\'")}'`)];
  }
  const token = /([\w.`-]*)$/.exec(before)?.[1] ?? "";
  const from = before.length - token.length;
  const dot = token.indexOf(".");
  if (dot < 0) {
    if (!token) return [from, []];
    return [from, PREFIXES.filter((p) => p.startsWith(token.toLowerCase()))];
  }
  const kind = token.slice(0, dot).toLowerCase();
  const typed = token.slice(dot + 1).replace(/^`/, "").toLowerCase();
  const keys = kind === "metrics" ? vocab.metrics : kind === "params" ? vocab.params : kind === "tags" ? vocab.tags : kind === "attributes" ? ATTRIBUTES : [];
  const hits = keys.filter((k) => k.toLowerCase().includes(typed)).sort((a, b) => Number(!a.toLowerCase().startsWith(typed)) - Number(!b.toLowerCase().startsWith(typed)));
  return [from, hits.slice(0, MAX_SHOWN).map((k) => `${kind}.${quoteKey(k)}`)];
}

/** Attach the autocomplete to `input`; returns a function that removes it. */
export function attachAutocomplete(input: HTMLInputElement, vocab: () => Vocabulary): () => void {
  const id = `ac-${Math.random().toString(36).slice(2, 8)}`;
  const list = h("ul", { class: "autocomplete", role: "listbox", id, hidden: true, "data-testid": "filter-suggestions" });
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", id);
  input.setAttribute("aria-expanded", "false");
  input.parentElement?.classList.add("has-autocomplete");
  input.insertAdjacentElement("afterend", list);
  let items: string[] = [];
  let from = 0;
  let active = -1;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    items = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const render = () => {
    list.replaceChildren(
      ...items.map((text, i) =>
        h(
          "li",
          {
            id: `${id}-${i}`,
            role: "option",
            class: i === active ? "active" : "",
            "aria-selected": i === active ? "true" : "false",
            onmousedown: (e: Event) => {
              e.preventDefault(); // keep the focus in the input
              accept(i);
            },
          },
          text,
        ),
      ),
    );
    if (active >= 0) input.setAttribute("aria-activedescendant", `${id}-${active}`);
    else input.removeAttribute("aria-activedescendant");
  };
  const update = () => {
    const caret = input.selectionStart ?? input.value.length;
    const [start, found] = suggest(input.value.slice(0, caret), vocab());
    from = start;
    const typed = input.value.slice(start, caret);
    items = found.filter((f) => f !== typed);
    active = -1;
    if (!items.length) return close();
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    render();
  };
  const accept = (i: number) => {
    const caret = input.selectionStart ?? input.value.length;
    const text = items[i];
    const after = input.value.slice(caret);
    const tail = text.endsWith(".") ? "" : " ";
    input.value = input.value.slice(0, from) + text + tail + after.replace(/^\s+/, "");
    const pos = from + text.length + tail.length;
    input.setSelectionRange(pos, pos);
    close();
    if (text.endsWith(".")) update(); // a prefix: go on with its keys
  };
  const onKey = (e: KeyboardEvent) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1 + (active < 0 ? 1 : 0))) % items.length;
      render();
    } else if ((e.key === "Enter" || e.key === "Tab") && active >= 0) {
      e.preventDefault();
      e.stopImmediatePropagation(); // Enter picks the suggestion; it does not run the search
      accept(active);
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  };
  input.addEventListener("input", update);
  input.addEventListener("keydown", onKey, true); // before the page's own Enter (run the search)
  input.addEventListener("blur", close);
  return () => {
    input.removeEventListener("input", update);
    input.removeEventListener("keydown", onKey, true);
    input.removeEventListener("blur", close);
    list.remove();
  };
}
