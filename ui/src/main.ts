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

async function main(): Promise<void> {
  applyTheme(currentTheme());
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
  await loadSession();
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
}

void main();
