import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, type TestApp } from '../../../test/support/app.ts';
import { ManualClock } from '../../../test/support/clock.ts';
import { triageOnce } from '../../app/incidents/triage.ts';
import { verifyStore } from '../../app/ledger/verify.ts';
import { commitSignals, evidenceOf } from '../../app/signals/ingest.ts';
import { systemActor } from '../../core/ledger/actor.ts';
import { makeSignal } from '../../core/signals/signal.ts';

let t: TestApp;
const clock = new ManualClock(Date.parse('2026-04-01T08:00:00.000Z'));
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
const admin = () => bearer(t.adminToken);

beforeAll(async () => {
  t = await makeTestApp({ clock });
  for (const [name, roles] of [
    ['erin', ['viewer']],
    ['olga', ['operator']],
  ] as const) {
    const p = await t.app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: admin(),
      payload: { kind: 'person', name, roles: [...roles] },
    });
    expect(p.statusCode, p.body).toBe(201);
    ids[name] = p.json<{ id: string }>().id;
    const tok = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: admin(),
      payload: { name, principal: ids[name], scopes: ['*'] },
    });
    tokens[name] = tok.json<{ token: string }>().token;
  }
});
afterAll(async () => {
  await t?.close();
});

const inject = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, headers = admin()) =>
  t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

describe('incidents over HTTP', () => {
  it('takes a case from triage to an incident with roles, notes, a pinned signal, evidence and its postmortem', async () => {
    const now = clock.now().toISOString();
    const signal = makeSignal({
      source: 'alertmanager',
      time: now,
      receivedAt: now,
      severity: 'critical',
      labels: { alertname: 'AdminExposed', service: 'shop' },
      body: { status: 'firing' },
      dedup: { kind: 'webhook-id', id: 'admin-1' },
    });
    await commitSignals(t.deps, [
      { actor: systemActor('test'), items: [{ signal, raw: evidenceOf(Buffer.from('{"status":"firing"}'), 'application/json') }] },
    ]);
    const [caseId] = (await triageOnce(t.deps)).opened;
    expect((await inject('GET', '/v1/cases')).json().cases[0]).toMatchObject({ id: caseId, state: 'new', rule: 'critical-signals' });
    expect((await inject('POST', `/v1/cases/${caseId}/ack`)).json()).toMatchObject({ state: 'triage' });
    const esc = await inject('POST', `/v1/cases/${caseId}/escalate`, {
      severity: 'SEV2',
      priority: 'P1',
      impactStartedAt: '2026-04-01T07:50:00.000Z',
    });
    expect(esc.statusCode, esc.body).toBe(201);
    const inc = esc.json().incident.id as number;
    expect((await inject('POST', `/v1/incidents/${inc}/roles`, { role: 'commander', holder: ids.olga })).statusCode).toBe(200);
    expect((await inject('POST', `/v1/incidents/${inc}/roles`, { role: 'pilot', holder: 'x' })).statusCode).toBe(400);
    expect((await inject('POST', `/v1/incidents/${inc}/notes`, { text: 'admin panel closed at the proxy' })).statusCode).toBe(201);
    const pin = await inject('POST', `/v1/incidents/${inc}/pins`, { signal: signal.id });
    expect(pin.statusCode, pin.body).toBe(201);
    const added = await inject('POST', `/v1/incidents/${inc}/evidence`, {
      name: 'proxy.conf',
      origin: 'proxy-1:/etc/nginx/nginx.conf',
      text: 'deny all;\n',
    });
    expect(added.json()).toMatchObject({ size: 10, mediaType: 'text/plain; charset=utf-8' });
    expect((await inject('POST', `/v1/incidents/${inc}/evidence`, { name: 'x', origin: 'y', text: 'a', base64: 'YQ==' })).statusCode).toBe(
      400,
    );
    const content = await inject('GET', `/v1/incidents/${inc}/evidence/${added.json().sha256}`);
    expect(content.body).toBe('deny all;\n');
    expect((await inject('POST', `/v1/incidents/${inc}/evidence/verify`)).json()).toMatchObject({ ok: true });
    expect((await inject('POST', `/v1/incidents/${inc}/status`, { status: 'mitigated' })).json()).toMatchObject({ status: 'mitigated' });
    expect((await inject('POST', `/v1/incidents/${inc}/status`, { status: 'mitigated' })).statusCode).toBe(409);
    const detail = (await inject('GET', `/v1/incidents/${inc}`)).json();
    expect(detail.roles).toEqual([{ role: 'commander', holder: ids.olga, from: clock.now().toISOString(), to: null }]);
    expect(detail.evidence.map((e: { origin: string }) => e.origin).sort()).toEqual([
      'proxy-1:/etc/nginx/nginx.conf',
      `signal:${signal.id}`,
    ]);
    expect(detail.timeline.map((e: { kind: string }) => e.kind)).toEqual([
      'case.opened',
      'case.acknowledged',
      'incident.declared',
      'incident.participant.added',
      'case.escalated',
      'incident.role.assigned',
      'incident.participant.added',
      'incident.note',
      'incident.signal.pinned',
      'incident.evidence.added',
      'incident.evidence.added',
      'incident.evidence.accessed',
      'incident.evidence.verified',
      'incident.status.changed',
    ]);
    const pm = (await inject('POST', `/v1/incidents/${inc}/postmortem`)).json();
    expect(pm.markdown).toContain('- Time to detect: 10m');
    expect(pm.markdown).toContain('Incident commander assigned.');
  });

  it('answers 404 for a restricted incident to a non-participant, leaves it out of lists and counts, and shows it once they participate', async () => {
    const res = await inject('POST', '/v1/incidents', { title: 'Attacker in admin', severity: 'SEV1', priority: 'P1', restricted: true });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as number;
    const erin = bearer(tokens.erin!);
    const before = (await inject('GET', '/v1/incidents', undefined, erin)).json();
    expect(before.incidents.map((i: { id: number }) => i.id)).not.toContain(id);
    expect((await inject('GET', `/v1/incidents/${id}`, undefined, erin)).statusCode).toBe(404);
    expect((await inject('GET', `/v1/incidents/${id + 1000}`, undefined, erin)).json().message).toMatch(/^no incident/);
    expect((await inject('GET', `/v1/incidents/${id}`, undefined, erin)).json().message).toBe(
      `no incident ${id}; GET /v1/incidents lists them`,
    );
    expect((await inject('POST', `/v1/incidents/${id}/participants`, { participant: ids.erin })).statusCode).toBe(200);
    expect((await inject('GET', `/v1/incidents/${id}`, undefined, erin)).statusCode).toBe(200);
    const after = (await inject('GET', '/v1/incidents', undefined, erin)).json();
    expect(after.total).toBe(before.total + 1);
  });

  it('withholds a restricted incident from the ledger read routes and from its case, for who may not see it', async () => {
    const now = clock.now().toISOString();
    const signal = makeSignal({
      source: 'alertmanager',
      time: now,
      receivedAt: now,
      severity: 'critical',
      labels: { alertname: 'ExfilSuspected', service: 'billing' },
      body: { status: 'firing' },
      dedup: { kind: 'webhook-id', id: 'exfil-1' },
    });
    await commitSignals(t.deps, [
      { actor: systemActor('test'), items: [{ signal, raw: evidenceOf(Buffer.from('{}'), 'application/json') }] },
    ]);
    const [caseId] = (await triageOnce(t.deps)).opened;
    const caseTitle = (await inject('GET', `/v1/cases/${caseId}`)).json().case.title as string;
    const esc = await inject('POST', `/v1/cases/${caseId}/escalate`, { severity: 'SEV1', priority: 'P1', restricted: true });
    expect(esc.statusCode, esc.body).toBe(201);
    const secret = esc.json().incident.id as number;
    expect((await inject('POST', `/v1/incidents/${secret}/notes`, { text: 'the intruder used svc-backup' })).statusCode).toBe(201);
    expect((await inject('POST', `/v1/incidents/${secret}/participants`, { participant: ids.olga })).statusCode).toBe(200);
    const open = (await inject('POST', '/v1/incidents', { title: 'Slow checkout', severity: 'SEV3', priority: 'P3' })).json().id as number;
    expect((await inject('POST', `/v1/incidents/${open}/notes`, { text: 'cache warmed' })).statusCode).toBe(201);

    type Entry = { seq: number; subject: string; kind: string; actor: unknown; data: unknown; leafHash: string; redacted?: true };
    const entries = async (kind: string, headers: { authorization: string }) =>
      (await inject('GET', `/v1/ledger/entries?kind=${kind}&limit=1000`, undefined, headers)).json().entries as Entry[];
    const erin = bearer(tokens.erin!);
    const forErin = await entries('incident.note', erin);
    const hidden = forErin.find((e) => e.subject === `incident:${secret}`)!;
    expect(hidden).toMatchObject({ kind: 'incident.note', actor: 'redacted', data: null, redacted: true });
    expect(JSON.stringify(forErin)).not.toContain('svc-backup');
    expect(forErin.find((e) => e.subject === `incident:${open}`)).toMatchObject({ data: { text: 'cache warmed' } });
    expect(forErin.find((e) => e.subject === `incident:${open}`)!.redacted).toBeUndefined();
    const one = (await inject('GET', `/v1/ledger/entries/${hidden.seq}`, undefined, erin)).json();
    expect(one).toMatchObject({ data: null, redacted: true, leafHash: hidden.leafHash });
    const escalated = (await entries('case.escalated', erin)).find((e) => e.subject === `case:${caseId}`)!;
    expect(escalated).toMatchObject({ data: null, redacted: true });
    const declared = (await entries('incident.declared', erin)).find((e) => e.subject === `incident:${secret}`)!;
    expect(JSON.stringify(declared)).not.toContain(caseTitle);
    // The leaf hash is the one a proof includes: a redacted entry is still proven.
    const proof = (await inject('GET', `/v1/ledger/proofs/inclusion?seq=${hidden.seq}`, undefined, erin)).json();
    expect(proof.leafHash).toBe(hidden.leafHash);

    // A participant and a holder of incidents:restricted read it in full.
    for (const headers of [bearer(tokens.olga!), admin()]) {
      const full = (await entries('incident.note', headers)).find((e) => e.seq === hidden.seq)!;
      expect(full).toMatchObject({ data: { text: 'the intruder used svc-backup' }, leafHash: hidden.leafHash });
      expect(full.redacted).toBeUndefined();
      expect((await inject('GET', `/v1/cases/${caseId}`, undefined, headers)).json().case).toMatchObject({ incidentId: secret });
    }

    // The case does not point at it for a non-participant; its title is its own, as before escalation.
    const caseForErin = (await inject('GET', `/v1/cases/${caseId}`, undefined, erin)).json().case;
    expect(caseForErin).toMatchObject({ id: caseId, incidentId: null, title: caseTitle, state: 'escalated' });
    const listed = (await inject('GET', '/v1/cases', undefined, erin)).json().cases.find((c: { id: number }) => c.id === caseId);
    expect(listed).toMatchObject({ incidentId: null });
    expect((await verifyStore(t.deps.store)).ok).toBe(true);
  });

  it('has no route that changes or deletes evidence (the route table, walked)', () => {
    const routes = t.routes().filter((r) => r.url.startsWith('/v1/incidents') || r.url.startsWith('/v1/cases'));
    expect(routes.length).toBeGreaterThan(15);
    for (const r of routes) {
      expect(r.method, `${r.method} ${r.url}`).not.toBe('DELETE');
      if (r.url.includes('evidence')) expect(['GET', 'HEAD', 'POST'], `${r.method} ${r.url}`).toContain(r.method);
      if (r.url.includes('evidence') && r.method === 'POST')
        expect(['/v1/incidents/:id/evidence', '/v1/incidents/:id/evidence/verify']).toContain(r.url);
    }
  });

  it('keeps tasks and recovery checklists: add, complete, a checklist from a template; 404 for who may not see the incident', async () => {
    const templates = (await inject('GET', '/v1/incidents/checklists')).json().checklists.map((c: { name: string }) => c.name);
    expect(templates).toEqual(['rebuild-from-known-good', 'rotate-credentials', 'verify-recovery-tools']);
    const inc = (await inject('POST', '/v1/incidents', { title: 'Key leak', severity: 'SEV2', priority: 'P1', restricted: true })).json()
      .id;
    const add = await inject('POST', `/v1/incidents/${inc}/tasks`, {
      title: 'Revoke the key',
      owner: 'olga',
      dueAt: '2026-04-01T10:00:00Z',
    });
    expect(add.statusCode, add.body).toBe(201);
    expect(add.json()).toMatchObject({ id: 1, status: 'open', owner: 'olga', dueAt: '2026-04-01T10:00:00.000Z' });
    const done = await inject('POST', `/v1/incidents/${inc}/tasks/1`, { status: 'done' });
    expect(done.json()).toMatchObject({ status: 'done', doneAt: clock.now().toISOString() });
    expect((await inject('POST', `/v1/incidents/${inc}/tasks/1`, { status: 'done' })).statusCode).toBe(409);
    expect((await inject('POST', `/v1/incidents/${inc}/tasks/7`, { status: 'done' })).statusCode).toBe(404);
    expect((await inject('POST', `/v1/incidents/${inc}/tasks`, { title: 'x', dueAt: 'soon' })).statusCode).toBe(400);
    const list = await inject('POST', `/v1/incidents/${inc}/checklists`, { template: 'rotate-credentials' });
    expect(list.statusCode, list.body).toBe(201);
    expect(list.json().tasks.map((x: { id: number }) => x.id)).toEqual([2, 3, 4, 5]);
    expect((await inject('POST', `/v1/incidents/${inc}/checklists`, { template: 'nope' })).json().message).toMatch(
      /no checklist template 'nope'/,
    );
    const open = (await inject('GET', `/v1/incidents/${inc}/tasks?status=open`)).json().tasks;
    expect(open.map((x: { checklist: string }) => x.checklist)).toEqual(Array(4).fill('rotate-credentials'));
    expect((await inject('GET', `/v1/incidents/${inc}/tasks`, undefined, bearer(tokens.erin!))).statusCode).toBe(404);
    const pm = (await inject('POST', `/v1/incidents/${inc}/postmortem`)).json().markdown as string;
    expect(pm).toContain('- [ ] Rotate them from a clean machine, the most privileged first (task 3, checklist `rotate-credentials`');
    expect(pm.slice(pm.indexOf('## Action items'))).not.toContain('Revoke the key'); // done: on the timeline, not an action item
  });

  it('drafts, edits and posts a status report, keeping every version; 404 for who may not see the incident', async () => {
    const inc = (await inject('POST', '/v1/incidents', { title: 'Outage', severity: 'SEV3', priority: 'P3', restricted: true })).json().id;
    const draft = await inject('POST', `/v1/incidents/${inc}/reports`, { kind: 'executive', nextUpdateIn: '2h' });
    expect(draft.statusCode, draft.body).toBe(201);
    expect(draft.json()).toMatchObject({ report: 1, version: 1, kind: 'executive', state: 'draft' });
    expect(draft.json().body).toContain('A SEV3 incident');
    const edit = await inject('POST', `/v1/incidents/${inc}/reports/1`, { body: 'Edited.', expectVersion: 1 });
    expect(edit.json()).toMatchObject({ version: 2, body: 'Edited.' });
    expect((await inject('POST', `/v1/incidents/${inc}/reports/1/post`, { expectVersion: 1 })).statusCode).toBe(409);
    expect((await inject('POST', `/v1/incidents/${inc}/reports/1/post`, {})).json()).toMatchObject({ version: 3, state: 'posted' });
    expect((await inject('GET', `/v1/incidents/${inc}/reports/1`)).json().versions.map((v: { state: string }) => v.state)).toEqual([
      'draft',
      'draft',
      'posted',
    ]);
    expect((await inject('GET', `/v1/incidents/${inc}/reports`)).json().reports).toHaveLength(1);
    expect((await inject('POST', `/v1/incidents/${inc}/reports`, { kind: 'weekly' })).statusCode).toBe(400);
    expect((await inject('GET', `/v1/incidents/${inc}/reports`, undefined, bearer(tokens.erin!))).statusCode).toBe(404);
    expect((await inject('GET', `/v1/incidents/${inc}/reports/1`, undefined, bearer(tokens.erin!))).statusCode).toBe(404);
  });

  it('runs a tabletop exercise: start from a scenario, answer, end with a report', async () => {
    const file =
      'apiVersion: bulwark/v1\nkind: TabletopScenario\ntitle: Drill\nseverity: SEV3\ninjects: [{ at: 0m, text: go }]\nquestions: [{ id: q1, at: 0m, text: who? }]\n';
    const start = await inject('POST', '/v1/incidents/exercises', { file });
    expect(start.statusCode, start.body).toBe(201);
    const id = start.json().incident.id as number;
    expect(start.json()).toMatchObject({ incident: { title: '[Exercise] Drill' }, injects: 1 });
    expect((await inject('POST', `/v1/incidents/${id}/exercise/answers`, { question: 'q1', text: 'me' })).statusCode).toBe(201);
    expect((await inject('POST', `/v1/incidents/${id}/exercise/advance`)).json()).toEqual({ given: 0 });
    expect((await inject('POST', `/v1/incidents/${id}/exercise/end`)).json().markdown).toContain('- Answer, 0s after it was asked: me');
    expect((await inject('GET', `/v1/incidents/${id - 1}/exercise/report`)).statusCode).toBe(404);
    expect((await inject('POST', '/v1/incidents/exercises', { file: 'kind: nope' })).statusCode).toBe(400);
  });

  it('applies settings with a new severity model, and refuses a bad file with line and column', async () => {
    const bad = await inject('PUT', '/v1/incidents/settings', { file: 'apiVersion: bulwark/v1\nkind: IncidentSettings\nseverities: []\n' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/line 3, column 13 \(severities\)/);
    const ok = await inject('PUT', '/v1/incidents/settings', {
      file: 'apiVersion: bulwark/v1\nkind: IncidentSettings\nseverities: [{name: critical, means: all hands}]\n',
    });
    expect(ok.json()).toMatchObject({ version: 1, severities: [{ name: 'critical' }], rules: [] });
    expect((await inject('POST', '/v1/incidents', { title: 'x', severity: 'SEV1', priority: 'P1' })).json().message).toMatch(
      /use one of critical/,
    );
    // A webhook on a closed loopback port: the declaration waits in the outbox, listed for who may see the incident.
    const hooked = await inject('PUT', '/v1/incidents/settings', {
      file: 'apiVersion: bulwark/v1\nkind: IncidentSettings\nnotifications:\n  webhooks: [{ name: soc, url: "http://127.0.0.1:9/x", secretEnv: K }]\n',
    });
    expect(hooked.statusCode, hooked.body).toBe(200);
    const secret = (await inject('POST', '/v1/incidents', { title: 'y', severity: 'SEV2', priority: 'P1', restricted: true })).json().id;
    const listed = (await inject('GET', `/v1/incidents/notifications?incident=${secret}`)).json().notifications;
    expect(listed).toEqual([expect.objectContaining({ webhook: 'soc', event: 'declared', state: 'pending', attempts: 0 })]);
    expect((await inject('GET', '/v1/incidents/notifications', undefined, bearer(tokens.erin!))).json().notifications).toEqual([]);
  });
});
