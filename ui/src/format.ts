// Formatting of times, durations, numbers and sizes.

const pad = (n: number) => String(n).padStart(2, "0");

export function fmtTime(ms?: number): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(ms?: number, now = Date.now()): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "—";
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} d ago`;
  return fmtTime(ms).slice(0, 10);
}

export function fmtDuration(ms?: number): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${pad(m % 60)}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function runDuration(start?: number, end?: number, status?: string): number | undefined {
  if (!start) return undefined;
  if (end) return end - start;
  return status === "RUNNING" ? Date.now() - start : undefined;
}

/** An integer (below 1e15) with thousands separators, as `toLocaleString("en-US")` writes it, without
 * Intl: its first use in a page loads ICU's data (tens of ms) on the way to the page's first charts. */
export function fmtInt(n: number): string {
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 || Object.is(n, -0) ? `-${digits}` : digits;
}

export function fmtNum(v: number | undefined | null): string {
  if (v === undefined || v === null) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return fmtInt(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

export function fmtBytes(n?: number): string {
  if (n === undefined || n === null) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${units[i]}`;
}

/** Axis label of a relative time in seconds: 45s, 3m, 1.5h. */
export function fmtSeconds(s: number): string {
  if (Math.abs(s) < 120) return `${Number(s.toPrecision(3))}s`;
  if (Math.abs(s) < 7200) return `${Number((s / 60).toPrecision(3))}m`;
  return `${Number((s / 3600).toPrecision(3))}h`;
}

/** A span's duration: microseconds and fractions of a millisecond stay visible (never "0ms"). */
export function fmtSpanDuration(ms?: number): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1) return `${Math.max(1, Math.round(ms * 1000))}µs`;
  if (ms < 100) return `${Number(ms.toPrecision(3))}ms`;
  return fmtDuration(ms);
}
