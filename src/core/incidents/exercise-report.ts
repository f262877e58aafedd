/**
 * The report of a tabletop exercise, as Markdown, from its scenario and its timeline: when each
 * inject came, how long the team took to assign a commander, mitigate and resolve (from the
 * start), each question with the team's answers and the decision expected. Pure.
 */
import { formatSpan } from './postmortem.ts';
import type { Scenario } from './scenario.ts';

export interface ExerciseRecord {
  incident: { id: number; title: string; declaredAt: string; mitigatedAt: string | null; resolvedAt: string | null };
  scenario: Scenario;
  /** The exercise's timeline entries (kind, time, data). */
  events: readonly { seq: number; time: string; kind: string; data: Record<string, unknown> }[];
  firstCommanderAt: string | null;
  endedAt: string | null;
}

const one = (s: unknown) => String(s).replace(/\s+/g, ' ').trim();
const hhmm = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

export function exerciseReportMarkdown(r: ExerciseRecord): string {
  const start = Date.parse(r.incident.declaredAt);
  const after = (iso: string | null) => (iso ? `${formatSpan(Date.parse(iso) - start)} after the start` : 'not reached');
  const out: string[] = [];
  out.push(`# Tabletop exercise: INC-${r.incident.id} ${one(r.scenario.title)}`, '');
  out.push(
    `An exercise, not an incident: its times are kept out of the production KPIs. Started ${hhmm(r.incident.declaredAt)}${r.endedAt ? `, ended ${hhmm(r.endedAt)} (${formatSpan(Date.parse(r.endedAt) - start)})` : ', still running'}.`,
    '',
  );
  out.push('## Response times', '');
  out.push(`- Incident commander assigned: ${after(r.firstCommanderAt)}`);
  out.push(`- Mitigated: ${after(r.incident.mitigatedAt)}`);
  out.push(`- Resolved: ${after(r.incident.resolvedAt)}`);
  out.push('');
  out.push('## Injects', '');
  const delivered = new Map<number, string>();
  for (const e of r.events) if (e.kind === 'incident.exercise.inject') delivered.set(Number(e.data.inject), e.time);
  r.scenario.injects.forEach((i, k) => {
    const at = delivered.get(k + 1);
    out.push(`${k + 1}. at +${i.at}${at ? ` (given ${hhmm(at)})` : ' (not given)'}: ${one(i.text)}`);
  });
  out.push('');
  out.push('## Questions and decisions', '');
  if (r.scenario.questions.length === 0) out.push('The scenario asks no questions.');
  for (const q of r.scenario.questions) {
    out.push(`### ${q.id}: ${one(q.text)} (asked at +${q.at})`, '');
    const answers = r.events.filter((e) => e.kind === 'incident.exercise.answered' && e.data.question === q.id);
    if (answers.length === 0) out.push('- Answer: none recorded');
    for (const a of answers)
      out.push(`- Answer, ${formatSpan(Date.parse(a.time) - start - q.atMs)} after it was asked: ${one(a.data.text)}`);
    out.push(`- Expected: ${q.expect ? one(q.expect) : 'not stated'}`, '');
  }
  return out.join('\n');
}
