// Live runs: a poller that runs while the tab is visible and stops when nothing is running, and the
// Trainer progress (step of max_steps, epoch, ETA) read from a run's tags and latest metrics.

import * as api from "./api";
import { h } from "./dom";
import { fmtDuration, fmtNum } from "./format";

/** How often a page with running runs looks for new points (the issue asks for < 2 s). */
export const LIVE_INTERVAL_MS = 1000;

/**
 * Calls `tick` every `intervalMs` while the tab is visible (never two at once). Hidden tabs do not
 * poll; showing the tab polls at once. Stops for good when `tick` resolves `false` or on `stop()`.
 */
export class Poller {
  private timer = 0;
  private stopped = false;
  private busy = false;

  constructor(
    private tick: () => Promise<boolean>,
    private intervalMs = LIVE_INTERVAL_MS,
  ) {
    document.addEventListener("visibilitychange", this.onVisibility);
    this.schedule();
  }

  get active(): boolean {
    return !this.stopped;
  }

  private onVisibility = (): void => {
    if (document.visibilityState === "visible") this.schedule(0);
    else window.clearTimeout(this.timer);
  };

  private schedule(delay = this.intervalMs): void {
    if (this.stopped) return;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.run(), delay);
  }

  private async run(): Promise<void> {
    if (this.stopped || this.busy || document.visibilityState !== "visible") return;
    this.busy = true;
    let more = true;
    try {
      more = await this.tick();
    } catch (err) {
      if ((err as Error).name !== "AbortError") console.warn("live update failed", err);
    } finally {
      this.busy = false;
    }
    if (more) this.schedule();
    else this.stop();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}

export const MAX_STEPS_TAG = "hf_mltrack.trainer.max_steps";
export const EPOCHS_TAG = "hf_mltrack.trainer.num_train_epochs";

export interface Progress {
  step: number;
  maxSteps: number;
  epoch?: number;
  epochs?: number;
  /** Milliseconds left, from the pace so far (running runs only). */
  eta?: number;
}

/** The Trainer progress of a run (the callback tags max_steps and num_train_epochs), or null. */
export function progressOf(run: api.Run, now = Date.now()): Progress | null {
  const maxSteps = Number(run.tags.get(MAX_STEPS_TAG));
  if (!Number.isFinite(maxSteps) || maxSteps <= 0) return null;
  let step = 0;
  let at = 0;
  for (const m of run.metrics.values()) {
    if (m.step > step || (m.step === step && m.timestamp > at)) {
      step = m.step;
      at = m.timestamp;
    }
  }
  const epochs = Number(run.tags.get(EPOCHS_TAG));
  const epoch = run.metrics.get("epoch")?.value;
  const p: Progress = { step: Math.min(step, maxSteps), maxSteps, epoch, epochs: Number.isFinite(epochs) && epochs > 0 ? epochs : undefined };
  if (run.status === "RUNNING" && run.start && step > 0 && step < maxSteps) {
    const perStep = (Math.max(at, run.start) - run.start) / step;
    p.eta = Math.max(0, perStep * (maxSteps - step) - Math.max(0, now - Math.max(at, run.start)));
  }
  return p;
}

export function progressText(p: Progress, status: string): string {
  const parts = [`step ${fmtNum(p.step)} / ${fmtNum(p.maxSteps)}`];
  if (p.epoch !== undefined) parts.push(`epoch ${Number(p.epoch.toFixed(2))}${p.epochs ? ` / ${fmtNum(p.epochs)}` : ""}`);
  if (status === "RUNNING" && p.eta !== undefined) parts.push(`ETA ${fmtDuration(p.eta)}`);
  else if (status !== "RUNNING") parts.push(status.toLowerCase());
  return parts.join(" · ");
}

/** A progress bar (role=progressbar) with step / max_steps, epoch and ETA; `null` for non-Trainer runs. */
export function progressBar(run: api.Run, compact = false): HTMLElement | null {
  const p = progressOf(run);
  if (!p) return null;
  const pct = Math.round((p.step / p.maxSteps) * 1000) / 10;
  const text = progressText(p, run.status);
  return h(
    "div",
    {
      class: ["progress", `progress-${run.status.toLowerCase()}`, compact ? "compact" : ""],
      role: "progressbar",
      "aria-label": "Training progress",
      "aria-valuemin": "0",
      "aria-valuemax": String(p.maxSteps),
      "aria-valuenow": String(p.step),
      "aria-valuetext": text,
      title: text,
      "data-testid": "run-progress",
    },
    h("span", { class: "progress-track" }, h("span", { class: "progress-fill", style: { width: `${pct}%` } })),
    h("span", { class: "progress-text" }, compact ? `${pct}%` : text),
  );
}
