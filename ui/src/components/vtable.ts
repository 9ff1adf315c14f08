// A virtualised table: only the rows in view (plus a margin) exist in the DOM, so 100,000 runs
// scroll smoothly. Rows have one fixed height; a fixed pool of row nodes is reused while scrolling
// (a node moves to its new index and only its text changes; cells without a `text` getter are
// re-rendered), so a scrolled frame builds no elements and reads no layout. Sorting is client-side
// over the loaded rows, or the server's (a partial list of a large experiment arrives in the
// server's order); selection survives sorting. Rows can be grouped under collapsible group rows.

import { append, h, type Child } from "../dom";

export interface Column<T> {
  id: string;
  title: string;
  width: number;
  /** The cell's content (rebuilt whenever the row node shows another row). */
  render?: (row: T) => Child;
  /** A plain-text cell: only its text (and title) change when the node is reused. */
  text?: (row: T) => string;
  /** The hover title of a text cell (default: none). */
  hover?: (row: T) => string | undefined;
  /** The class of a text cell's span (default `cell-text`, which ends cut text with an ellipsis). */
  textClass?: string;
  /** Update the cell in place for another row (the same cell node each time; it starts empty). */
  patch?: (cell: HTMLElement, row: T) => void;
  sortValue?: (row: T) => number | string | undefined;
  align?: "left" | "right";
  kind?: string;
  tooltip?: string;
}

/** Rows grouped under a header row each (a sweep's runs by a param value, say). */
export interface Grouping<T> {
  /** The group of a row (its label). */
  of: (row: T) => string;
  /** Group order (default: numeric-aware by label). */
  compare?: (a: string, b: string) => number;
  /** What the header says before the label, e.g. "lr". */
  title: string;
}

const OVERSCAN = 3;
/** The group label of rows without a value. */
export const NONE = "(none)";

interface Slot {
  el: HTMLElement;
  box: HTMLInputElement | null;
  cells: HTMLElement[];
  texts: (HTMLElement | null)[];
  /** The row index shown (-1: none). */
  index: number;
}

type Item<T> = { group: string; count: number } | T;

/** Group order: numbers by value, other labels numeric-aware, runs without a value ("(none)") last. */
function byLabel(a: string, b: string): number {
  if ((a === NONE) !== (b === NONE)) return a === NONE ? 1 : -1;
  const x = Number(a);
  const y = Number(b);
  if (a.trim() && b.trim() && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a.localeCompare(b, undefined, { numeric: true });
}

export class VirtualTable<T extends { id: string }> {
  readonly el: HTMLElement;
  private head: HTMLElement;
  private space: HTMLElement;
  private layer: HTMLElement;
  private all: T[] = [];
  private rows: T[] = [];
  /** What is drawn, row by row: group headers and the rows of expanded groups. */
  private items: Item<T>[] = [];
  private columns: Column<T>[] = [];
  private sort: { id: string; dir: 1 | -1 } | null = null;
  private raf = 0;
  private lastClicked: number | null = null;
  /** The rows arrive sorted by the server (a partial list of a large experiment): keep their order. */
  private external = false;
  private grouping: Grouping<T> | null = null;
  private collapsed = new Set<string>();
  private viewH = 600;
  /** Laid out with a height (the first ResizeObserver report says so). */
  private shown = false;
  private scrolled = false;
  readonly selected = new Set<string>();

  constructor(
    private opts: {
      rowHeight?: number;
      selectable?: boolean;
      onSelection?: (ids: Set<string>) => void;
      onSort?: (sort: { id: string; dir: 1 | -1 } | null) => void;
      emptyText?: string;
      testid?: string;
      rowClass?: (row: T) => string;
      /** Called when the rows near the end are shown (load the next page). */
      onNearEnd?: () => void;
    } = {},
  ) {
    this.head = h("div", { class: "vt-head", role: "row", "aria-rowindex": "1" });
    this.layer = h("div", { class: "vt-rows", role: "none" });
    this.space = h("div", { class: "vt-space", role: "rowgroup" }, this.layer);
    this.el = h("div", { class: "vt", role: "table", "data-testid": opts.testid ?? null }, this.head, this.space);
    this.el.addEventListener(
      "scroll",
      () => {
        this.scrolled = true;
        this.schedule();
      },
      { passive: true },
    );
    new ResizeObserver((entries) => {
      const height = entries[entries.length - 1]?.contentRect.height ?? 0;
      const was = this.shown;
      this.shown = height > 0; // a hidden table (another tab) builds no rows until it is shown
      if (height) this.viewH = height;
      if (this.shown && !was) this.renderRows(); // before this frame paints: no stale or empty frame
      else this.schedule();
    }).observe(this.el);
  }

  get rowHeight(): number {
    return this.opts.rowHeight ?? 34;
  }

  /** Rows in display order (all of them, collapsed groups included). */
  get visibleRows(): T[] {
    return this.rows;
  }

  setColumns(columns: Column<T>[]): void {
    this.columns = columns;
    if (this.sort && !columns.some((c) => c.id === this.sort!.id)) this.sort = null;
    const widths = [...(this.opts.selectable ? [36] : []), ...columns.map((c) => c.width)];
    this.el.style.setProperty("--vt-cols", widths.map((w) => `${w}px`).join(" "));
    this.el.style.setProperty("--vt-width", `${widths.reduce((a, b) => a + b, 0)}px`);
    this.dropSlots(); // another set of cells
    this.renderHead();
    this.applySort();
  }

  setRows(rows: T[]): void {
    this.all = rows;
    const ids = new Set(rows.map((r) => r.id));
    for (const id of [...this.selected]) if (!ids.has(id)) this.selected.delete(id);
    this.applySort();
  }

  setSort(sort: { id: string; dir: 1 | -1 } | null): void {
    this.sort = sort;
    this.renderHead();
    this.applySort();
  }

  /** Group rows under collapsible header rows (null: no groups). Groups start expanded. */
  setGrouping(grouping: Grouping<T> | null): void {
    this.grouping = grouping;
    this.collapsed.clear();
    this.applySort();
  }

  /** Expand or collapse a group; returns whether it is expanded now. */
  toggleGroup(label: string, expand = this.collapsed.has(label)): boolean {
    if (expand) this.collapsed.delete(label);
    else this.collapsed.add(label);
    this.layout();
    this.head.parentElement?.querySelector<HTMLButtonElement>(`.vt-group-row button[data-group="${CSS.escape(label)}"]`)?.focus();
    return expand;
  }

  /** Sort on the server (rows keep the order they arrive in) or here. */
  setExternalSort(on: boolean): void {
    if (this.external === on) return;
    this.external = on;
    this.applySort();
  }

  scrollToTop(): void {
    if (!this.scrolled) return; // (writing scrollTop forces a layout)
    this.el.scrollTop = 0;
    this.scrolled = false;
  }

  getSort(): { id: string; dir: 1 | -1 } | null {
    return this.sort;
  }

  clearSelection(): void {
    this.selected.clear();
    this.opts.onSelection?.(this.selected);
    this.renderHead();
    this.renderRows();
  }

  private applySort(): void {
    const col = this.sort ? this.columns.find((c) => c.id === this.sort!.id) : undefined;
    if (!col?.sortValue || this.external) {
      this.rows = this.all;
    } else {
      const dir = this.sort!.dir;
      const keyed = this.all.map((r) => [col.sortValue!(r), r] as [number | string | undefined, T]);
      keyed.sort((a, b) => {
        const x = a[0];
        const y = b[0];
        const xMissing = x === undefined || (typeof x === "number" && Number.isNaN(x));
        const yMissing = y === undefined || (typeof y === "number" && Number.isNaN(y));
        if (xMissing || yMissing) return xMissing === yMissing ? 0 : xMissing ? 1 : -1; // missing last, both ways
        if (typeof x === "number" && typeof y === "number") return (x - y) * dir;
        return String(x).localeCompare(String(y), undefined, { numeric: true }) * dir;
      });
      this.rows = keyed.map((k) => k[1]);
    }
    if (this.grouping) {
      // groups in their order, the sort above inside each group
      const by = new Map<string, T[]>();
      for (const r of this.rows) {
        const g = this.grouping.of(r);
        if (!by.has(g)) by.set(g, []);
        by.get(g)!.push(r);
      }
      const labels = [...by.keys()].sort(this.grouping.compare ?? byLabel);
      this.rows = labels.flatMap((g) => by.get(g)!);
    }
    this.layout();
  }

  /** The drawn items from the sorted rows and the collapsed groups. */
  private layout(): void {
    if (this.grouping) {
      const items: Item<T>[] = [];
      let i = 0;
      while (i < this.rows.length) {
        const g = this.grouping.of(this.rows[i]);
        let j = i;
        while (j < this.rows.length && this.grouping.of(this.rows[j]) === g) j++;
        items.push({ group: g, count: j - i });
        if (!this.collapsed.has(g)) for (let k = i; k < j; k++) items.push(this.rows[k]);
        i = j;
      }
      this.items = items;
    } else this.items = this.rows;
    this.el.setAttribute("aria-rowcount", String(this.items.length + 1));
    this.space.style.height = `${Math.max(this.items.length, 1) * this.rowHeight}px`;
    this.dirty = true;
    this.renderRows();
  }

  private renderHead(): void {
    this.dirty = true; // columns or selection changed: refill the rows on the next render
    const cells: Child[] = [];
    if (this.opts.selectable) {
      const all = h("input", {
        type: "checkbox",
        "aria-label": "Select all",
        "data-testid": "select-all",
        onchange: () => {
          if (all.checked) for (const r of this.rows) this.selected.add(r.id);
          else this.selected.clear();
          this.opts.onSelection?.(this.selected);
          this.dirty = true;
          this.renderRows();
        },
      });
      all.checked = this.rows.length > 0 && this.selected.size >= this.rows.length;
      all.indeterminate = this.selected.size > 0 && this.selected.size < this.rows.length;
      cells.push(h("div", { class: "vt-cell vt-check", role: "columnheader" }, all));
    }
    for (const c of this.columns) {
      const sorted = this.sort?.id === c.id ? this.sort.dir : 0;
      const kindName = c.kind && c.kind !== "attr" ? c.kind : "";
      const label: Child[] = [
        kindName ? h("span", { class: "kind", "aria-hidden": "true" }, kindName[0]) : null,
        h("span", { class: "th-label" }, c.title),
        kindName ? h("span", { class: "sr-only" }, ` (${kindName})`) : null,
        sorted ? h("span", { class: "sort", "aria-hidden": "true" }, sorted > 0 ? "▲" : "▼") : null,
      ];
      const cycle = () => {
        const next: { id: string; dir: 1 | -1 } | null =
          this.sort?.id !== c.id ? { id: c.id, dir: c.kind === "attr" && c.id !== "name" ? -1 : 1 } : this.sort.dir === 1 ? { id: c.id, dir: -1 } : this.sort.dir === -1 ? { id: c.id, dir: 1 } : null;
        this.setSort(next);
        this.opts.onSort?.(next);
        // the header was rebuilt: keep the keyboard focus on this column's button
        this.head.querySelector<HTMLButtonElement>(`button[data-col="${CSS.escape(c.id)}"]`)?.focus();
      };
      cells.push(
        h(
          "div",
          {
            class: ["vt-cell", "vt-th", c.sortValue ? "sortable" : "", c.align === "right" ? "right" : "", c.kind ? `kind-${c.kind}` : ""],
            title: c.tooltip ?? c.title,
            role: "columnheader",
            "aria-sort": sorted ? (sorted > 0 ? "ascending" : "descending") : null,
          },
          c.sortValue ? h("button", { type: "button", class: "th-btn", dataset: { col: c.id }, onclick: cycle }, label) : label,
        ),
      );
    }
    this.head.replaceChildren();
    append(this.head, ...cells);
  }

  private schedule(): void {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.renderRows();
    });
  }

  /** Row nodes, reused: item index i is drawn by slot i % slots.length. */
  private slots: Slot[] = [];
  /** Group header rows in the DOM by item index (few: rebuilt, not pooled). */
  private groupRows = new Map<number, HTMLElement>();
  private empty: HTMLElement | null = null;
  private dirty = true;

  private dropSlots(): void {
    for (const s of this.slots) s.el.remove();
    this.slots = [];
  }

  private renderRows(): void {
    if (!this.shown) {
      // drawn when the table is shown again; no row of an older list waits in the DOM meanwhile
      this.dirty = true;
      for (const slot of this.slots) {
        slot.el.remove();
        slot.index = -1;
      }
      for (const el of this.groupRows.values()) el.remove();
      this.groupRows.clear();
      return;
    }
    const rh = this.rowHeight;
    // no layout read per frame: the header's height is the CSS one, the view's from the ResizeObserver
    const top = Math.max(0, this.el.scrollTop - 36);
    const first = Math.max(0, Math.floor(top / rh) - OVERSCAN);
    const last = Math.min(this.items.length, Math.ceil((top + this.viewH) / rh) + OVERSCAN);
    const refill = this.dirty;
    this.dirty = false;
    if (refill) {
      for (const el of this.groupRows.values()) el.remove();
      this.groupRows.clear();
    }
    if (!this.items.length) {
      this.dropSlots();
      this.empty ??= h("div", { class: "vt-empty", role: "row" }, h("span", { role: "cell" }, this.opts.emptyText ?? "Nothing to show"));
      if (!this.empty.isConnected) this.layer.replaceChildren(this.empty);
      return;
    }
    this.empty?.remove();
    const need = last - first;
    if (this.slots.length < need) {
      for (const s of this.slots) s.index = -1; // the mapping index -> slot changes with the pool size
      while (this.slots.length < need) this.slots.push(this.buildSlot());
    }
    const n = this.slots.length;
    const used = new Uint8Array(n);
    for (const [i, el] of this.groupRows) {
      if (i < first || i >= last) {
        el.remove();
        this.groupRows.delete(i);
      }
    }
    const added: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const item = this.items[i];
      if (this.isGroup(item)) {
        if (!this.groupRows.has(i)) {
          const el = this.groupRow(item, i);
          this.groupRows.set(i, el);
          added.push(el);
        }
        continue;
      }
      const k = i % n;
      used[k] = 1;
      const slot = this.slots[k];
      if (refill || slot.index !== i) this.fill(slot, item, i);
      if (!slot.el.isConnected) added.push(slot.el);
    }
    for (let k = 0; k < n; k++) {
      if (!used[k] && this.slots[k].index !== -1) {
        this.slots[k].el.remove();
        this.slots[k].index = -1;
      }
    }
    if (added.length) this.layer.append(...added);
    if (last >= this.items.length - OVERSCAN * 4) this.opts.onNearEnd?.();
  }

  private isGroup(item: Item<T>): item is { group: string; count: number } {
    return (item as { group?: unknown }).group !== undefined && (item as { id?: unknown }).id === undefined;
  }

  private groupRow(item: { group: string; count: number }, i: number): HTMLElement {
    const expanded = !this.collapsed.has(item.group);
    const title = this.grouping?.title ?? "group";
    const btn = h(
      "button",
      {
        type: "button",
        class: "vt-group-btn",
        "aria-expanded": String(expanded),
        dataset: { group: item.group },
        "data-testid": "group-row-toggle",
        onclick: () => this.toggleGroup(item.group),
        onkeydown: (e: KeyboardEvent) => {
          if (e.key === "ArrowRight" && !expanded) this.toggleGroup(item.group, true);
          else if (e.key === "ArrowLeft" && expanded) this.toggleGroup(item.group, false);
          else return;
          e.preventDefault();
        },
      },
      h("span", { class: "vt-caret", "aria-hidden": "true" }, expanded ? "▾" : "▸"),
      h("span", null, `${title} = `),
      h("b", null, item.group),
      h("span", { class: "muted" }, ` (${item.count} run${item.count === 1 ? "" : "s"})`),
    );
    const el = h(
      "div",
      { class: "vt-row vt-group-row", role: "row", "aria-rowindex": String(i + 2), dataset: { group: item.group }, style: { height: `${this.rowHeight}px`, transform: `translateY(${i * this.rowHeight}px)` } },
      h("div", { class: "vt-cell vt-group-cell", role: "cell" }, btn),
    );
    return el;
  }

  private buildSlot(): Slot {
    const el = h("div", { class: "vt-row", role: "row", style: { height: `${this.rowHeight}px` } });
    const slot: Slot = { el, box: null, cells: [], texts: [], index: -1 };
    if (this.opts.selectable) {
      const box = h("input", { type: "checkbox", "aria-label": "Select row" });
      box.addEventListener("click", (ev) => this.onBox(slot, box, ev));
      slot.box = box;
      el.appendChild(h("div", { class: "vt-cell vt-check", role: "cell" }, box));
    }
    for (const c of this.columns) {
      const cell = h("div", { class: ["vt-cell", c.align === "right" ? "right" : ""], role: "cell" });
      const text = c.text ? h("span", { class: c.textClass ?? "cell-text" }) : null;
      if (text) cell.appendChild(text);
      slot.cells.push(cell);
      slot.texts.push(text);
      el.appendChild(cell);
    }
    return slot;
  }

  private fill(slot: Slot, row: T, i: number): void {
    slot.index = i;
    const el = slot.el;
    el.style.transform = `translateY(${i * this.rowHeight}px)`;
    el.dataset.id = row.id;
    el.dataset.index = String(this.rowIndexOf(i));
    el.setAttribute("aria-rowindex", String(i + 2));
    const selected = this.selected.has(row.id);
    const extra = this.opts.rowClass?.(row) ?? "";
    const cls = `vt-row${selected ? " selected" : ""}${extra ? ` ${extra}` : ""}`;
    if (el.className !== cls) el.className = cls;
    if (slot.box) slot.box.checked = selected;
    for (let k = 0; k < this.columns.length; k++) {
      const c = this.columns[k];
      const text = slot.texts[k];
      if (text) {
        const v = c.text!(row);
        if (text.textContent !== v) text.textContent = v;
        const title = c.hover?.(row);
        if (title) text.title = title;
        else text.removeAttribute("title");
      } else if (c.patch) {
        c.patch(slot.cells[k], row);
      } else {
        const cell = slot.cells[k];
        cell.replaceChildren();
        if (c.render) append(cell, c.render(row));
      }
    }
  }

  /** The index in `visibleRows` of item `i` (items add group headers and skip collapsed rows). */
  private rowIndexOf(i: number): number {
    if (!this.grouping) return i;
    const row = this.items[i] as T;
    return this.rowPos().get(row.id) ?? i;
  }

  private posCache: { rows: T[]; pos: Map<string, number> } | null = null;

  private rowPos(): Map<string, number> {
    if (this.posCache?.rows !== this.rows) this.posCache = { rows: this.rows, pos: new Map(this.rows.map((r, i) => [r.id, i])) };
    return this.posCache.pos;
  }

  private onBox(slot: Slot, box: HTMLInputElement, ev: MouseEvent): void {
    const index = this.rowIndexOf(slot.index);
    const row = this.rows[index];
    if (!row) return;
    if (ev.shiftKey && this.lastClicked !== null) {
      const [a, b] = [Math.min(this.lastClicked, index), Math.max(this.lastClicked, index)];
      for (let i = a; i <= b; i++) {
        if (box.checked) this.selected.add(this.rows[i].id);
        else this.selected.delete(this.rows[i].id);
      }
    } else if (box.checked) this.selected.add(row.id);
    else this.selected.delete(row.id);
    this.lastClicked = index;
    this.opts.onSelection?.(this.selected);
    this.renderHead();
    this.renderRows();
  }
}
