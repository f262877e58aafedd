/**
 * A tabletop exercise's scenario file: what the incident is, the injects (what the facilitator
 * reveals, at offsets from the start), the questions for the team (each asked at an offset) and
 * the decisions the team is expected to take. YAML or JSON; every error has its line and column.
 *
 * ```yaml
 * apiVersion: bulwark/v1
 * kind: TabletopScenario
 * title: Ransomware on the file server
 * severity: SEV2
 * injects:
 *   - { at: 0m, text: "The helpdesk reports files renamed *.locked on fs1" }
 *   - { at: 15m, text: "A ransom note names a deadline of 48 hours" }
 * questions:
 *   - { id: q1, at: 5m, text: Who leads the response?, expect: An incident commander is assigned }
 * ```
 */
import { z } from 'zod';
import { parseYamlBounded } from '../input/bounded-yaml.ts';
import { INPUT_LIMITS } from '../input/limits.ts';
import { parsePromDuration } from '../slos/duration.ts';
import { PRIORITIES, type Priority } from './model.ts';

export interface Inject {
  atMs: number;
  at: string;
  text: string;
}

export interface Question {
  id: string;
  atMs: number;
  at: string;
  text: string;
  expect: string | null;
}

export interface Scenario {
  title: string;
  severity: string;
  priority: Priority;
  injects: Inject[];
  questions: Question[];
}

export type ScenarioParse = { ok: true; scenario: Scenario } | { ok: false; errors: { line: number; column: number; message: string }[] };

const ZERO = /^0(ms|s|m|h|d)?$/;
const offset = z.string().refine((s) => ZERO.test(s) || parsePromDuration(s) !== undefined, 'an offset from the start: 0, 5m, 1h30m');
const text = z.string().min(1).max(4000);
const schema = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('TabletopScenario'),
  title: z.string().min(1).max(280),
  severity: z.string().min(1).max(16),
  priority: z.enum(PRIORITIES).default('P3'),
  injects: z
    .array(z.strictObject({ at: offset, text }))
    .min(1)
    .max(200),
  questions: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a question id: 1–32 of a-z, 0-9, "-"'),
        at: offset,
        text,
        expect: text.optional(),
      }),
    )
    .max(200)
    .default([]),
});

const ms = (s: string) => (ZERO.test(s) ? 0 : parsePromDuration(s)!);

/** Read a scenario file: the scenario, or every error with line and column. */
export function parseScenario(source: string): ScenarioParse {
  const read = parseYamlBounded(source, INPUT_LIMITS.yaml);
  if (!read.ok) return { ok: false, errors: read.errors.map((e) => ({ line: e.line, column: e.column, message: e.message })) };
  const r = schema.safeParse(read.value);
  if (!r.success)
    return {
      ok: false,
      errors: r.error.issues.map((i) => {
        const node = read.doc.getIn(i.path as (string | number)[], true) as { range?: [number, number, number] } | undefined;
        const pos = read.position(node && typeof node === 'object' && node.range ? node.range[0] : 0);
        return { ...pos, message: `${i.path.join('.') || 'the file'}: ${i.message}` };
      }),
    };
  const f = r.data;
  const ids = new Set<string>();
  for (const q of f.questions) {
    if (ids.has(q.id)) return { ok: false, errors: [{ line: 1, column: 1, message: `two questions have the id ${q.id}; ids are unique` }] };
    ids.add(q.id);
  }
  return {
    ok: true,
    scenario: {
      title: f.title,
      severity: f.severity,
      priority: f.priority,
      injects: f.injects.map((i) => ({ atMs: ms(i.at), at: i.at, text: i.text })).sort((a, b) => a.atMs - b.atMs),
      questions: f.questions.map((q) => ({ id: q.id, atMs: ms(q.at), at: q.at, text: q.text, expect: q.expect ?? null })),
    },
  };
}
