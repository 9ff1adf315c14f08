// Sweeps: runs grouped by a param or tag value, each group drawn as one aggregate line (mean or
// median over its runs, step by step) with a band (min-max, or mean ± one standard deviation).

import type { Series } from "../api";

export type Aggregate = "mean" | "median";
export type Band = "minmax" | "std" | "none";

export interface RunGroup {
  label: string;
  color: string;
  runIds: string[];
}

export interface GroupSeries {
  xs: number[];
  line: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  runs: number;
}

/** Group runs by the value `valueOf` gives them (runs without a value form "(none)"), largest first. */
export function groupRuns<T extends { id: string }>(runs: T[], valueOf: (r: T) => string | undefined, colorOf: (i: number) => string): RunGroup[] {
  const by = new Map<string, string[]>();
  for (const r of runs) {
    const v = valueOf(r) ?? "(none)";
    if (!by.has(v)) by.set(v, []);
    by.get(v)!.push(r.id);
  }
  const keys = [...by.keys()].sort((a, b) => {
    const x = Number(a);
    const y = Number(b);
    return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b, undefined, { numeric: true });
  });
  return keys.map((k, i) => ({ label: k, color: colorOf(i), runIds: by.get(k)! }));
}

/**
 * One group's aggregate series. Steps are binned into at most `maxBins` equal bins (every step is its
 * own bin for shorter series); a run's value in a bin is the mean of its points there, and the bin's
 * line and band are taken across the runs that have a point in it. Runs x bins live in one typed
 * array, so a 50-run group of 1,000 steps each costs a few milliseconds.
 */
export function aggregateGroup(series: Series[], agg: Aggregate, band: Band, maxBins = 2000): GroupSeries {
  const empty: GroupSeries = { xs: [], line: [], lower: [], upper: [], runs: series.length };
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    const n = s.steps.length;
    if (!n) continue;
    if (s.steps[0] < lo) lo = s.steps[0]; // each series is in step order
    if (s.steps[n - 1] > hi) hi = s.steps[n - 1];
  }
  if (!Number.isFinite(lo)) return empty;
  // Every distinct step, when there are at most maxBins of them (most sweeps log the same steps).
  const steps = new Set<number>();
  for (const s of series) {
    for (const step of s.steps) {
      steps.add(step);
      if (steps.size > maxBins) break;
    }
    if (steps.size > maxBins) break;
  }
  const exact = steps.size <= maxBins;
  const sortedSteps = exact ? Float64Array.from(steps).sort() : null;
  const nBins = sortedSteps ? sortedSteps.length : maxBins;
  const width = (hi - lo + 1) / nBins;
  const nRuns = series.length;
  const cells = new Float64Array(nBins * nRuns).fill(NaN); // bin-major: one bin's runs side by side
  series.forEach((s, r) => {
    let bin = -1;
    let sum = 0;
    let count = 0;
    let j = 0; // the walk through sortedSteps (both in step order)
    const flush = () => {
      if (count) cells[bin * nRuns + r] = sum / count;
    };
    for (let i = 0; i < s.steps.length; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v)) continue;
      let b: number;
      if (sortedSteps) {
        while (sortedSteps[j] < s.steps[i]) j++;
        b = j;
      } else b = Math.min(nBins - 1, Math.floor((s.steps[i] - lo) / width));
      if (b !== bin) {
        flush();
        bin = b;
        sum = 0;
        count = 0;
      }
      sum += v;
      count++;
    }
    flush();
  });
  const out: GroupSeries = { xs: [], line: [], lower: [], upper: [], runs: nRuns };
  const vals = new Float64Array(nRuns);
  for (let b = 0; b < nBins; b++) {
    let k = 0;
    let total = 0;
    for (let r = 0; r < nRuns; r++) {
      const v = cells[b * nRuns + r];
      if (v === v) {
        vals[k++] = v;
        total += v;
      }
    }
    if (!k) continue;
    out.xs.push(sortedSteps ? sortedSteps[b] : lo + (b + 0.5) * width);
    const mean = total / k;
    const sorted = agg === "median" || band === "minmax" ? vals.subarray(0, k).sort() : null;
    out.line.push(agg === "median" ? (k % 2 ? sorted![(k - 1) >> 1] : (sorted![k / 2 - 1] + sorted![k / 2]) / 2) : mean);
    if (band === "minmax") {
      out.lower.push(sorted![0]);
      out.upper.push(sorted![k - 1]);
    } else if (band === "std") {
      let sq = 0;
      for (let i = 0; i < k; i++) sq += (vals[i] - mean) ** 2;
      const sd = Math.sqrt(sq / k);
      out.lower.push(mean - sd);
      out.upper.push(mean + sd);
    } else {
      out.lower.push(null);
      out.upper.push(null);
    }
  }
  return out;
}
