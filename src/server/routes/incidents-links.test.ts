/**
 * Links, the versioned postmortem and the export over HTTP: an incident declared with an SLO and a
 * technique shows the budget it spent and the experiment that covers it; the postmortem is
 * generated, edited, a stale edit refused; the export verifies against the ledger, and a tampered
 * one does not. Restricted incidents answer 404 to a non-participant on each of these routes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { applySlo } from '../../app/slos/apply-slo.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import type { RunRecord } from '../../store/experiments/port.ts';

const H = 3_600_000;
const NOW = Date.parse('2026-05-10T12:00:00.000Z');
const clock = new ManualClock(NOW);
let t: TestApp;
let viewerToken = '';
const admin = () => bearer(t.adminToken);
const inject = (method: 'GET' | 'POST', url: string, payload?: object, headers = admin()) =>
  t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

const run = (i: number, outcome: string): RunRecord => {
  const end = new Date(NOW - (i + 1) * H).toISOString();
  return {
    id: `ln${String(i).padStart(14, '0')}`,
    experiment: 'Token replay drill',
    state: 'done',
    outcome,
    reason: 'test',
    startedAt: end,
    endedAt: end,
    leaseOwner: null,
    leaseUntil: null,
    rollbacks: [],
    journal: { bulwark: { techniques: ['T1550.001'] } },
    ttdMs: null,
    dryRun: false,
  };
};

beforeAll(async () => {
  t = await makeTestApp({ clock });
  // 20 runs an hour apart; the ones that ended 1–3 hours ago missed (inside the impact window).
  for (let i = 0; i < 20; i++) await t.deps.store.runs.insert(run(i, i <= 2 ? 'missed' : i === 5 ? 'detected-late' : 'detected'));
  await applySlo(
    t.deps,
    cliActor('test'),
    'apiVersion: bulwark/v1\nkind: SLO\nname: replay-detected\nservice: api\nobjective: 90\nwindow: 7d\nsli:\n  experiments:\n    technique: T1550.001\n',
  );
  await t.deps.store.experiments.put(
    {
      name: 'token-replay',
      title: 'Token replay drill',
      description: '',
      techniques: ['T1550.001'],
      file: 'x',
      fileSha256: '0'.repeat(64),
      schedule: null,
      privileged: false,
      appliedBy: 'cli:test',
    },
    new Date(NOW - 100 * H).toISOString(),
  );
  const p = await inject('POST', '/v1/principals', { kind: 'person', name: 'vic', roles: ['viewer'] });
  const tok = await inject('POST', '/v1/tokens', { name: 'vic', principal: p.json<{ id: string }>().id, scopes: ['*'] });
  viewerToken = tok.json<{ token: string }>().token;
});
afterAll(async () => t?.close());

describe('incident links, postmortem versions and export over HTTP', () => {
  it('shows the budget spent over the impact window and the covering experiment; refuses unknown SLOs and bad techniques', async () => {
    const bad = await inject('POST', '/v1/incidents', { title: 'x', severity: 'SEV2', priority: 'P2', slos: ['nope'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toMatch(/no SLO named 'nope'/);
    const badT = await inject('POST', '/v1/incidents', { title: 'x', severity: 'SEV2', priority: 'P2', techniques: ['1550'] });
    expect(badT.json<{ message: string }>().message).toMatch(/not an ATT&CK technique id/);
    expect((await inject('GET', '/v1/incidents')).json<{ total: number }>().total).toBe(0); // nothing declared by the refusals

    const d = await inject('POST', '/v1/incidents', {
      title: 'Replayed session tokens',
      severity: 'SEV2',
      priority: 'P2',
      impactStartedAt: new Date(NOW - 3.5 * H).toISOString(),
      slos: ['replay-detected'],
    });
    expect(d.statusCode, d.body).toBe(201);
    const id = d.json<{ id: number }>().id;
    const l = await inject('POST', `/v1/incidents/${id}/links`, { techniques: ['t1550'] });
    expect(l.statusCode, l.body).toBe(200);
    expect((await inject('POST', `/v1/incidents/${id}/links`, { techniques: ['T1550'] })).statusCode).toBe(409);
    clock.advance(0.5 * H);
    const st = await inject('POST', `/v1/incidents/${id}/status`, { status: 'mitigated' });
    expect(st.statusCode, st.body).toBe(200);
    const links = (await inject('GET', `/v1/incidents/${id}/links`)).json<{
      window: { from: string; to: string; ongoing: boolean };
      slos: { slo: string; state: string; consumed: number; bad: number; events: number }[];
      experiments: { experiment: string; predicted: boolean; lastBefore: { outcome: string }; latest: { outcome: string } }[];
    }>();
    expect(links.window).toEqual({
      from: new Date(NOW - 3.5 * H).toISOString(),
      to: new Date(NOW + 0.5 * H).toISOString(),
      ongoing: false,
    });
    // 3 bad runs in the window; the period (7d) holds 20 runs: the budget is 0.1 × 20 = 2 bad runs.
    expect(links.slos).toMatchObject([{ slo: 'replay-detected', state: 'evaluated', bad: 3, events: 3 }]);
    expect(links.slos[0]!.consumed).toBeCloseTo(1.5, 12);
    expect(links.experiments).toMatchObject([
      { experiment: 'token-replay', predicted: false, lastBefore: { outcome: 'detected' }, latest: { outcome: 'missed' } },
    ]);

    // The postmortem: generated, edited from the newest, a stale edit refused, every version kept.
    const v1 = await inject('POST', `/v1/incidents/${id}/postmortem/versions`, { baseVersion: 0 });
    expect(v1.statusCode, v1.body).toBe(201);
    const md1 = v1.json<{ markdown: string; version: number; source: string }>();
    expect(md1).toMatchObject({ version: 1, source: 'generated' });
    expect(md1.markdown).toMatch(/SLO `replay-detected`: 150\.00% of the budget/);
    expect(md1.markdown).toMatch(/`token-replay` \(T1550\): not predicted: last run before the impact detected/);
    const edited = md1.markdown.replace(
      '## Action items',
      '## Contributing factors\n\nThe replay detection had no rule for reused tokens.\n\n## Action items',
    );
    const v2 = await inject('POST', `/v1/incidents/${id}/postmortem/versions`, { baseVersion: 1, markdown: edited });
    expect(v2.statusCode, v2.body).toBe(201);
    const stale = await inject('POST', `/v1/incidents/${id}/postmortem/versions`, { baseVersion: 1, markdown: 'mine' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json<{ message: string }>().message).toMatch(/at version 2/);
    const versions = (await inject('GET', `/v1/incidents/${id}/postmortem/versions`)).json<{
      versions: { version: number; source: string }[];
    }>();
    expect(versions.versions.map((v) => [v.version, v.source])).toEqual([
      [1, 'generated'],
      [2, 'edited'],
    ]);
    expect((await inject('GET', `/v1/incidents/${id}/postmortem/versions/2`)).json<{ markdown: string }>().markdown).toBe(edited);
    expect((await inject('GET', `/v1/incidents/${id}/postmortem/versions/3`)).statusCode).toBe(404);

    // The export verifies against the ledger; altered, it does not.
    const ex = await inject('GET', `/v1/incidents/${id}/export`);
    expect(ex.statusCode, ex.body).toBe(200);
    const file = ex.json<{ timeline: { kind: string; data: Record<string, unknown> }[]; postmortem: { body: string }[] }>();
    expect(file.timeline.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['incident.declared', 'incident.linked', 'incident.postmortem.saved']),
    );
    expect(file.postmortem.map((p) => p.body)).toEqual([md1.markdown, edited]);
    const ok = await inject('POST', '/v1/incidents/exports/verify', file);
    expect(ok.json(), ok.body).toMatchObject({ ok: true, incident: id, problems: [] });
    const tampered = structuredClone(file);
    tampered.postmortem[1]!.body = edited.replace('no rule', 'a rule');
    (tampered.timeline.find((e) => e.kind === 'incident.declared')!.data as { title: string }).title = 'Something else';
    const bad2 = (await inject('POST', '/v1/incidents/exports/verify', tampered)).json<{ ok: boolean; problems: string[] }>();
    expect(bad2.ok).toBe(false);
    expect(bad2.problems.join('\n')).toMatch(/does not hash to the leaf hash given/);
    expect(bad2.problems.join('\n')).toMatch(/postmortem version 2: its text is not the one the ledger recorded/);
    const mdExport = await inject('GET', `/v1/incidents/${id}/export/markdown`);
    expect(mdExport.headers['content-type']).toMatch(/text\/markdown/);
    expect(mdExport.body).toMatch(/## Evidence and custody[\s\S]*## Postmortem[\s\S]*Contributing factors/);
    expect((await inject('POST', '/v1/incidents/exports/verify', { format: 'other' })).statusCode).toBe(400);

    // A forged file: title and severity changed, a fake done task, other participants, the timeline cut to one entry.
    const forged = structuredClone(ex.json<Record<string, unknown> & { incident: Record<string, unknown>; timeline: unknown[] }>());
    forged.incident.title = 'Nothing happened';
    forged.incident.severity = 'SEV4';
    forged.tasks = [{ id: 99, title: 'Rotate every key', status: 'done' }];
    forged.participants = ['mallory'];
    forged.timeline = forged.timeline.slice(0, 1);
    const f = (await inject('POST', '/v1/incidents/exports/verify', forged)).json<{ ok: boolean; problems: string[]; checked: string[] }>();
    expect(f.ok).toBe(false);
    const said = f.problems.join('\n');
    expect(said).toMatch(/entries of incident \d+ before ledger size \d+ missing from the file/);
    for (const k of ['incident', 'participants', 'tasks']) expect(said).toContain(`${k}: not what the record holds`);
    expect(f.checked.join('\n')).toMatch(/none of the \d+ entries before ledger size/);
    // An entry about something else is not part of this incident's export.
    const foreign = structuredClone(file) as unknown as { timeline: Record<string, unknown>[] };
    foreign.timeline.push({ ...foreign.timeline[0]!, seq: 0, subject: 'slo:replay-detected' });
    const fo = (await inject('POST', '/v1/incidents/exports/verify', foreign)).json<{ ok: boolean; problems: string[] }>();
    expect(fo.ok).toBe(false);
    expect(fo.problems.join('\n')).toMatch(/is not incident \d+ or its case|not an entry of incident/);
    // Any field of a genuine file replaced by any JSON: a 200 (not ok unless unchanged) or a 400, never 500.
    const fields = Object.keys(file);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 3 }), async (k, v) => {
        const r = await inject('POST', '/v1/incidents/exports/verify', { ...file, [k]: v });
        expect([200, 400], r.body).toContain(r.statusCode);
      }),
      { numRuns: 60 },
    );
  });

  it('bounds the work of a links read: an impact start over 90 days back is refused, at most 10 SLOs are evaluated', async () => {
    const old = await inject('POST', '/v1/incidents', {
      title: 'x',
      severity: 'SEV2',
      priority: 'P2',
      impactStartedAt: '0001-01-01T00:00:00Z',
    });
    expect(old.statusCode).toBe(400);
    expect(old.json<{ message: string }>().message).toMatch(/impactStartedAt is more than 90 days before the declaration/);
    const names = Array.from({ length: 11 }, (_, k) => `cap-${k}`);
    for (const n of names)
      await applySlo(
        t.deps,
        cliActor('test'),
        `apiVersion: bulwark/v1\nkind: SLO\nname: ${n}\nservice: api\nobjective: 90\nwindow: 7d\nsli:\n  experiments:\n    technique: T1550.001\n`,
      );
    const d = await inject('POST', '/v1/incidents', { title: 'Wide', severity: 'SEV2', priority: 'P2', slos: names });
    expect(d.statusCode, d.body).toBe(201);
    const l = (await inject('GET', `/v1/incidents/${d.json<{ id: number }>().id}/links`)).json<{
      slos: { slo: string; state: string; note: string | null }[];
    }>();
    expect(l.slos.filter((s) => s.state === 'evaluated')).toHaveLength(10);
    expect(l.slos.filter((s) => s.state === 'not-read').map((s) => s.note)).toEqual([
      expect.stringMatching(/not evaluated: at most 10 linked SLOs are evaluated per read/),
    ]);
  });

  it('the export check refuses a malformed file with a 400 naming the field', async () => {
    const base = { format: 'bulwark-incident-export/1', timeline: [], postmortem: {} };
    for (const [body, field] of [
      [base, 'postmortem'],
      [{ ...base, postmortem: [], reports: 5 }, 'reports'],
      [{ ...base, postmortem: [], evidence: {} }, 'evidence'],
    ] as const) {
      const r = await inject('POST', '/v1/incidents/exports/verify', body);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json<{ message: string }>().message).toContain(field);
    }
  });

  it('a restricted incident answers 404 on its links, postmortem and export to a non-participant', async () => {
    const d = await inject('POST', '/v1/incidents', { title: 'Quiet one', severity: 'SEV3', priority: 'P3', restricted: true });
    const id = d.json<{ id: number }>().id;
    const vic = bearer(viewerToken);
    for (const url of [`/v1/incidents/${id}/links`, `/v1/incidents/${id}/postmortem/versions`, `/v1/incidents/${id}/export`])
      expect((await inject('GET', url, undefined, vic)).statusCode, url).toBe(404);
    expect((await inject('GET', `/v1/incidents/${id}/links`)).statusCode).toBe(200);
  });

  it('the export check answers 200 or a clear 400 for any JSON, never 500 (fuzz)', async () => {
    const entry = fc.record(
      { seq: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.string()), kind: fc.string(), data: fc.jsonValue(), leafHash: fc.string() },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            format: fc.constantFrom('bulwark-incident-export/1', 'other'),
            timeline: fc.oneof(fc.array(entry, { maxLength: 4 }), fc.jsonValue()),
            incident: fc.jsonValue(),
            postmortem: fc.oneof(fc.array(fc.record({ version: fc.integer(), body: fc.string() }), { maxLength: 2 }), fc.jsonValue()),
            reports: fc.jsonValue(),
            evidence: fc.jsonValue(),
          },
          { requiredKeys: ['format'] },
        ),
        async (body) => {
          const r = await inject('POST', '/v1/incidents/exports/verify', body);
          expect([200, 400, 404], r.body).toContain(r.statusCode);
        },
      ),
      { numRuns: 60 },
    );
  });
});
