// Hash routing (#/experiments/1, #/runs/abc?tab=charts): the server only ever serves `/`.

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  signal: AbortSignal;
  /** Register a function run when the page is left (charts, timers, observers). */
  onCleanup(fn: () => void): void;
}

export type Page = (root: HTMLElement, ctx: PageContext) => void | Promise<void>;

interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
  section: string;
}

const routes: Route[] = [];

export function route(path: string, section: string, page: Page): void {
  const names: string[] = [];
  const pattern = new RegExp(
    "^" + path.replace(/:(\w+)/g, (_, name: string) => (names.push(name), "([^/]+)")) + "/?$",
  );
  routes.push({ pattern, names, page, section });
}

export function href(path: string, query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

export function navigate(path: string, query: Record<string, string | undefined> = {}): void {
  window.location.hash = href(path, query).slice(1);
}

/** Change the query of the current route without re-rendering the page. */
export function replaceQuery(query: Record<string, string | undefined>): void {
  const [path] = (window.location.hash.slice(1) || "/").split("?");
  const next = new URL(href(path, query), window.location.href).href;
  // the same address again is no change (a replaceState is a navigation: the browser reloads the icon)
  if (next !== window.location.href) history.replaceState(null, "", next);
}

let cleanups: (() => void)[] = [];
let controller: AbortController | null = null;

export function start(root: HTMLElement, onSection: (section: string) => void, notFound: Page): void {
  const render = async () => {
    for (const fn of cleanups.splice(0)) {
      try {
        fn();
      } catch (err) {
        console.warn(err);
      }
    }
    controller?.abort();
    controller = new AbortController();
    const [rawPath, rawQuery] = (window.location.hash.slice(1) || "/").split("?");
    const path = rawPath || "/";
    const query = new URLSearchParams(rawQuery ?? "");
    let page = notFound;
    const params: Record<string, string> = {};
    let section = "";
    for (const r of routes) {
      const m = r.pattern.exec(path);
      if (m) {
        r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
        page = r.page;
        section = r.section;
        break;
      }
    }
    onSection(section);
    while (root.firstChild) root.removeChild(root.firstChild);
    const shown = page(root, { params, query, signal: controller.signal, onCleanup: (fn) => cleanups.push(fn) });
    // after the page has sent its first requests: scrolling lays the page out, which takes a while
    window.scrollTo(0, 0);
    await shown;
  };
  window.addEventListener("hashchange", () => void render());
  void render();
}
