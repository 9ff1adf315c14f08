// Experiments: search, create, rename, delete and restore.

import * as api from "../api";
import { h, replace } from "../dom";
import { fmtAgo, fmtTime } from "../format";
import { href, navigate, replaceQuery, type PageContext } from "../router";
import { canExperiment, session } from "../session";
import { attempt, button, confirmDialog, empty, errorBox, formDialog, loading, pageHeader, tagChip } from "../components/widgets";

function likeFilter(text: string): string {
  const escaped = text.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/%/g, "\\%").replace(/_/g, "\\_");
  return `name ILIKE '%${escaped}%'`;
}

export async function experimentsPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const search = h("input", {
    type: "search",
    "data-shortcut": "filter",
    class: "input",
    placeholder: "Search experiments by name…",
    value: ctx.query.get("q") ?? "",
    "aria-label": "Search experiments",
    "data-testid": "experiment-search",
  });
  const view = h(
    "select",
    { class: "input", "aria-label": "Lifecycle", "data-testid": "experiment-view" },
    h("option", { value: "ACTIVE_ONLY" }, "Active"),
    h("option", { value: "DELETED_ONLY" }, "Deleted"),
    h("option", { value: "ALL" }, "All"),
  );
  view.value = ctx.query.get("view") ?? "ACTIVE_ONLY";
  const list = h("div", { class: "exp-list" }, loading());
  const create = button(
    "New experiment",
    async () => {
      const r = await formDialog({
        title: "Create experiment",
        fields: [{ name: "name", label: "Name", required: true, placeholder: "e.g. llama2-lora-sft" }],
        submit: "Create",
      });
      if (!r) return;
      let id = "";
      if (await attempt(async () => (id = await api.createExperiment(r.name.trim())), `Created ${r.name}`)) {
        navigate(`/experiments/${encodeURIComponent(id)}`);
      }
    },
    { kind: "primary", icon: "plus", testid: "new-experiment" },
  );

  root.append(
    pageHeader("Experiments", {
      actions: [create],
      sub: session.user ? `Signed in as ${session.user.username}${session.user.is_admin ? " (admin)" : ""}` : null,
    }),
    h("div", { class: "toolbar" }, h("div", { class: "search-box" }, search), view),
    list,
  );

  let timer = 0;
  const load = async () => {
    replaceQuery({ q: search.value || undefined, view: view.value !== "ACTIVE_ONLY" ? view.value : undefined });
    try {
      const exps: api.Experiment[] = [];
      let token: string | undefined;
      do {
        const page = await api.searchExperiments({
          filter: search.value.trim() ? likeFilter(search.value.trim()) : undefined,
          viewType: view.value,
          pageToken: token,
          orderBy: ["last_update_time DESC"],
        });
        exps.push(...page.experiments);
        token = page.next_page_token;
      } while (token && exps.length < 10_000);
      if (ctx.signal.aborted) return;
      replace(list, render(exps));
    } catch (err) {
      replace(list, errorBox(err));
    }
  };

  const render = (exps: api.Experiment[]) => {
    if (!exps.length) {
      return empty(search.value ? "No experiment matches." : "No experiments yet.", search.value ? null : h("p", { class: "muted" }, "Create one, or log a run: runs go to the Default experiment."));
    }
    return h(
      "table",
      { class: "table exp-table", "data-testid": "experiments-table" },
      h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "ID"), h("th", null, "Tags"), h("th", null, "Created"), h("th", null, "Last update"), h("th"))),
      h(
        "tbody",
        null,
        exps.map((e) =>
          h(
            "tr",
            { dataset: { experimentId: e.experiment_id }, class: e.lifecycle_stage === "deleted" ? "deleted" : "" },
            h("td", null, h("a", { href: href(`/experiments/${encodeURIComponent(e.experiment_id)}`), class: "exp-name" }, e.name)),
            h("td", { class: "mono muted" }, e.experiment_id),
            h("td", null, h("div", { class: "chips" }, (e.tags ?? []).filter((t) => !api.isSystemTag(t.key)).slice(0, 4).map((t) => tagChip(t.key, t.value)))),
            h("td", { title: fmtTime(e.creation_time) }, fmtAgo(e.creation_time)),
            h("td", { title: fmtTime(e.last_update_time) }, fmtAgo(e.last_update_time)),
            h("td", { class: "actions" }, actions(e)),
          ),
        ),
      ),
    );
  };

  const actions = (e: api.Experiment) => {
    const out: HTMLElement[] = [];
    if (e.lifecycle_stage === "deleted") {
      if (canExperiment(e.experiment_id, "MANAGE")) {
        out.push(button("Restore", async () => (await attempt(() => api.restoreExperiment(e.experiment_id), `Restored ${e.name}`)) && load(), { kind: "sm" }));
      }
      return out;
    }
    if (canExperiment(e.experiment_id, "EDIT")) {
      out.push(
        button(
          "",
          async () => {
            const r = await formDialog({ title: "Rename experiment", fields: [{ name: "name", label: "New name", value: e.name, required: true }], submit: "Rename" });
            if (r && r.name.trim() && r.name !== e.name) {
              if (await attempt(() => api.renameExperiment(e.experiment_id, r.name.trim()), "Renamed")) await load();
            }
          },
          { kind: "ghost", icon: "edit", title: `Rename ${e.name}`, testid: "rename-experiment" },
        ),
      );
    }
    if (canExperiment(e.experiment_id, "MANAGE") && e.experiment_id !== "0") {
      out.push(
        button(
          "",
          async () => {
            if (await confirmDialog("Delete experiment?", ["Experiment ", h("b", null, e.name), " and its runs move to the deleted list; an admin can restore them until garbage collection."])) {
              if (await attempt(() => api.deleteExperiment(e.experiment_id), `Deleted ${e.name}`)) await load();
            }
          },
          { kind: "ghost", icon: "trash", title: `Delete ${e.name}`, testid: "delete-experiment" },
        ),
      );
    }
    return out;
  };

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(load, 200);
  });
  view.addEventListener("change", load);
  ctx.onCleanup(() => clearTimeout(timer));
  await load();
}
