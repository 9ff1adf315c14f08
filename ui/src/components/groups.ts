// Sweeps: runs grouped by a param or tag value, each group drawn as one aggregate line (mean or
// median over its runs, step by step) with a band (min-max, or mean ± one standard deviation). The
// server computes the lines (api.groupAggregate); the page groups the runs and draws them.

export type Aggregate = "mean" | "median";
export type Band = "minmax" | "std" | "none";

export interface RunGroup {
  label: string;
  color: string;
  runIds: string[];
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
