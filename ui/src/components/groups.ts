// Sweeps: runs grouped by a param or tag value, each group drawn as one aggregate line (mean or
// median over its runs, step by step) with a band (min-max, or mean ± one standard deviation).

import type { Point } from "../api";

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

function median(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * One group's aggregate series. Steps are binned into at most `maxBins` equal bins (every step is its
 * own bin for shorter series); a run's value in a bin is the mean of its points there, and the bin's
 * line and band are taken across the runs that have a point in it.
 */
export function aggregateGroup(series: Point[][], agg: Aggregate, band: Band, maxBins = 2000): GroupSeries {
  let lo = Infinity;
  let hi = -Infinity;
  const steps = new Set<number>();
  for (const pts of series) {
    for (const p of pts) {
      if (p.step < lo) lo = p.step;
      if (p.step > hi) hi = p.step;
      if (steps.size <= maxBins) steps.add(p.step);
    }
  }
  if (!Number.isFinite(lo)) return { xs: [], line: [], lower: [], upper: [], runs: series.length };
  const exact = steps.size <= maxBins;
  const sortedSteps = exact ? [...steps].sort((a, b) => a - b) : [];
  const index = exact ? new Map(sortedSteps.map((s, i) => [s, i])) : null;
  const nBins = exact ? sortedSteps.length : maxBins;
  const width = (hi - lo + 1) / nBins;
  const binOf = (step: number) => (index ? index.get(step)! : Math.min(nBins - 1, Math.floor((step - lo) / width)));
  const perBin: number[][] = Array.from({ length: nBins }, () => []);
  for (const pts of series) {
    const sum = new Map<number, [number, number]>();
    for (const p of pts) {
      if (!Number.isFinite(p.value)) continue;
      const b = binOf(p.step);
      const acc = sum.get(b);
      if (acc) {
        acc[0] += p.value;
        acc[1] += 1;
      } else sum.set(b, [p.value, 1]);
    }
    for (const [b, [s, n]] of sum) perBin[b].push(s / n);
  }
  const out: GroupSeries = { xs: [], line: [], lower: [], upper: [], runs: series.length };
  for (let b = 0; b < nBins; b++) {
    const vals = perBin[b];
    if (!vals.length) continue;
    out.xs.push(exact ? sortedSteps[b] : lo + (b + 0.5) * width);
    vals.sort((x, y) => x - y);
    const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
    out.line.push(agg === "median" ? median(vals) : mean);
    if (band === "minmax") {
      out.lower.push(vals[0]);
      out.upper.push(vals[vals.length - 1]);
    } else if (band === "std") {
      const sd = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length);
      out.lower.push(mean - sd);
      out.upper.push(mean + sd);
    } else {
      out.lower.push(null);
      out.upper.push(null);
    }
  }
  return out;
}
