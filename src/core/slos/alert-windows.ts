/**
 * Multiwindow, multi-burn-rate alerts (Google SRE Workbook, ch. 5), in the two known strategies:
 *
 * - **sloth**: fixed windows (page 5m/1h and 30m/6h, ticket 2h/1d and 6h/3d); each pair fires
 *   when a share of the budget (2%, 5%, 10%, 10%) would be spent within its long window, so the
 *   burn-rate factor scales with the period: 14.4, 6, 3, 1 at 30 days, 13.44, 5.6, 2.8, 0.93 at 28.
 * - **pyrra**: fixed factors (14, 7, 2, 1); the windows scale with the period (1h/5m, 6h/30m,
 *   1d/2h, 4d/6h at 28 days; a 7-day SLO looks at 15m/1m… windows), rounded to the minute.
 *
 * A windows file in Sloth's `AlertWindows` format (sloth.slok.dev/v1) replaces sloth's defaults.
 */
import { z } from 'zod';
import { parsePromDuration } from './duration.ts';
import type { AlertStrategy } from './types.ts';

export interface AlertWindow {
  severity: 'page' | 'ticket';
  /** quick: the first pair of its severity; slow: the second. */
  speed: 'quick' | 'slow';
  shortMs: number;
  longMs: number;
  /** The burn rate above which the pair fires: both windows must burn faster. */
  factor: number;
  /** The share of the budget (percent) the pair protects: what Sloth's windows files state. */
  errorBudgetPercent: number;
}

export interface WindowsSpec {
  periodMs: number;
  pairs: { severity: 'page' | 'ticket'; speed: 'quick' | 'slow'; errorBudgetPercent: number; shortMs: number; longMs: number }[];
}

const M = 60_000;
const H = 60 * M;
const D = 24 * H;

/** Sloth's defaults (its 30-day and 28-day windows files are these, with the same percentages). */
export const SLOTH_DEFAULT_PAIRS: WindowsSpec['pairs'] = [
  { severity: 'page', speed: 'quick', errorBudgetPercent: 2, shortMs: 5 * M, longMs: H },
  { severity: 'page', speed: 'slow', errorBudgetPercent: 5, shortMs: 30 * M, longMs: 6 * H },
  { severity: 'ticket', speed: 'quick', errorBudgetPercent: 10, shortMs: 2 * H, longMs: D },
  { severity: 'ticket', speed: 'slow', errorBudgetPercent: 10, shortMs: 6 * H, longMs: 3 * D },
];

/** Sloth's factor: the speed that spends `percent` of the period's budget within `windowMs`. */
export function burnRateFactor(periodMs: number, percent: number, windowMs: number): number {
  // The same operations, in the same order, as Sloth's GetBurnRateFactor (seconds), so that the
  // float64 results, and the thresholds printed into rules, are the same.
  return (percent * (periodMs / 1000)) / 100 / (windowMs / 1000);
}

export function slothWindows(periodMs: number, pairs: WindowsSpec['pairs'] = SLOTH_DEFAULT_PAIRS): AlertWindow[] {
  return pairs.map((p) => ({ ...p, factor: burnRateFactor(periodMs, p.errorBudgetPercent, p.longMs) }));
}

const round = (ms: number) => Math.max(M, Math.round(ms / M) * M);

export function pyrraWindows(periodMs: number): AlertWindow[] {
  const w = (severity: 'page' | 'ticket', speed: 'quick' | 'slow', longDiv: number, shortDiv: number, factor: number): AlertWindow => {
    const longMs = round(periodMs / longDiv);
    // What share of the budget the pair protects, for display: factor × long ÷ period.
    return { severity, speed, shortMs: round(periodMs / shortDiv), longMs, factor, errorBudgetPercent: (factor * longMs * 100) / periodMs };
  };
  return [
    w('page', 'quick', 28 * 24, 28 * 24 * 12, 14),
    w('page', 'slow', 28 * 4, 28 * 24 * 2, 7),
    w('ticket', 'quick', 28, 28 * 12, 2),
    w('ticket', 'slow', 7, 28 * 4, 1),
  ];
}

export function alertWindows(strategy: AlertStrategy, periodMs: number, spec?: WindowsSpec): AlertWindow[] {
  if (strategy === 'pyrra') return pyrraWindows(periodMs);
  return slothWindows(periodMs, spec?.pairs);
}

const duration = z.string().refine((s) => parsePromDuration(s) !== undefined, 'a duration such as 5m, 1h, 3d or 4w');
const pair = z.strictObject({ errorBudgetPercent: z.number().gt(0).max(100), shortWindow: duration, longWindow: duration });
const windowsFile = z.strictObject({
  apiVersion: z.literal('sloth.slok.dev/v1'),
  kind: z.literal('AlertWindows'),
  spec: z.strictObject({
    sloPeriod: duration,
    page: z.strictObject({ quick: pair, slow: pair }),
    ticket: z.strictObject({ quick: pair, slow: pair }),
  }),
});

/** A Sloth AlertWindows document (already read from YAML) as windows, or the issues to fix. */
export function parseWindowsSpec(value: unknown): { ok: true; spec: WindowsSpec } | { ok: false; errors: string[] } {
  const r = windowsFile.safeParse(value);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  const s = r.data.spec;
  const p = (severity: 'page' | 'ticket', speed: 'quick' | 'slow', x: z.output<typeof pair>) => ({
    severity,
    speed,
    errorBudgetPercent: x.errorBudgetPercent,
    shortMs: parsePromDuration(x.shortWindow)!,
    longMs: parsePromDuration(x.longWindow)!,
  });
  const pairs = [
    p('page', 'quick', s.page.quick),
    p('page', 'slow', s.page.slow),
    p('ticket', 'quick', s.ticket.quick),
    p('ticket', 'slow', s.ticket.slow),
  ];
  const errors = pairs
    .filter((x) => x.shortMs >= x.longMs)
    .map((x) => `spec.${x.severity}.${x.speed}: shortWindow must be shorter than longWindow`);
  if (errors.length) return { ok: false, errors };
  return { ok: true, spec: { periodMs: parsePromDuration(s.sloPeriod)!, pairs } };
}
