// The model registry: models, versions with stage and alias badges, stage transitions (with the
// archive option), the stage history, and editing descriptions, tags and aliases.

import * as api from "../api";
import { versionLineage } from "../components/loggedModels";
import { h, icon, replace, type Child } from "../dom";
import { fmtAgo, fmtTime } from "../format";
import { renderMarkdown } from "../markdown";
import { href, replaceQuery, type PageContext } from "../router";
import { canModel } from "../session";
import {
  aliasBadge,
  attempt,
  button,
  card,
  empty,
  errorBox,
  formDialog,
  kvTable,
  loading,
  pageHeader,
  popover,
  stageBadge,
  tagChip,
} from "../components/widgets";

export const STAGES = ["None", "Staging", "Production", "Archived"];

function likeFilter(text: string): string {
  const escaped = text.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/%/g, "\\%").replace(/_/g, "\\_");
  return `name ILIKE '%${escaped}%'`;
}

function modelHref(name: string): string {
  return href(`/models/${encodeURIComponent(name)}`);
}

export async function modelsPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const search = h("input", {
    type: "search",
    "data-shortcut": "filter",
    class: "input",
    placeholder: "Search registered models…",
    value: ctx.query.get("q") ?? "",
    "aria-label": "Search models",
    "data-testid": "model-search",
  });
  const list = h("div", null, loading());
  root.append(pageHeader("Registered models"), h("div", { class: "toolbar" }, h("div", { class: "search-box" }, icon("search"), search)), list);
  let timer = 0;
  const load = async () => {
    replaceQuery({ q: search.value || undefined });
    try {
      const models: api.RegisteredModel[] = [];
      let token: string | undefined;
      do {
        const page = await api.searchRegisteredModels(search.value.trim() ? likeFilter(search.value.trim()) : undefined, token);
        models.push(...page.models);
        token = page.next;
      } while (token && models.length < 10_000);
      if (ctx.signal.aborted) return;
      replace(list, render(models));
    } catch (err) {
      replace(list, err instanceof api.ApiError && err.status === 404 ? empty("This server has no model registry.") : errorBox(err));
    }
  };
  const render = (models: api.RegisteredModel[]) => {
    if (!models.length) {
      return empty(search.value ? "No model matches." : "No registered models yet.", h("p", { class: "muted" }, "Register one with hf_mltrack.register_model(model_uri, name) or log_model(..., registered_model_name=...)."));
    }
    return h(
      "table",
      { class: "table", "data-testid": "models-table" },
      h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "Latest versions"), h("th", null, "Aliases"), h("th", null, "Tags"), h("th", null, "Updated"))),
      h(
        "tbody",
        null,
        models.map((m) =>
          h(
            "tr",
            { dataset: { model: m.name } },
            h("td", null, h("a", { href: modelHref(m.name), class: "model-name" }, icon("model", 14), " ", m.name), m.description ? h("div", { class: "muted small clamp" }, m.description.slice(0, 140)) : null),
            h(
              "td",
              null,
              h("div", { class: "chips" }, (m.latest_versions ?? []).sort((a, b) => Number(b.version) - Number(a.version)).map((v) => h("span", { class: "ver" }, `v${v.version} `, stageBadge(v.current_stage)))),
            ),
            h("td", null, h("div", { class: "chips" }, (m.aliases ?? []).map((a) => h("span", { class: "ver" }, aliasBadge(a.alias), ` v${a.version}`)))),
            h("td", null, h("div", { class: "chips" }, (m.tags ?? []).slice(0, 3).map((t) => tagChip(t.key, t.value)))),
            h("td", { title: fmtTime(m.last_updated_timestamp) }, fmtAgo(m.last_updated_timestamp)),
          ),
        ),
      ),
    );
  };
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(load, 200);
  });
  ctx.onCleanup(() => clearTimeout(timer));
  await load();
}

/** A dialog for a stage transition; resolves with the archive choice, or null when cancelled. */
async function transitionDialog(name: string, version: string, from: string, to: string): Promise<boolean | null> {
  const archive = h("input", { type: "checkbox", name: "archive", "data-testid": "archive-existing" });
  const body: Child = h(
    "div",
    null,
    h("p", null, "Move ", h("b", null, `${name} v${version}`), " from ", stageBadge(from), " to ", stageBadge(to), "."),
    to === "Staging" || to === "Production" ? h("label", { class: "check" }, archive, ` Archive the versions now in ${to}`) : null,
  );
  const r = await formDialog({ title: "Transition stage", fields: [], submit: `Move to ${to}`, body });
  return r === null ? null : archive.checked;
}

function eventText(e: api.RegistryEvent): Child {
  if (e.event === "stage_transition") return ["v", e.version ?? "?", ": ", stageBadge(e.from ?? "None"), " → ", stageBadge(e.to ?? "None")];
  if (e.event === "alias_set") return [aliasBadge(e.alias ?? ""), ` → v${e.to ?? e.version ?? "?"}`, e.from ? ` (was v${e.from})` : ""];
  if (e.event === "alias_deleted") return [aliasBadge(e.alias ?? ""), " removed", e.from ? ` (was v${e.from})` : ""];
  return [e.event];
}

export async function modelPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const name = ctx.params.name;
  root.append(loading());
  let model: api.RegisteredModel;
  let versions: api.ModelVersion[];
  try {
    [model, versions] = await Promise.all([api.getRegisteredModel(name), api.searchModelVersions(name)]);
  } catch (err) {
    replace(root, errorBox(err));
    return;
  }
  root.replaceChildren();
  const canEdit = canModel(name, "EDIT");
  const reload = () => {
    root.replaceChildren();
    void modelPage(root, ctx);
  };

  // ---- description ----
  const desc = h("div", { class: "description", "data-testid": "model-description" }, model.description ? renderMarkdown(model.description) : h("p", { class: "muted" }, "No description."));
  const editDesc = canEdit
    ? button("Edit", async () => {
        const r = await formDialog({ title: "Model description (Markdown)", fields: [{ name: "text", label: "Description", value: model.description ?? "", multiline: true }], submit: "Save" });
        if (r && (await attempt(() => api.updateRegisteredModel(name, r.text), "Description saved"))) {
          model.description = r.text;
          replace(desc, r.text ? renderMarkdown(r.text) : h("p", { class: "muted" }, "No description."));
        }
      }, { kind: "ghost", icon: "edit", testid: "edit-model-description" })
    : null;

  // ---- tags ----
  const tagRows = (model.tags ?? []).map((t) => [t.key, t.value] as [string, string]);
  const tagsBody = h("div");
  const renderTags = () =>
    replace(
      tagsBody,
      kvTable(tagRows, {
        emptyText: "No tags.",
        actions: canEdit
          ? (key) =>
              h("button", {
                type: "button",
                class: "icon-btn",
                title: `Delete tag ${key}`,
                onclick: async () => {
                  if (await attempt(() => api.deleteModelTag(name, key), "Tag deleted")) {
                    tagRows.splice(tagRows.findIndex(([k]) => k === key), 1);
                    renderTags();
                  }
                },
              }, icon("x", 12))
          : undefined,
      }),
    );
  renderTags();
  const addTag = canEdit
    ? button("Add", async () => {
        const r = await formDialog({ title: "Set model tag", fields: [{ name: "key", label: "Key", required: true }, { name: "value", label: "Value" }], submit: "Save" });
        if (r && r.key.trim() && (await attempt(() => api.setModelTag(name, r.key.trim(), r.value), "Tag saved"))) {
          const i = tagRows.findIndex(([k]) => k === r.key.trim());
          if (i >= 0) tagRows[i] = [r.key.trim(), r.value];
          else tagRows.push([r.key.trim(), r.value]);
          renderTags();
        }
      }, { kind: "ghost", icon: "plus" })
    : null;

  // ---- aliases ----
  const aliases = h(
    "div",
    { class: "chips", "data-testid": "model-aliases" },
    (model.aliases ?? []).length
      ? (model.aliases ?? []).map((a) =>
          h(
            "span",
            { class: "ver" },
            aliasBadge(a.alias),
            ` v${a.version}`,
            canEdit
              ? h("button", { type: "button", class: "icon-btn", title: `Remove alias ${a.alias}`, onclick: async () => (await attempt(() => api.deleteAlias(name, a.alias), "Alias removed")) && reload() }, icon("x", 12))
              : null,
          ),
        )
      : h("span", { class: "muted" }, "No aliases."),
  );
  const addAlias = canEdit
    ? button("Set alias", async () => {
        const r = await formDialog({ title: "Set alias", fields: [{ name: "alias", label: "Alias", required: true, placeholder: "champion" }, { name: "version", label: "Version", required: true, value: versions[0]?.version ?? "" }], submit: "Save" });
        if (r && (await attempt(() => api.setAlias(name, r.alias.trim(), r.version.trim()), "Alias set"))) reload();
      }, { kind: "ghost", icon: "plus", testid: "set-alias" })
    : null;

  // ---- versions ----
  const transitionMenu = (v: api.ModelVersion, anchor: HTMLElement) => {
    const current = v.current_stage || "None";
    const menu = h("div", { class: "menu", "data-testid": "transition-menu" });
    const close = popover(anchor, menu);
    for (const stage of STAGES.filter((s) => s !== current)) {
      menu.appendChild(
        h("button", {
          type: "button",
          class: "menu-item",
          dataset: { stage },
          onclick: async () => {
            close();
            const archive = await transitionDialog(name, v.version, current, stage);
            if (archive === null) return;
            if (await attempt(() => api.transitionStage(name, v.version, stage, archive), `${name} v${v.version} → ${stage}`)) reload();
          },
        }, "→ ", stageBadge(stage)),
      );
    }
  };
  const versionRow = (v: api.ModelVersion) => {
    const details = h("tr", { class: "version-details", hidden: true }, h("td", { colspan: 7 }, ""));
    let built = false;
    const toggle = () => {
      details.hidden = !details.hidden;
      if (!built) {
        built = true;
        replace(details.firstElementChild!, versionDetails(v));
      }
    };
    const transition: HTMLButtonElement | null = canEdit
      ? h("button", { type: "button", class: "btn btn-sm", "data-testid": `transition-${v.version}`, onclick: (e: MouseEvent) => transitionMenu(v, e.currentTarget as HTMLElement) }, "Transition ▾")
      : null;
    return [
      h(
        "tr",
        { dataset: { version: v.version } },
        h("td", null, h("button", { type: "button", class: "link-btn", onclick: toggle, title: "Details" }, `Version ${v.version}`)),
        h("td", { "data-testid": `stage-${v.version}` }, stageBadge(v.current_stage)),
        h("td", null, h("div", { class: "chips" }, (v.aliases ?? []).map(aliasBadge))),
        h("td", { title: fmtTime(v.creation_timestamp) }, fmtAgo(v.creation_timestamp)),
        h("td", null, v.run_id ? h("a", { href: href(`/runs/${encodeURIComponent(v.run_id)}`), class: "mono" }, v.run_id.slice(0, 10)) : h("span", { class: "mono small", title: v.source ?? "" }, v.source ?? "")),
        h("td", { class: "muted clamp" }, v.description ?? ""),
        h("td", { class: "actions" }, transition),
      ),
      details,
    ];
  };
  const versionDetails = (v: api.ModelVersion) => {
    const d = h("div", { class: "description" }, v.description ? renderMarkdown(v.description) : h("p", { class: "muted" }, "No description."));
    const edit = canEdit
      ? button("Edit description", async () => {
          const r = await formDialog({ title: `v${v.version} description (Markdown)`, fields: [{ name: "text", label: "Description", value: v.description ?? "", multiline: true }], submit: "Save" });
          if (r && (await attempt(() => api.updateModelVersion(name, v.version, r.text), "Saved"))) {
            v.description = r.text;
            replace(d, r.text ? renderMarkdown(r.text) : h("p", { class: "muted" }, "No description."));
          }
        }, { kind: "ghost", icon: "edit" })
      : null;
    const vtags = (v.tags ?? []).map((t) => [t.key, t.value] as [string, string]);
    const tagBox = h("div");
    const renderVTags = () =>
      replace(
        tagBox,
        kvTable(vtags, {
          emptyText: "No tags.",
          actions: canEdit
            ? (key) =>
                h("button", { type: "button", class: "icon-btn", title: `Delete tag ${key}`, onclick: async () => {
                  if (await attempt(() => api.deleteVersionTag(name, v.version, key), "Tag deleted")) {
                    vtags.splice(vtags.findIndex(([k]) => k === key), 1);
                    renderVTags();
                  }
                } }, icon("x", 12))
            : undefined,
        }),
      );
    renderVTags();
    const addVTag = canEdit
      ? button("Add tag", async () => {
          const r = await formDialog({ title: `Tag v${v.version}`, fields: [{ name: "key", label: "Key", required: true }, { name: "value", label: "Value" }], submit: "Save" });
          if (r && r.key.trim() && (await attempt(() => api.setVersionTag(name, v.version, r.key.trim(), r.value), "Tag saved"))) {
            vtags.push([r.key.trim(), r.value]);
            renderVTags();
          }
        }, { kind: "ghost", icon: "plus" })
      : null;
    return h(
      "div",
      { class: "two-col" },
      h(
        "div",
        null,
        h("div", { class: "card-title-row" }, h("b", null, "Lineage")),
        versionLineage(v),
        h("div", { class: "card-title-row" }, h("b", null, "Description"), edit),
        d,
        h("p", { class: "mono small muted" }, `source: ${v.source ?? ""}`),
      ),
      h("div", null, h("div", { class: "card-title-row" }, h("b", null, "Tags"), addVTag), tagBox),
    );
  };

  const historyHost = h("div", { "data-testid": "stage-history" }, loading());
  void api
    .registryHistory(name)
    .then((events) => {
      if (events === null) return replace(historyHost, h("p", { class: "muted" }, "This server does not record stage history."));
      if (!events.length) return replace(historyHost, h("p", { class: "muted" }, "No stage transitions or alias changes yet."));
      replace(
        historyHost,
        h(
          "ol",
          { class: "timeline" },
          [...events].reverse().map((e) => h("li", null, h("span", { class: "when", title: fmtTime(e.timestamp) }, fmtAgo(e.timestamp)), h("span", { class: "what" }, eventText(e)), e.user_id ? h("span", { class: "who muted" }, `by ${e.user_id}`) : null)),
        ),
      );
    })
    .catch((err) => replace(historyHost, errorBox(err)));

  root.append(
    pageHeader([icon("model", 22), " ", name], {
      crumbs: [h("a", { href: href("/models") }, "Models"), h("span", null, name)],
      sub: [`Created ${fmtTime(model.creation_timestamp)}`, " · ", `updated ${fmtAgo(model.last_updated_timestamp)}`],
    }),
    h(
      "div",
      { class: "two-col" },
      card(h("span", { class: "card-title-row" }, "Description", editDesc), desc),
      h("div", null, card(h("span", { class: "card-title-row" }, "Aliases", addAlias), aliases), card(h("span", { class: "card-title-row" }, "Tags", addTag), tagsBody)),
    ),
    card(
      `Versions (${versions.length})`,
      versions.length
        ? h(
            "table",
            { class: "table versions-table", "data-testid": "versions-table" },
            h("thead", null, h("tr", null, h("th", null, "Version"), h("th", null, "Stage"), h("th", null, "Aliases"), h("th", null, "Registered"), h("th", null, "Source run"), h("th", null, "Description"), h("th"))),
            h("tbody", null, versions.map(versionRow)),
          )
        : empty("No versions."),
    ),
    card("Stage history", historyHost),
  );
}
