/**
 * Durations as SLO files write them: Prometheus' (`5m`, `1h30m`, `30d`, `4w`, `1y`) and OpenSLO's
 * shorthand, which adds calendar units (`M` month, `Q` quarter, `Y` year). Fixed units are
 * milliseconds; calendar units stay units, since a month has no fixed length.
 */

const FIXED: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** A Prometheus duration (`5m`, `1h30m`, `4w`) in milliseconds, or undefined when it is not one. */
export function parsePromDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(text) || text.length > 40) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(m[1]) * FIXED[m[2]!]!;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/**
 * Milliseconds as Prometheus prints a duration (model.Duration.String): years, then weeks only
 * when they divide what is left exactly, then days, hours, minutes, seconds, milliseconds. So
 * 28 days print `4w` and 30 days `30d`: rule names carry this text, so it must match Sloth's.
 */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let left = ms;
  let out = '';
  const unit = (name: string, mult: number, exact: boolean) => {
    if (exact && left % mult !== 0) return;
    const v = Math.floor(left / mult);
    if (v > 0) {
      out += `${v}${name}`;
      left -= v * mult;
    }
  };
  unit('y', FIXED.y!, false);
  unit('w', FIXED.w!, true);
  unit('d', FIXED.d!, false);
  unit('h', FIXED.h!, false);
  unit('m', FIXED.m!, false);
  unit('s', FIXED.s!, false);
  unit('ms', 1, false);
  return out;
}

export type CalendarUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';

/** An OpenSLO duration shorthand: a count and a unit (`2w`, `1M`, `1Q`). */
export function parseOpenSloDuration(text: string): { count: number; unit: CalendarUnit } | undefined {
  const m = /^(\d{1,6})(m|h|d|w|M|Q|Y)$/.exec(text);
  if (!m) return undefined;
  const count = Number(m[1]);
  if (count <= 0) return undefined;
  const unit = ({ m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', Q: 'quarter', Y: 'year' } as const)[m[2] as 'm'];
  return { count, unit };
}

/** The fixed length of a unit that has one (not month, quarter, year). */
export function unitMs(unit: CalendarUnit): number | undefined {
  return { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000, month: undefined, quarter: undefined, year: undefined }[
    unit
  ];
}
