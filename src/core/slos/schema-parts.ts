/** What both SLO formats share: names, run selectors, durations, wall-clock times. */
import { z } from 'zod';
import { compileCel } from '../experiments/cel.ts';
import { parseWall } from './calendar.ts';
import { parsePromDuration } from './duration.ts';
import type { RunSelector } from './types.ts';

export const SLO_NAME = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;
/** A path-anchored problem found while reading; located in the text afterwards. */
export interface PendingIssue {
  path: (string | number)[];
  message: string;
}

export const duration = (what: string) =>
  z.string().refine((s) => parsePromDuration(s) !== undefined, `${what}: a duration such as 5m, 1h, 28d or 4w`);
const selectorFields = {
  experiment: z.string().min(1).max(64).optional(),
  technique: z
    .string()
    .regex(/^T\d{4}(\.\d{3})?$/, 'an ATT&CK technique id such as T1190 or T1059.004')
    .optional(),
  tag: z.string().min(1).max(100).optional(),
};
const selects = (s: RunSelector) => s.experiment !== undefined || s.technique !== undefined || s.tag !== undefined;
const selectMessage = { message: 'name the runs to count: experiment, technique or tag (at least one)' };
export const runSelectorSchema = z.strictObject(selectorFields).refine(selects, selectMessage);
export const timeToDetectSchema = z.strictObject({ ...selectorFields, under: duration('under') }).refine(selects, selectMessage);

export const pickSelector = (s: RunSelector): RunSelector => ({
  ...(s.experiment !== undefined ? { experiment: s.experiment } : {}),
  ...(s.technique !== undefined ? { technique: s.technique } : {}),
  ...(s.tag !== undefined ? { tag: s.tag } : {}),
});

export const normaliseWall = (s: string): string => {
  const w = parseWall(s)!;
  const p = (n: number, l = 2) => String(n).padStart(l, '0');
  return `${p(w.y, 4)}-${p(w.mo)}-${p(w.d)}T${p(w.h)}:${p(w.mi)}:${p(w.s)}`;
};

/** A CEL expression over `signal` that yields a boolean, type-checked when the file is read. */
const celFilter = (what: string) =>
  z
    .string()
    .max(4096)
    .superRefine((src, ctx) => {
      const c = compileCel(src);
      if (!c.ok) ctx.addIssue({ code: 'custom', message: `${what}: ${c.message}` });
    });
export const signalSliSchema = z.strictObject({
  total: celFilter('total'),
  good: celFilter('good'),
});
