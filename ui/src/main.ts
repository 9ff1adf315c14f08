// The hf_mltrack web UI: an app shell with hash routes. Loaded as a module from static/app.js.

import { h, icon } from "./dom";
import { href, route, start } from "./router";
import { loadSession, session } from "./session";
import { empty, pageHeader } from "./components/widgets";
import { comparePage } from "./pages/compare";
import { experimentPage } from "./pages/experiment";
import { experimentsPage } from "./pages/experiments";
import { modelPage, modelsPage } from "./pages/models";
import { runPage } from "./pages/run";
import { tracesPage } from "./pages/traces";

type Theme = "light" | "dark" | "auto";

function applyTheme(theme: Theme): void {
  const dark = theme === "dark" || (theme === "auto" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

function currentTheme(): Theme {
  const t = localStorage.getItem("hf_mltrack.theme");
  return t === "light" || t === "dark" ? t : "auto";
}

const SHORTCUTS: [string[], string][] = [
  [["/"], "Focus the page's filter or search box"],
  [["?"], "Show these shortcuts"],
  [["↑", "↓"], "Move through filter suggestions"],
  [["Enter"], "Run the filter, or take the chosen suggestion"],
  [["Esc"], "Close a suggestion list, a popover or a dialog"],
];

function showShortcuts(): void {
  if (document.querySelector("dialog[data-testid=shortcuts]")) return;
  const close = h("button", { type: "button", class: "btn btn-primary", onclick: () => dialog.close() }, "Close");
  const dialog = h(
    "dialog",
    { class: "dialog", "data-testid": "shortcuts", "aria-labelledby": "shortcuts-title" },
    h("h3", { id: "shortcuts-title" }, "Keyboard shortcuts"),
    h(
      "table",
      { class: "table kv-table" },
      h("tbody", null, SHORTCUTS.map(([keys, what]) => h("tr", null, h("td", null, keys.map((k, i) => [i ? " " : "", h("kbd", null, k)])), h("td", null, what)))),
    ),
    h("div", { class: "dialog-actions" }, close),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
  close.focus();
}

/** `/` focuses the filter, `?` lists the shortcuts (not while typing in a field or a dialog is open). */
function onShortcut(e: KeyboardEvent): void {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target as HTMLElement | null;
  if (target?.closest("input, textarea, select, [contenteditable='true']") || document.querySelector("dialog[open]")) return;
  if (e.key === "/") {
    const box = [...document.querySelectorAll<HTMLInputElement>("[data-shortcut=filter]")].find((el) => el.offsetParent !== null);
    if (!box) return;
    e.preventDefault();
    box.focus();
    box.select();
  } else if (e.key === "?") {
    e.preventDefault();
    showShortcuts();
  }
}

async function main(): Promise<void> {
  document.addEventListener("keydown", onShortcut);
  const app = document.getElementById("app")!;
  app.replaceChildren();
  const nav = h(
    "nav",
    { class: "nav" },
    h("a", { href: href("/"), dataset: { section: "experiments" } }, icon("flask"), h("span", { class: "nav-label" }, "Experiments")),
    h("a", { href: href("/models"), dataset: { section: "models" } }, icon("model"), h("span", { class: "nav-label" }, "Models")),
    h("a", { href: href("/traces"), dataset: { section: "traces" } }, icon("trace"), h("span", { class: "nav-label" }, "Traces")),
  );
  const user = h("span", { class: "user", "data-testid": "current-user" });
  const themeBtn = h(
    "button",
    {
      type: "button",
      class: "icon-btn",
      title: "Toggle dark mode",
      onclick: () => {
        const next: Theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
        localStorage.setItem("hf_mltrack.theme", next);
        applyTheme(next);
        window.dispatchEvent(new HashChangeEvent("hashchange")); // redraw canvases with the new colours
      },
    },
    icon("moon"),
  );
  const main = h("main", { class: "main", id: "main" });
  app.append(
    h("header", { class: "topbar" }, h("a", { class: "brand", href: href("/"), "aria-label": "hf_mltrack home" }, h("span", { class: "logo" }), h("span", { class: "brand-name" }, "hf_mltrack")), nav, h("div", { class: "spacer" }), user, themeBtn),
    main,
  );
  const asked = loadSession();
  // The first read of localStorage loads the origin's storage from the browser process (tens of ms
  // on a busy machine): done after the page has sent its first requests, in the same task (nothing is
  // painted before it), unless the session is asked of the server first (then before that wait).
  const themeFirst = !session.loaded;
  if (themeFirst) applyTheme(currentTheme());
  await asked;
  if (session.user) user.textContent = session.user.username;

  route("/", "experiments", experimentsPage);
  route("/experiments", "experiments", experimentsPage);
  route("/experiments/:id", "experiments", experimentPage);
  route("/runs/:id", "experiments", runPage);
  route("/compare", "experiments", comparePage);
  route("/models", "models", modelsPage);
  route("/models/:name", "models", modelPage);
  route("/traces", "traces", tracesPage);
  start(
    main,
    (section) => {
      for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.section === section);
    },
    (root) => {
      root.append(pageHeader("Not found"), empty("No page at this address.", h("a", { href: href("/") }, "Go to the experiments")));
    },
  );
  if (!themeFirst) applyTheme(currentTheme());
}

void main();
