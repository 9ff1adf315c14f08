// Generations across checkpoints: the tables `hf_mltrack.log_generations` writes under
// `generations/step-<step>.json`, as prompts x steps for a run, and one prompt across runs, with a
// word-level diff between two outputs.

import * as api from "../api";
import { h, replace } from "../dom";
import { fmtNum } from "../format";
import { empty, errorBox, loading } from "./widgets";

export interface Generation {
  prompt: string;
  output: string;
  step: number;
  metrics: Record<string, number>;
}

/** Every generation a run logged, by step (ascending). */
export async function loadGenerations(run: api.Run): Promise<Generation[]> {
  const { files } = await api.listArtifacts(run.id, "generations");
  const tables = files.filter((f) => !f.is_dir && /\.json$/.test(f.path));
  const out: Generation[] = [];
  await Promise.all(
    tables.map(async (f) => {
      const path = f.path.startsWith("generations/") ? f.path : `generations/${f.path}`;
      const resp = await fetch(api.artifactUrl(run, path), { credentials: "same-origin" });
      if (!resp.ok) throw new api.ApiError(resp.status, `HTTP_${resp.status}`, `Cannot read ${path}: ${resp.status}`);
      const t = (await resp.json()) as { columns?: string[]; data?: unknown[][] };
      const cols = t.columns ?? [];
      const ix = (name: string) => cols.indexOf(name);
      for (const row of t.data ?? []) {
        const metrics: Record<string, number> = {};
        cols.forEach((c, i) => {
          if (!["prompt", "output", "step"].includes(c) && typeof row[i] === "number") metrics[c] = row[i] as number;
        });
        out.push({ prompt: String(row[ix("prompt")] ?? ""), output: String(row[ix("output")] ?? ""), step: Number(row[ix("step")] ?? 0), metrics });
      }
    }),
  );
  return out.sort((a, b) => a.step - b.step);
}

/** Word-level diff of `a` -> `b`: [op, text] with op "=", "-" (only in a) or "+" (only in b). */
export function wordDiff(a: string, b: string): ["=" | "-" | "+", string][] {
  const ta = a.split(/(\s+)/).filter((t) => t !== "");
  const tb = b.split(/(\s+)/).filter((t) => t !== "");
  if (ta.length * tb.length > 4_000_000) return [["-", a], ["+", b]]; // too long to align: whole texts
  const n = ta.length;
  const m = tb.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = ta[i] === tb[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: ["=" | "-" | "+", string][] = [];
  const push = (op: "=" | "-" | "+", t: string) => {
    const last = out[out.length - 1];
    if (last && last[0] === op) last[1] += t;
    else out.push([op, t]);
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (ta[i] === tb[j]) {
      push("=", ta[i]);
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) push("-", ta[i++]);
    else push("+", tb[j++]);
  }
  while (i < n) push("-", ta[i++]);
  while (j < m) push("+", tb[j++]);
  return out;
}

export function diffView(before: string, after: string): HTMLElement {
  return h(
    "div",
    { class: "gen-text diff", "data-testid": "word-diff" },
    wordDiff(before, after).map(([op, t]) => (op === "=" ? t : h(op === "+" ? "ins" : "del", null, t))),
  );
}

function metricLine(g: Generation | undefined): string {
  if (!g) return "";
  return Object.entries(g.metrics)
    .filter(([k]) => /loss|acc|perplexity|score/i.test(k))
    .slice(0, 2)
    .map(([k, v]) => `${k} ${fmtNum(v)}`)
    .join(" · ");
}

/** A run's generations: one row per prompt, one column per step; optionally each cell diffed with the previous step. */
export function runGenerations(run: api.Run): HTMLElement {
  const body = h("div", { class: "generations", "data-testid": "generations" }, loading());
  void (async () => {
    try {
      const gens = await loadGenerations(run);
      if (!gens.length) {
        replace(body, empty("No generations logged.", h("p", { class: "muted" }, "Pass log_generations=[prompts] to MlTrackCallback, or call hf_mltrack.log_generations(prompts, outputs, step).")));
        return;
      }
      const steps = [...new Set(gens.map((g) => g.step))].sort((a, b) => a - b);
      const prompts = [...new Set(gens.map((g) => g.prompt))];
      const at = new Map(gens.map((g) => [`${g.step}\u0000${g.prompt}`, g]));
      const diff = h("input", { type: "checkbox", "data-testid": "diff-previous" });
      const table = h("div", { class: "gen-scroll" });
      const render = () => {
        replace(
          table,
          h(
            "table",
            { class: "table gen-table", "data-testid": "generations-table" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                h("th", { scope: "col" }, "Prompt"),
                steps.map((s) => h("th", { scope: "col", dataset: { step: s } }, `step ${fmtNum(s)}`, h("div", { class: "muted small" }, metricLine(gens.find((g) => g.step === s))))),
              ),
            ),
            h(
              "tbody",
              null,
              prompts.map((p) =>
                h(
                  "tr",
                  null,
                  h("th", { scope: "row", class: "gen-prompt" }, p),
                  steps.map((s, i) => {
                    const g = at.get(`${s}\u0000${p}`);
                    const prev = i > 0 ? at.get(`${steps[i - 1]}\u0000${p}`) : undefined;
                    if (!g) return h("td", { class: "muted" }, "—");
                    return h("td", { dataset: { step: s } }, diff.checked && prev ? diffView(prev.output, g.output) : h("div", { class: "gen-text" }, g.output));
                  }),
                ),
              ),
            ),
          ),
        );
      };
      diff.addEventListener("change", render);
      render();
      replace(body, h("div", { class: "sweep-bar" }, h("span", { class: "muted" }, `${prompts.length} prompts × ${steps.length} steps`), h("label", null, diff, " Word diff with the previous step")), table);
    } catch (err) {
      replace(body, errorBox(err));
    }
  })();
  return body;
}

/** One prompt across runs at a chosen step (latest by default), each diffed with the first run. */
export function compareGenerations(runs: api.Run[], colorOf: (id: string) => string): HTMLElement {
  const body = h("div", { class: "generations", "data-testid": "compare-generations" }, loading());
  void (async () => {
    try {
      const all = await Promise.all(runs.map(async (r) => [r, await loadGenerations(r)] as [api.Run, Generation[]]));
      const withGens = all.filter(([, g]) => g.length);
      if (!withGens.length) {
        replace(body, empty("None of these runs logged generations."));
        return;
      }
      const prompts = [...new Set(withGens.flatMap(([, g]) => g.map((x) => x.prompt)))];
      const steps = [...new Set(withGens.flatMap(([, g]) => g.map((x) => x.step)))].sort((a, b) => a - b);
      const promptSel = h("select", { class: "input input-sm", "aria-label": "Prompt", "data-testid": "gen-prompt" }, prompts.map((p) => h("option", { value: p }, p.length > 80 ? `${p.slice(0, 80)}…` : p)));
      const stepSel = h("select", { class: "input input-sm", "aria-label": "Step", "data-testid": "gen-step" }, h("option", { value: "" }, "Latest step of each run"), steps.map((s) => h("option", { value: String(s) }, `step ${fmtNum(s)}`)));
      const diff = h("input", { type: "checkbox", checked: true, "data-testid": "diff-first" });
      const cards = h("div", { class: "gen-cards" });
      const render = () => {
        const pick = (gens: Generation[]) => {
          const mine = gens.filter((g) => g.prompt === promptSel.value && (!stepSel.value || g.step === Number(stepSel.value)));
          return mine[mine.length - 1];
        };
        const chosen = withGens.map(([r, g]) => [r, pick(g)] as [api.Run, Generation | undefined]);
        const base = chosen.find(([, g]) => g)?.[1];
        replace(
          cards,
          chosen.map(([r, g], i) =>
            h(
              "section",
              { class: "card gen-card", dataset: { run: r.id } },
              h("h4", null, h("span", { class: "swatch", style: { background: colorOf(r.id) } }), ` ${r.name}`, g ? h("span", { class: "muted small" }, ` · step ${fmtNum(g.step)} ${metricLine(g) ? `· ${metricLine(g)}` : ""}`) : null),
              g ? (diff.checked && i > 0 && base && g !== base ? diffView(base.output, g.output) : h("div", { class: "gen-text" }, g.output)) : h("p", { class: "muted" }, "No output for this prompt and step."),
            ),
          ),
        );
      };
      for (const el of [promptSel, stepSel, diff]) el.addEventListener("change", render);
      render();
      replace(body, h("div", { class: "sweep-bar" }, h("label", null, "Prompt ", promptSel), h("label", null, "Step ", stepSel), h("label", null, diff, " Word diff with the first run")), cards);
    } catch (err) {
      replace(body, errorBox(err));
    }
  })();
  return body;
}

/** Image series logged with a step (`log_image(img, key=..., step=...)` -> images/<key>/step_<n>.png): a slider per key. */
export function imageSeries(run: api.Run): HTMLElement {
  const body = h("div", { class: "image-series", "data-testid": "image-series" });
  void (async () => {
    try {
      const { files } = await api.listArtifacts(run.id, "images");
      const keys = files.filter((f) => f.is_dir).map((f) => (f.path.startsWith("images/") ? f.path : `images/${f.path}`));
      for (const dir of keys) {
        const listing = await api.listArtifacts(run.id, dir);
        const steps = listing.files
          .map((f) => /step_(\d+)\.png$/.exec(f.path))
          .filter((m): m is RegExpExecArray => !!m)
          .map((m) => Number(m[1]))
          .sort((a, b) => a - b);
        if (!steps.length) continue;
        const key = dir.slice("images/".length);
        const img = h("img", { alt: `${key} at step ${steps[steps.length - 1]}`, "data-testid": "series-image" });
        const label = h("output", { class: "mono" });
        const slider = h("input", { type: "range", min: 0, max: steps.length - 1, step: 1, value: String(steps.length - 1), "aria-label": `${key}: step`, "data-testid": "step-slider" });
        const show = () => {
          const step = steps[Number(slider.value)];
          img.setAttribute("src", api.artifactUrl(run, `${dir}/step_${step}.png`));
          img.setAttribute("alt", `${key} at step ${step}`);
          label.textContent = `step ${fmtNum(step)}`;
          slider.setAttribute("aria-valuetext", `step ${step}`);
        };
        slider.addEventListener("input", show);
        show();
        body.appendChild(h("section", { class: "card", dataset: { key } }, h("div", { class: "sweep-bar" }, h("b", null, key), slider, label, h("span", { class: "muted" }, `${steps.length} steps`)), h("div", { class: "preview-image" }, img)));
      }
    } catch (err) {
      if (!(err instanceof api.ApiError && err.status === 404)) body.appendChild(errorBox(err));
    }
  })();
  return body;
}
