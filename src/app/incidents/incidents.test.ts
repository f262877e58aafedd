import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor, systemActor } from '../../core/ledger/actor.ts';
import { makeSignal } from '../../core/signals/signal.ts';
import { postmortemMarkdown } from '../../core/incidents/postmortem.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { verifyStore } from '../ledger/verify.ts';
import { commitSignals, evidenceOf } from '../signals/ingest.ts';
import { burnSubmission } from '../slos/burn-signals.ts';
import { acknowledgeCase, assignCase, closeCase, escalateCase, getCase } from './cases.ts';
import { addEvidence, pinSignal, readEvidence, verifyEvidence } from './evidence.ts';
import { addNote, addParticipant, assignIncidentRole, declareIncident, incidentDetail, setIncidentStatus } from './incidents.ts';
import { applySlo } from '../slos/apply-slo.ts';
import { incidentLinks } from './links.ts';
import { postmortemInput } from './postmortem.ts';
import { applyIncidentSettings } from './settings.ts';
import { addChecklist, addTask, changeTask } from './tasks.ts';
import { triageOnce } from './triage.ts';

const GOLDEN = path.resolve(import.meta.dirname, '../../../test/fixtures/incidents/postmortem.golden.md');

let dir: TmpDir;
let store: Store;
let clock: ManualClock;
let deps: AppDeps;
const alice = cliActor('alice');
const bob = cliActor('bob');
const all = { id: 'alice', seesRestricted: true };

beforeEach(async () => {
  dir = await tmpDir('bulwark-incidents-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
  clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
  deps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

async function ingest(
  key: string,
  labels: Record<string, string>,
  opts: { resolved?: boolean; severity?: 'critical' | 'high'; source?: string } = {},
) {
  const now = clock.now().toISOString();
  const signal = makeSignal({
    source: opts.source ?? 'alertmanager',
    time: now,
    receivedAt: now,
    severity: opts.severity ?? 'critical',
    labels,
    body: { key, labels },
    dedup: { kind: 'webhook-id', id: key },
    resolved: opts.resolved ?? false,
  });
  await commitSignals(deps, [
    { actor: systemActor('test'), items: [{ signal, raw: evidenceOf(Buffer.from(JSON.stringify({ key, labels })), 'application/json') }] },
  ]);
  return signal.id;
}

async function kinds(subject?: string) {
  const out: { kind: string; subject: string; data: unknown }[] = [];
  for await (const { entry } of store.ledger.scan(0, undefined))
    if (!subject || entry.subject === subject) out.push({ kind: entry.kind, subject: entry.subject, data: JSON.parse(entry.dataJson) });
  return out;
}

describe('triage', () => {
  it('makes a storm of alerts with one group key one case; a restart neither loses nor repeats; a resolved alert joins and is recorded', async () => {
    for (let i = 0; i < 30; i++) {
      await ingest(`storm-${i}`, { alertname: 'WafDown', service: 'shop' });
      clock.advance(1000);
    }
    const first = await triageOnce(deps, { batch: 7 });
    expect(first).toMatchObject({ read: 30, grouped: 29 });
    expect(first.opened).toHaveLength(1);
    expect(await triageOnce(deps)).toEqual({ read: 0, opened: [], grouped: 0 });
    // Arrives after the first pass: read from where it stopped, joins the same case.
    await ingest('late', { alertname: 'WafDown', service: 'shop' });
    await ingest('resolved', { alertname: 'WafDown', service: 'shop' }, { resolved: true });
    expect(await triageOnce(deps)).toMatchObject({ read: 2, opened: [], grouped: 2 });
    const { case: c, links } = await getCase(deps, first.opened[0]!);
    expect(c).toMatchObject({
      state: 'new',
      rule: 'critical-signals',
      items: 32,
      severity: 'critical',
      title: 'Critical signal: alertmanager / WafDown',
    });
    expect(links.filter((l) => l.resolved)).toHaveLength(1);
    const entries = await kinds(`case:${c.id}`);
    expect(entries.map((e) => e.kind)).toEqual(['case.opened', ...Array<string>(31).fill('case.grouped')]);
  });

  it('opens a case for a missed run by rule, linked to the run, and one for an SLO burn alert', async () => {
    await store.transaction((tx) =>
      tx.ledger.append(
        [
          {
            actor: systemActor('runner'),
            kind: 'run.finished',
            subject: 'run:r1',
            data: {
              run: 'r1',
              experiment: 'sqli-products',
              outcome: 'missed',
              reason: 'no detection in 30s',
              expectationsMet: false,
              ttdMs: null,
              injections: 1,
              detections: 0,
            },
          },
        ],
        clock.now().toISOString(),
      ),
    );
    const burn = burnSubmission(
      { name: 'sqli-detected', service: 'shop' },
      { severity: 'page', firing: true, why: 'burning', pairs: [] } as never,
      null,
      clock.now().toISOString(),
    );
    await commitSignals(deps, [burn]);
    const r = await triageOnce(deps);
    expect(r.opened).toHaveLength(2);
    const cases = await store.incidents.listCases({ limit: 10 });
    expect(cases.map((c) => [c.rule, c.title, c.severity])).toEqual([
      ['missed-detection', 'Experiment run not detected: sqli-products', 'high'],
      ['slo-burn', 'SLO burn-rate alert: sqli-detected', 'high'],
    ]);
    const runCase = cases.find((c) => c.rule === 'missed-detection')!;
    expect(await store.incidents.caseLinks(runCase.id)).toEqual([
      { kind: 'run', ref: 'r1', at: clock.now().toISOString(), resolved: false },
    ]);
  });

  it('follows applied rules, and refuses a bad settings file with what to fix', async () => {
    await expect(
      applyIncidentSettings(
        deps,
        alice,
        'apiVersion: bulwark/v1\nkind: IncidentSettings\nrules:\n  - {name: x, on: signal, match: "signal.nope", window: 1h, severity: high}\n',
      ),
    ).rejects.toThrow(/line 4, column .* \(rules.0.match\): CEL error/);
    const applied = await applyIncidentSettings(deps, alice, 'apiVersion: bulwark/v1\nkind: IncidentSettings\nrules: []\n');
    expect(applied).toMatchObject({ changed: true, record: { version: 1 } });
    await ingest('quiet', { alertname: 'WafDown' });
    expect(await triageOnce(deps)).toMatchObject({ read: 1, opened: [] });
  });
});

describe('cases and incidents', () => {
  it('acknowledges, assigns, closes with a resolution from the taxonomy, and escalates into an incident whose timeline starts with the case', async () => {
    await ingest('a', { alertname: 'AdminExposed' });
    await ingest('b', { alertname: 'Brute' });
    const [one, two] = (await triageOnce(deps)).opened as [number, number];
    clock.advance(60_000);
    expect(await acknowledgeCase(deps, alice, one)).toMatchObject({
      state: 'triage',
      acknowledgedBy: 'cli:alice',
      acknowledgedAt: clock.now().toISOString(),
    });
    await expect(acknowledgeCase(deps, bob, one)).rejects.toThrow(/acknowledged at/);
    expect(await assignCase(deps, alice, two, 'bob')).toMatchObject({ state: 'triage', assignee: 'bob' });
    await expect(closeCase(deps, bob, two, 'not-a-resolution', null)).rejects.toThrow(/use one of benign, false-positive/);
    expect(await closeCase(deps, bob, two, 'false-positive', 'scanner')).toMatchObject({ state: 'closed', resolution: 'false-positive' });
    await expect(escalateCase(deps, bob, two, { severity: 'SEV2', priority: 'P2' })).rejects.toThrow(/only an open case/);
    await expect(escalateCase(deps, bob, one, { severity: 'SEV9', priority: 'P2' })).rejects.toThrow(/use one of SEV1, SEV2, SEV3, SEV4/);
    const { incident, case: c } = await escalateCase(deps, alice, one, { severity: 'SEV2', priority: 'P1' });
    expect(c).toMatchObject({ state: 'escalated', incidentId: incident.id });
    const detail = await incidentDetail(deps, all, incident.id);
    expect(detail.timeline.map((e) => e.kind)).toEqual([
      'case.opened',
      'case.acknowledged',
      'incident.declared',
      'incident.participant.added',
      'case.escalated',
    ]);
  });

  it('hands a role off at one instant and refuses an interval inside a past one; each assignment is an entry', async () => {
    const i = await declareIncident(deps, alice, { title: 'Login brute force', severity: 'SEV3', priority: 'P3' });
    await assignIncidentRole(deps, alice, all, i.id, 'commander', 'alice');
    clock.advance(300_000);
    await assignIncidentRole(deps, alice, all, i.id, 'commander', 'bob');
    const roles = (await incidentDetail(deps, all, i.id)).roles;
    expect(roles).toEqual([
      { role: 'commander', holder: 'alice', from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T10:05:00.000Z' },
      { role: 'commander', holder: 'bob', from: '2026-03-01T10:05:00.000Z', to: null },
    ]);
    clock.set('2026-03-01T10:02:00.000Z'); // a clock stepped back: the new interval would overlap alice's
    await expect(assignIncidentRole(deps, alice, all, i.id, 'commander', 'carol')).rejects.toThrow(/cannot start inside it/);
    const handoffs = (await kinds(`incident:${i.id}`)).filter((e) => e.kind === 'incident.role.assigned');
    expect(handoffs.map((e) => e.data)).toEqual([
      { incident: i.id, role: 'commander', holder: 'alice', from: '2026-03-01T10:00:00.000Z', previous: null },
      {
        incident: i.id,
        role: 'commander',
        holder: 'bob',
        from: '2026-03-01T10:05:00.000Z',
        previous: { holder: 'alice', from: '2026-03-01T10:00:00.000Z' },
      },
    ]);
  });

  it('keeps a restricted incident invisible to a non-participant and visible to a participant; adding one is an entry', async () => {
    const i = await declareIncident(deps, alice, { title: 'Attacker in admin', severity: 'SEV1', priority: 'P1', restricted: true });
    const eve = { id: 'eve', seesRestricted: false };
    await expect(incidentDetail(deps, eve, i.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(addNote(deps, cliActor('eve'), eve, i.id, 'peek', null)).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.incidents.listIncidents({ viewer: eve, limit: 10 })).total).toBe(0);
    expect((await incidentDetail(deps, { id: 'alice', seesRestricted: false }, i.id)).incident.restricted).toBe(true);
    await addParticipant(deps, alice, { id: 'alice', seesRestricted: false }, i.id, 'eve');
    expect((await incidentDetail(deps, eve, i.id)).participants).toEqual(['alice', 'eve']);
    expect((await kinds(`incident:${i.id}`)).filter((e) => e.kind === 'incident.participant.added').map((e) => e.data)).toEqual([
      { incident: i.id, participant: 'alice' },
      { incident: i.id, participant: 'eve' },
    ]);
  });

  it('keeps evidence by digest with its custody, and verify finds altered content; the ledger still verifies', async () => {
    const sig = await ingest('pin-me', { alertname: 'SqlInjection' });
    const i = await declareIncident(deps, alice, { title: 'SQLi', severity: 'SEV2', priority: 'P2' });
    const pinned = await pinSignal(deps, alice, all, i.id, sig);
    expect(pinned).toMatchObject({ origin: `signal:${sig}`, mediaType: 'application/json' });
    await expect(pinSignal(deps, alice, all, i.id, sig)).rejects.toMatchObject({ code: 'conflict' });
    const log = await addEvidence(deps, alice, all, i.id, {
      name: 'access.log',
      mediaType: 'text/plain',
      bytes: Buffer.from('GET /admin 200\n'),
      origin: 'web-1:/var/log/nginx/access.log',
    });
    await expect(
      addEvidence(deps, alice, all, i.id, { name: 'big', mediaType: 'text/plain', bytes: Buffer.alloc(1024 * 1024 + 1), origin: 'x' }),
    ).rejects.toMatchObject({ code: 'payload_too_large' });
    expect((await readEvidence(deps, bob, all, i.id, log.sha256)).bytes.toString()).toBe('GET /admin 200\n');
    expect(await verifyEvidence(deps, alice, all, i.id)).toMatchObject({ ok: true });
    // Alter the stored content behind the product's back.
    const { sql } = await import('kysely');
    const db = (store as unknown as { db: import('kysely').Kysely<never> }).db;
    await sql`update incident_evidence_blobs set bytes = ${Buffer.from('GET /admin 404\n')} where sha256 = ${log.sha256}`.execute(db);
    const v = await verifyEvidence(deps, alice, all, i.id);
    expect(v.ok).toBe(false);
    expect(v.items.find((x) => x.sha256 === log.sha256)!.problem).toMatch(/hashes to .* not to its digest/);
    // A row renamed, and a row removed: both found against the ledger.
    await sql`update incident_evidence set name = ${'innocent.log'} where sha256 = ${pinned.sha256}`.execute(db);
    expect((await verifyEvidence(deps, alice, all, i.id)).items.find((x) => x.sha256 === pinned.sha256)!.problem).toMatch(
      /differs from the ledger's \(name 'signal-/,
    );
    await sql`delete from incident_evidence where sha256 = ${pinned.sha256}`.execute(db);
    expect((await verifyEvidence(deps, alice, all, i.id)).items.find((x) => x.sha256 === pinned.sha256)!.problem).toMatch(
      /no longer stored/,
    );
    const custody = (await kinds(`incident:${i.id}`))
      .map((e) => e.kind)
      .filter((k) => k.startsWith('incident.evidence') || k === 'incident.signal.pinned');
    expect(custody).toEqual([
      'incident.signal.pinned',
      'incident.evidence.added',
      'incident.evidence.added',
      'incident.evidence.accessed',
      ...Array<string>(4).fill('incident.evidence.verified'),
    ]);
    expect((await verifyStore(store)).ok).toBe(true);
  });
});

describe('postmortem', () => {
  it('of a scripted incident equals the golden file (fixed clock): times, durations, roles not names', async () => {
    // An SLO over the runs of a credential stuffing drill, and its runs: hourly until the impact
    // (the last one before it missed), two missed inside the impact window, one detected after.
    await applySlo(
      deps,
      alice,
      'apiVersion: bulwark/v1\nkind: SLO\nname: login-detects\nservice: login\nobjective: 90\nwindow: 7d\nsli:\n  experiments:\n    technique: T1110.004\n',
    );
    await store.experiments.put(
      {
        name: 'stuffing-drill',
        title: 'Credential stuffing drill',
        description: '',
        techniques: ['T1110.004'],
        file: 'x',
        fileSha256: '0'.repeat(64),
        schedule: null,
        privileged: false,
        appliedBy: 'cli:alice',
      },
      '2026-02-28T00:00:00.000Z',
    );
    const ends = [
      ...Array.from({ length: 10 }, (_, k) => `2026-03-01T0${k}:30:00.000Z`),
      '2026-03-01T09:45:00.000Z',
      '2026-03-01T10:05:00.000Z',
      '2026-03-01T10:50:00.000Z',
    ];
    for (const [k, end] of ends.entries())
      await store.runs.insert({
        id: `pmrun${String(k).padStart(11, '0')}`,
        experiment: 'Credential stuffing drill',
        state: 'done',
        outcome: k >= 9 && k <= 11 ? 'missed' : 'detected',
        reason: 'test',
        startedAt: end,
        endedAt: end,
        leaseOwner: null,
        leaseUntil: null,
        rollbacks: [],
        journal: { bulwark: { techniques: ['T1110.004'] } },
        ttdMs: null,
        dryRun: false,
      });
    clock.set('2026-03-01T09:55:00.000Z');
    await ingest('pm-1', { alertname: 'CredentialStuffing', service: 'login' });
    clock.advance(30_000);
    await ingest('pm-2', { alertname: 'CredentialStuffing', service: 'login' });
    const [caseId] = (await triageOnce(deps)).opened as [number];
    clock.set('2026-03-01T09:58:00.000Z');
    await acknowledgeCase(deps, alice, caseId);
    clock.set('2026-03-01T10:00:00.000Z');
    const { incident } = await escalateCase(deps, alice, caseId, {
      severity: 'SEV2',
      priority: 'P1',
      impactStartedAt: '2026-03-01T09:40:00.000Z',
      title: 'Credential stuffing against login',
      slos: ['login-detects'],
      techniques: ['T1110'],
    });
    await assignIncidentRole(deps, alice, all, incident.id, 'commander', 'alice');
    await assignIncidentRole(deps, alice, all, incident.id, 'scribe', 'bob');
    clock.set('2026-03-01T10:12:00.000Z');
    await addNote(deps, bob, all, incident.id, 'Rate limit on /login raised from 100 to 10 per minute per IP.', null);
    await addEvidence(deps, bob, all, incident.id, {
      name: 'login-excerpt.log',
      mediaType: 'text/plain',
      bytes: Buffer.from('POST /login 401 x 9000\n'),
      origin: 'web-1:/var/log/nginx/access.log',
    });
    clock.set('2026-03-01T10:20:00.000Z');
    await setIncidentStatus(deps, alice, all, incident.id, 'mitigated', 'attack traffic blocked');
    const [first] = await addChecklist(deps, alice, all, incident.id, 'rotate-credentials');
    await changeTask(deps, bob, all, incident.id, first!.id, { status: 'done' });
    await addTask(deps, alice, all, incident.id, {
      title: 'Review the rate limits of every public form',
      owner: 'platform team',
      dueAt: '2026-03-08T17:00:00Z',
    });
    clock.set('2026-03-01T10:45:00.000Z');
    await assignIncidentRole(deps, alice, all, incident.id, 'commander', 'carol');
    await addNote(deps, cliActor('carol'), all, incident.id, 'action: alert on login failure ratio per IP, not only per account', null);
    clock.set('2026-03-01T11:30:00.000Z');
    await setIncidentStatus(deps, cliActor('carol'), all, incident.id, 'resolved', null);
    const links = await incidentLinks(deps, all, incident.id);
    const md = postmortemMarkdown(await store.transaction((tx) => postmortemInput(deps, tx, all, incident.id, links)));
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(GOLDEN, md);
    expect(md).toBe(await readFile(GOLDEN, 'utf8'));
    expect(md).not.toMatch(/alice|bob|carol/);
  });
});
