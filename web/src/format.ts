/** "2025-01-31 14:03:07 UTC": unambiguous for a team spread over time zones. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

// Entry data arrives as JSON, so stringify cannot fail in practice; the fallback keeps a
// rendering bug from blanking the table if it ever does.
function jsonOrPlaceholder(value: unknown, indent?: number): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, indent) ?? '(no JSON value)';
  } catch {
    return '(not representable as JSON)';
  }
}

export function compactJson(value: unknown): string {
  return jsonOrPlaceholder(value);
}

export function prettyJson(value: unknown): string {
  return jsonOrPlaceholder(value, 2);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function formatCount(n: number): string {
  return new Intl.NumberFormat('en').format(n);
}

export function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** A duration for people: "840 ms", "5 s", "12.4 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '−' : '';
  if (abs < 1_000) return `${sign}${Math.round(abs)} ms`;
  // parseFloat drops trailing zeros: "5 s", "1.25 s".
  if (abs < 60_000) return `${sign}${parseFloat((abs / 1_000).toFixed(abs < 10_000 ? 2 : 1))} s`;
  const totalSeconds = Math.round(abs / 1_000);
  if (totalSeconds < 3_600) {
    return `${sign}${Math.floor(totalSeconds / 60)} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  return `${sign}${Math.floor(totalMinutes / 60)} h ${String(totalMinutes % 60).padStart(2, '0')} min`;
}

/** Exact milliseconds, for measured times such as time to detect: "1,234 ms". */
export function formatMs(ms: number): string {
  return `${formatCount(Math.round(ms))} ms`;
}

/** An offset from the start of a run, aligned in a column: "+0.012 s", "+75.300 s". */
export function formatOffset(ms: number): string {
  const sign = ms < 0 ? '−' : '+';
  return `${sign}${(Math.abs(ms) / 1_000).toFixed(3)} s`;
}

/** Milliseconds between two ISO times, or null when either is missing or not a time. */
export function msBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? null : b - a;
}

/** Who acted, in a line: `person alice via token abc123 (api)`; an entry written before actors were structured shows its plain actor. */
export function actorText(a: string | { id: string; kind: string; how: string; token?: string; session?: string }): string {
  if (typeof a === 'string') return a;
  const via = a.token ? ` via token ${a.token}` : a.session ? ` via session ${a.session}` : '';
  return `${a.kind} ${a.id}${via} (${a.how})`;
}
