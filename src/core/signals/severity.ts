/**
 * One severity scale for every signal, whatever its source says. Sources disagree on words
 * (Alertmanager's `warning`, syslog's `notice`, Opsgenie's `P2`) and on numbers (syslog counts
 * down from 0 = emergency), so each parser maps through here and matching sees five values only.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What a source that says nothing about severity gets: an alert is worth a look by default. */
export const DEFAULT_SEVERITY: Severity = 'medium';

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

/**
 * Words seen in the wild, lower-case. Numbers are deliberately absent: "5" is the worst on some
 * scales and the mildest on others, so only a parser that knows its scale (syslog) maps numbers.
 */
const NAMES: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ...(['critical', 'crit', 'emergency', 'emerg', 'alert', 'fatal', 'disaster', 'p1'] as const).map((n) => [n, 'critical'] as const),
  ...(['high', 'error', 'err', 'major', 'severe', 'p2'] as const).map((n) => [n, 'high'] as const),
  ...(['medium', 'warning', 'warn', 'moderate', 'average', 'p3'] as const).map((n) => [n, 'medium'] as const),
  ...(['low', 'notice', 'minor', 'p4'] as const).map((n) => [n, 'low'] as const),
  ...(['info', 'informational', 'information', 'debug', 'trace', 'none', 'ok', 'p5'] as const).map((n) => [n, 'info'] as const),
]);

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Higher is worse: critical 4 … info 0. */
export function severityRank(s: Severity): number {
  return RANK[s];
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[b] > RANK[a] ? b : a;
}

/** Map a source's severity word (any case, surrounding spaces ignored) to ours; undefined when unknown. */
export function normaliseSeverity(value: unknown): Severity | undefined {
  if (typeof value !== 'string' || value.length > 32) return undefined;
  return NAMES.get(value.trim().toLowerCase());
}

/**
 * RFC 5424 §6.2.1 numeric levels (ModSecurity writes these as strings): 0–2 emergency, alert,
 * critical → critical; 3 error → high; 4 warning → medium; 5 notice → low; 6–7 → info.
 */
export function syslogSeverity(level: unknown): Severity | undefined {
  const n = typeof level === 'number' ? level : typeof level === 'string' && /^[0-7]$/.test(level.trim()) ? Number(level.trim()) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 7) return undefined;
  if (n <= 2) return 'critical';
  if (n === 3) return 'high';
  if (n === 4) return 'medium';
  if (n === 5) return 'low';
  return 'info';
}
