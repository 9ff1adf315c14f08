// A virtualised table: only the rows in view (plus a margin) exist in the DOM, so 10,000+ runs
// scroll smoothly. Sorting is client-side over the loaded rows, or the server's (a partial list of a
// large experiment arrives in the server's order); selection survives sorting.

import { append, h, type Child } from "../dom";

export interface Column<T> {
  id: string;
  title: string;
  width: number;
  render: (row: T) => Child;
  sortValue?: (row: T) => number | string | undefined;
  align?: "left" | "right";
  kind?: string;
  tooltip?: string;
}

const OVERSCAN = 8;

export class VirtualTable<T extends { id: string }> {
  readonly el: HTMLElement;
  private head: HTMLElement;
  private space: HTMLElement;
  private layer: HTMLElement;
  private all: T[] = [];
  private rows: T[] = [];
  private columns: Column<T>[] = [];
  private sort: { id: string; dir: 1 | -1 } | null = null;
  private raf = 0;
  private lastClicked: number | null = null;
  /** The rows arrive sorted by the server (a partial list of a large experiment): keep their order. */
  private external = false;
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
    this.head = h("div", { class: "vt-head", role: "row" });
    this.layer = h("div", { class: "vt-rows", role: "none" });
    this.space = h("div", { class: "vt-space", role: "rowgroup" }, this.layer);
    this.el = h("div", { class: "vt", role: "table", "data-testid": opts.testid ?? null }, this.head, this.space);
    this.el.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  get rowHeight(): number {
    return this.opts.rowHeight ?? 34;
  }

  /** Rows in display order. */
  get visibleRows(): T[] {
    return this.rows;
  }

  setColumns(columns: Column<T>[]): void {
    this.columns = columns;
    if (this.sort && !columns.some((c) => c.id === this.sort!.id)) this.sort = null;
    const widths = [...(this.opts.selectable ? [36] : []), ...columns.map((c) => c.width)];
    this.el.style.setProperty("--vt-cols", widths.map((w) => `${w}px`).join(" "));
    this.el.style.setProperty("--vt-width", `${widths.reduce((a, b) => a + b, 0)}px`);
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

  /** Sort on the server (rows keep the order they arrive in) or here. */
  setExternalSort(on: boolean): void {
    if (this.external === on) return;
    this.external = on;
    this.applySort();
  }

  scrollToTop(): void {
    this.el.scrollTop = 0;
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
    this.space.style.height = `${Math.max(this.rows.length, 1) * this.rowHeight}px`;
    this.dirty = true;
    this.renderRows();
  }

  private renderHead(): void {
    this.dirty = true; // columns or selection changed: rebuild the rows on the next render
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

  /** Rows in the DOM by index; kept while scrolling (only rows entering the view are built). */
  private rendered = new Map<number, HTMLElement>();
  private renderedRows: T[] | null = null;
  private dirty = true;

  private renderRows(): void {
    const rh = this.rowHeight;
    const headH = this.head.offsetHeight;
    const top = Math.max(0, this.el.scrollTop - headH);
    const viewH = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / rh) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + viewH) / rh) + OVERSCAN);
    if (this.dirty || this.renderedRows !== this.rows) {
      this.rendered.clear();
      this.layer.replaceChildren();
      this.dirty = false;
      this.renderedRows = this.rows;
    }
    if (!this.rows.length) {
      this.layer.replaceChildren(h("div", { class: "vt-empty", role: "row" }, h("span", { role: "cell" }, this.opts.emptyText ?? "Nothing to show")));
      return;
    }
    for (const [i, el] of this.rendered) {
      if (i < first || i >= last) {
        el.remove();
        this.rendered.delete(i);
      }
    }
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      if (this.rendered.has(i)) continue;
      const row = this.renderRow(this.rows[i], i);
      row.style.transform = `translateY(${i * rh}px)`;
      this.rendered.set(i, row);
      frag.appendChild(row);
    }
    this.layer.appendChild(frag);
    if (last >= this.rows.length - OVERSCAN * 4) this.opts.onNearEnd?.();
  }

  private renderRow(row: T, index: number): HTMLElement {
    const selected = this.selected.has(row.id);
    const el = h("div", {
      class: ["vt-row", selected ? "selected" : "", this.opts.rowClass?.(row) ?? ""],
      role: "row",
      dataset: { id: row.id, index },
      style: { height: `${this.rowHeight}px` },
    });
    if (this.opts.selectable) {
      const box = h("input", { type: "checkbox", checked: selected, "aria-label": "Select row" });
      box.addEventListener("click", (ev) => {
        const ids = this.rows;
        if (ev.shiftKey && this.lastClicked !== null) {
          const [a, b] = [Math.min(this.lastClicked, index), Math.max(this.lastClicked, index)];
          for (let i = a; i <= b; i++) {
            if (box.checked) this.selected.add(ids[i].id);
            else this.selected.delete(ids[i].id);
          }
        } else if (box.checked) this.selected.add(row.id);
        else this.selected.delete(row.id);
        this.lastClicked = index;
        this.opts.onSelection?.(this.selected);
        this.renderHead();
        this.renderRows();
      });
      el.appendChild(h("div", { class: "vt-cell vt-check", role: "cell" }, box));
    }
    for (const c of this.columns) {
      el.appendChild(h("div", { class: ["vt-cell", c.align === "right" ? "right" : ""], role: "cell" }, c.render(row)));
    }
    return el;
  }
}
