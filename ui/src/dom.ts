// Safe DOM building. Every user string becomes a Text node or an attribute value set through the DOM
// API; nothing here ever assigns innerHTML. URLs go through `safeUrl`, so `javascript:` and `data:`
// values never become links.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, unknown>;

const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href"]);
const FORBIDDEN_ATTRS = new Set(["srcdoc", "innerhtml", "outerhtml"]);
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const PROPS = new Set(["value", "checked", "disabled", "selected", "indeterminate", "readOnly", "hidden"]);

/** The URL if it is http(s), mailto or relative to this page; otherwise `null`. */
export function safeUrl(url: unknown): string | null {
  if (typeof url !== "string") return null;
  const trimmed = url.trim();
  if (!trimmed) return null;
  if (trimmed.startsWith("#")) return trimmed; // a place in this page (the app's own links): no parse
  try {
    const parsed = new URL(trimmed, window.location.href);
    return SAFE_PROTOCOLS.has(parsed.protocol) ? trimmed : null;
  } catch {
    return null;
  }
}

/** Whether the URL points outside this origin (such links open in a new tab, without a referrer). */
export function isExternal(url: string): boolean {
  try {
    return new URL(url, window.location.href).origin !== window.location.origin;
  } catch {
    return true;
  }
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, ...child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

function setAttr(el: Element, key: string, value: unknown): void {
  if (value === null || value === undefined || value === false) return;
  const lower = key.toLowerCase();
  if (FORBIDDEN_ATTRS.has(lower)) throw new Error(`refusing to set ${key}`);
  if (key === "class") {
    el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value));
  } else if (key === "style" && typeof value === "object") {
    Object.assign((el as HTMLElement).style, value);
  } else if (key === "dataset" && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined && v !== null) (el as HTMLElement).dataset[k] = String(v);
    }
  } else if (lower.startsWith("on")) {
    if (typeof value !== "function") throw new Error(`event handler ${key} must be a function`);
    el.addEventListener(lower.slice(2), value as EventListener);
  } else if (URL_ATTRS.has(lower)) {
    const url = safeUrl(value);
    if (url !== null) el.setAttribute(key, url);
  } else if (PROPS.has(key)) {
    (el as unknown as Record<string, unknown>)[key] = value;
  } else {
    el.setAttribute(key, value === true ? "" : String(value));
  }
}

/** `h("a", {href: "#/x", class: "link"}, "text", child)`: an element with text-only string children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) setAttr(el, k, v);
  append(el, ...children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Element[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

/** A link; unsafe URLs render as plain text. External links open in a new tab with rel=noopener. */
export function link(url: string, ...children: Child[]): HTMLElement {
  const safe = safeUrl(url);
  if (safe === null) return h("span", { class: "unsafe-link", title: "link not shown: unsafe URL" }, ...children);
  if (isExternal(safe)) {
    return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer nofollow" }, ...children);
  }
  return h("a", { href: safe }, ...children);
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, ...children);
}

/** Small inline icons (stroke paths in a 24x24 box). */
const ICONS: Record<string, string> = {
  search: "M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zm10 2-4.35-4.35",
  plus: "M12 5v14M5 12h14",
  trash: "M3 6h18M8 6V4h8v2m-9 0 1 14h8l1-14",
  edit: "M4 20h4L19 9l-4-4L4 16v4z",
  chart: "M3 3v18h18M7 15l4-4 3 3 5-6",
  table: "M3 5h18v14H3zM3 10h18M3 15h18M9 5v14",
  columns: "M4 4h6v16H4zM14 4h6v16h-6z",
  compare: "M8 3v18M16 3v18M3 8h5M16 16h5",
  file: "M6 2h8l4 4v16H6zM14 2v4h4",
  folder: "M3 6h6l2 2h10v11H3z",
  download: "M12 3v12m-5-5 5 5 5-5M4 21h16",
  copy: "M8 8h12v12H8zM4 16V4h12",
  refresh: "M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7",
  x: "M6 6l12 12M18 6 6 18",
  chevron: "M9 6l6 6-6 6",
  model: "M12 2 3 7v10l9 5 9-5V7zM3 7l9 5 9-5M12 12v10",
  flask: "M9 3h6M10 3v6L4 19a2 2 0 0 0 2 3h12a2 2 0 0 0 2-3l-6-10V3",
  trace: "M4 6h10M8 12h12M6 18h8",
  moon: "M20 14A8 8 0 0 1 10 4a8 8 0 1 0 10 10z",
  reset: "M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5",
  expand: "M4 10V4h6M20 14v6h-6M4 4l6 6M20 20l-6-6",
  up: "M12 19V5m-6 6 6-6 6 6",
  down: "M12 5v14m-6-6 6 6 6-6",
  grip: "M9 6h.01M15 6h.01M9 12h.01M15 12h.01M9 18h.01M15 18h.01",
};

export function icon(name: string, size = 16): SVGElement {
  return svg(
    "svg",
    {
      viewBox: "0 0 24 24",
      width: size,
      height: size,
      fill: "none",
      stroke: "currentColor",
      "stroke-width": 2,
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
      class: "icon",
      "aria-hidden": "true",
    },
    svg("path", { d: ICONS[name] ?? "" }),
  );
}

/** Save `blob` as a file named `filename` (a `blob:` URL of this page, never a link a user string sets). */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url; // created here from our own Blob: not user input, so not through safeUrl
  a.download = filename;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
