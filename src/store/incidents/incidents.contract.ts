/**
 * The incident repository's part of the store contract, on SQLite and a real PostgreSQL: case
 * numbers, cases as compare and set, grouping without double counting, read positions,
 * restricted incidents hidden from non-participants (in lists and counts), one holder per role,
 * the timeline read back from the ledger in order, evidence stored once and never replaced, and
 * every write undone with its transaction.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { systemActor } from '../../core/ledger/actor.ts';
import type { StoreFixture } from '../store.contract.ts';
import type { Store } from '../store.ts';
import type { CaseRecord, IncidentRecord } from './port.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const aCase = (id: number, over: Partial<CaseRecord> = {}): CaseRecord => ({
  id,
  title: 'WAF alert: Waf / shop ✓',
  state: 'new',
  severity: 'high',
  rule: 'waf',
  groupKey: '["Waf","shop"]',
  openedAt: at(0),
  lastSeenAt: at(0),
  items: 0,
  assignee: null,
  assignedAt: null,
  acknowledgedAt: null,
  acknowledgedBy: null,
  closedAt: null,
  resolution: null,
  incidentId: null,
  ...over,
});

const anIncident = (id: number, over: Partial<IncidentRecord> = {}): IncidentRecord => ({
  id,
  title: 'Credential stuffing on login',
  severity: 'SEV2',
  priority: 'P2',
  status: 'active',
  restricted: false,
  impactStartedAt: at(-60),
  declaredAt: at(0),
  declaredBy: 'alice',
  mitigatedAt: null,
  resolvedAt: null,
  closedAt: null,
  caseId: null,
  ...over,
});

export function incidentRepoContract(current: () => { store: Store; fx: StoreFixture }): void {
  // A fresh database per test costs seconds on PostgreSQL, so each test walks several behaviours.
  it('cases: numbers, compare and set, grouping counted once, read positions', async () => {
    const { store } = current();
    await step('numbers cases in sequence, keeps them as written, and moves them by compare and set', async () => {
      const a = await store.incidents.nextNumber('case');
      const b = await store.incidents.nextNumber('case');
      expect(b).toBe(a + 1);
      await store.incidents.insertCase(aCase(a));
      await store.incidents.insertCase(aCase(b, { state: 'closed', resolution: 'benign' }));
      expect(await store.incidents.getCase(a)).toEqual(aCase(a));
      expect((await store.incidents.openCases()).map((c) => c.id)).toContain(a);
      expect((await store.incidents.openCases()).map((c) => c.id)).not.toContain(b);
      expect((await store.incidents.listCases({ state: 'closed', limit: 10 })).map((c) => c.id)).toEqual([b]);
      expect(await store.incidents.updateCase(a, 'triage', { state: 'closed' })).toBe(false);
      expect(await store.incidents.updateCase(a, 'new', { state: 'triage', assignee: 'bob', assignedAt: at(5) })).toBe(true);
      expect(await store.incidents.getCase(a)).toMatchObject({ state: 'triage', assignee: 'bob', assignedAt: at(5) });
    });

    await step('counts each grouped item once and keeps the latest time it saw', async () => {
      const id = await store.incidents.nextNumber('case');
      await store.incidents.insertCase(aCase(id));
      expect(await store.incidents.linkCase(id, { kind: 'signal', ref: 'sig_1', at: at(0), resolved: false })).toBe(true);
      expect(await store.incidents.linkCase(id, { kind: 'signal', ref: 'sig_2', at: at(30), resolved: false })).toBe(true);
      expect(await store.incidents.linkCase(id, { kind: 'signal', ref: 'sig_1', at: at(40), resolved: false })).toBe(false);
      expect(await store.incidents.linkCase(id, { kind: 'signal', ref: 'sig_0', at: at(10), resolved: true })).toBe(true);
      expect(await store.incidents.getCase(id)).toMatchObject({ items: 3, lastSeenAt: at(30) });
      expect((await store.incidents.caseLinks(id)).map((l) => [l.ref, l.resolved])).toEqual([
        ['sig_1', false],
        ['sig_0', true],
        ['sig_2', false],
      ]);
    });

    await step('moves a read position once (compare and set)', async () => {
      expect(await store.incidents.position('test')).toBe(0);
      expect(await store.incidents.advance('test', 0, 5)).toBe(true);
      expect(await store.incidents.advance('test', 0, 7)).toBe(false);
      expect(await store.incidents.advance('test', 5, 9)).toBe(true);
      expect(await store.incidents.position('test')).toBe(9);
    });
  });

  it('incidents: restricted visibility, one holder per role, the timeline from the ledger, evidence stored once', async () => {
    const { store } = current();
    await step(
      'hides a restricted incident from a non-participant (get, list and count) and shows it to participants and to who may see all',
      async () => {
        const open = await store.incidents.nextNumber('incident');
        const secret = await store.incidents.nextNumber('incident');
        await store.incidents.insertIncident(anIncident(open));
        await store.incidents.insertIncident(anIncident(secret, { restricted: true, title: 'Attacker in the admin panel' }));
        await store.incidents.addParticipant(secret, 'alice', at(0));
        const eve = { id: 'eve', seesRestricted: false };
        expect(await store.incidents.getIncident(secret, eve)).toBeUndefined();
        expect(await store.incidents.getIncident(open, eve)).toEqual(anIncident(open));
        const forEve = await store.incidents.listIncidents({ viewer: eve, limit: 100 });
        expect(forEve.incidents.map((i) => i.id)).not.toContain(secret);
        expect(forEve.total).toBe(forEve.incidents.length);
        const forAlice = await store.incidents.listIncidents({ viewer: { id: 'alice', seesRestricted: false }, limit: 100 });
        expect(forAlice.incidents.map((i) => i.id)).toContain(secret);
        expect(forAlice.total).toBe(forEve.total + 1);
        expect(await store.incidents.getIncident(secret, { id: 'auditor', seesRestricted: true })).toMatchObject({ restricted: true });
        expect(await store.incidents.hiddenIncidents(eve)).toContain(secret);
        expect(await store.incidents.hiddenIncidents(eve)).not.toContain(open);
        expect(await store.incidents.hiddenIncidents({ id: 'alice', seesRestricted: false })).not.toContain(secret);
        expect(await store.incidents.hiddenIncidents({ id: 'auditor', seesRestricted: true })).toEqual([]);
        expect(await store.incidents.addParticipant(secret, 'alice', at(1))).toBe(false);
        expect(await store.incidents.participants(secret)).toEqual(['alice']);
      },
    );

    await step('holds one open interval per role: a second is refused, a closed one makes room', async () => {
      const id = await store.incidents.nextNumber('incident');
      await store.incidents.insertIncident(anIncident(id));
      expect(await store.incidents.openRole(id, 'commander', 'alice', at(0))).toBe(true);
      expect(await store.incidents.openRole(id, 'commander', 'bob', at(5))).toBe(false);
      expect(await store.incidents.openRole(id, 'scribe', 'bob', at(5))).toBe(true);
      expect(await store.incidents.closeRole(id, 'commander', 'bob', at(6))).toBe(false);
      expect(await store.incidents.closeRole(id, 'commander', 'alice', at(6))).toBe(true);
      expect(await store.incidents.openRole(id, 'commander', 'bob', at(6))).toBe(true);
      expect(await store.incidents.roles(id)).toEqual([
        { role: 'commander', holder: 'alice', from: at(0), to: at(6) },
        { role: 'scribe', holder: 'bob', from: at(5), to: null },
        { role: 'commander', holder: 'bob', from: at(6), to: null },
      ]);
      expect(await store.incidents.updateIncident(id, 'mitigated', { status: 'resolved' })).toBe(false);
      expect(await store.incidents.updateIncident(id, 'active', { status: 'mitigated', mitigatedAt: at(9) })).toBe(true);
      expect(await store.incidents.getIncident(id)).toMatchObject({ status: 'mitigated', mitigatedAt: at(9) });
    });

    await step('reads a timeline back from the ledger in order, and writes nothing when its transaction fails', async () => {
      const id = await store.incidents.nextNumber('incident');
      const note = (text: string) => ({
        actor: systemActor('test'),
        kind: 'incident.note',
        subject: `incident:${id}`,
        data: { incident: id, text, corrects: null },
      });
      await store.transaction(async (tx) => {
        await tx.incidents.insertIncident(anIncident(id));
        const entries = await tx.ledger.append([note('first'), note('second — ✓')], at(1));
        await tx.incidents.addTimeline(
          `incident:${id}`,
          entries.map((e) => e.seq),
        );
      });
      const tl = await store.incidents.timeline(`incident:${id}`, { limit: 10 });
      expect(tl.map((e) => JSON.parse(e.dataJson).text)).toEqual(['first', 'second — ✓']);
      expect(await store.incidents.timeline(`incident:${id}`, { after: tl[0]!.seq, limit: 10 })).toHaveLength(1);
      await expect(
        store.transaction(async (tx) => {
          const entries = await tx.ledger.append([note('lost')], at(2));
          await tx.incidents.addTimeline(
            `incident:${id}`,
            entries.map((e) => e.seq),
          );
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(await store.incidents.timeline(`incident:${id}`, { limit: 10 })).toHaveLength(2);
    });

    await step('stores evidence once by its digest and never replaces it', async () => {
      const id = await store.incidents.nextNumber('incident');
      await store.incidents.insertIncident(anIncident(id));
      const bytes = Buffer.from([0, 1, 2, 255, 0x7b]);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await store.incidents.putBlob({ sha256, mediaType: 'application/octet-stream', size: bytes.length, bytes });
      await store.incidents.putBlob({ sha256, mediaType: 'text/plain', size: 1, bytes: Buffer.from('x') });
      expect(await store.incidents.getBlob(sha256)).toEqual({ sha256, mediaType: 'application/octet-stream', size: 5, bytes });
      const item = { incidentId: id, sha256, name: 'dump.bin', origin: 'upload', collectedBy: 'alice', collectedAt: at(3) };
      expect(await store.incidents.addEvidence(item)).toBe(true);
      expect(await store.incidents.addEvidence({ ...item, name: 'other' })).toBe(false);
      expect(await store.incidents.evidence(id)).toEqual([{ ...item, mediaType: 'application/octet-stream', size: 5 }]);
    });
  });

  it('tasks by compare and set, numbered per incident; status reports as versions, the newest per report', async () => {
    const { store } = current();
    const id = await store.incidents.nextNumber('incident');
    await store.incidents.insertIncident(anIncident(id));
    await step('numbers tasks per incident and moves them by compare and set', async () => {
      const n1 = await store.incidents.nextNumber(`task:${id}`);
      const n2 = await store.incidents.nextNumber(`task:${id}`);
      expect([n1, n2]).toEqual([1, 2]);
      const t = {
        incidentId: id,
        id: n1,
        title: 'Rotate the deploy key ✓',
        owner: 'olga',
        dueAt: at(3600),
        status: 'open' as const,
        checklist: 'rotate-credentials',
        createdAt: at(0),
        createdBy: 'cli:alice',
        updatedAt: at(0),
        doneAt: null,
      };
      await store.incidents.insertTask(t);
      await store.incidents.insertTask({ ...t, id: n2, checklist: null, owner: null, dueAt: null });
      expect(await store.incidents.getTask(id, n1)).toEqual(t);
      expect(await store.incidents.updateTask(id, n1, 'done', { status: 'open', updatedAt: at(5) })).toBe(false);
      expect(await store.incidents.updateTask(id, n1, 'open', { status: 'done', doneAt: at(5), updatedAt: at(5) })).toBe(true);
      expect((await store.incidents.tasks(id, { status: 'open' })).map((x) => x.id)).toEqual([n2]);
      expect((await store.incidents.tasks(id)).map((x) => [x.id, x.status, x.doneAt])).toEqual([
        [n1, 'done', at(5)],
        [n2, 'open', null],
      ]);
    });
    await step('keeps every version of a report, refuses a version twice, lists the newest of each', async () => {
      const v = {
        incidentId: id,
        report: 1,
        version: 1,
        kind: 'tactical' as const,
        state: 'draft' as const,
        body: '# one',
        nextUpdateAt: at(3600),
        at: at(0),
        by: 'cli:alice',
      };
      expect(await store.incidents.addReportVersion(v)).toBe(true);
      expect(await store.incidents.addReportVersion({ ...v, body: 'lost' })).toBe(false);
      expect(await store.incidents.addReportVersion({ ...v, version: 2, state: 'posted', body: '# two' })).toBe(true);
      expect(await store.incidents.addReportVersion({ ...v, report: 2, kind: 'executive', body: 'exec' })).toBe(true);
      expect((await store.incidents.reports(id)).map((r) => [r.report, r.version, r.state, r.body])).toEqual([
        [2, 1, 'draft', 'exec'],
        [1, 2, 'posted', '# two'],
      ]);
      expect((await store.incidents.reportVersions(id, 1)).map((r) => r.body)).toEqual(['# one', '# two']);
      expect(await store.incidents.reportVersions(id, 9)).toEqual([]);
    });
    await step('marks exercises, running then ended', async () => {
      const ex = await store.incidents.nextNumber('incident');
      await store.incidents.insertIncident(anIncident(ex));
      await store.incidents.markExercise(ex);
      await store.incidents.markExercise(ex);
      expect(await store.incidents.exerciseIds({ running: true })).toContain(ex);
      await store.incidents.markExerciseEnded(ex);
      expect(await store.incidents.exerciseIds({ running: true })).not.toContain(ex);
      expect(await store.incidents.exerciseIds()).toContain(ex);
      expect(await store.incidents.exerciseIds()).not.toContain(id);
    });
    await step('keeps notifications until delivered; settles an attempt once (compare and set)', async () => {
      const item = {
        webhook: 'soc',
        event: 'declared',
        incidentId: id,
        body: '{"event":"declared"}',
        createdAt: at(0),
        state: 'pending' as const,
        attempts: 0,
        nextAttemptAt: at(0),
        deliveredAt: null,
        lastError: null,
      };
      const a = await store.incidents.enqueue(item);
      const b = await store.incidents.enqueue({ ...item, nextAttemptAt: at(60) });
      expect((await store.incidents.dueNotifications(at(1), 10)).map((x) => x.id)).toEqual([a]);
      const retry = { state: 'pending' as const, attempts: 1, nextAttemptAt: at(10), deliveredAt: null, lastError: '503' };
      expect(await store.incidents.settleNotification(a, 0, retry)).toBe(true);
      expect(await store.incidents.settleNotification(a, 0, retry)).toBe(false);
      expect(await store.incidents.dueNotifications(at(5), 10)).toEqual([]);
      const done = { state: 'delivered' as const, attempts: 2, nextAttemptAt: at(60), deliveredAt: at(60), lastError: null };
      expect(await store.incidents.settleNotification(a, 1, done)).toBe(true);
      expect((await store.incidents.dueNotifications(at(60), 10)).map((x) => x.id)).toEqual([b]);
      expect((await store.incidents.notifications({ incidentId: id, limit: 10 })).map((x) => [x.id, x.state])).toEqual([
        [b, 'pending'],
        [a, 'delivered'],
      ]);
    });
  });

  it('links once each; postmortem versions kept, a version saved once; recovery tasks read across incidents', async () => {
    const { store } = current();
    const id = await store.incidents.nextNumber('incident');
    await store.incidents.insertIncident(anIncident(id));
    const link = { kind: 'slo' as const, ref: 'login-waf', addedAt: at(0), addedBy: 'cli:alice' };
    expect(await store.incidents.addLink(id, link)).toBe(true);
    expect(await store.incidents.addLink(id, { ...link, addedAt: at(5) })).toBe(false);
    expect(await store.incidents.addLink(id, { ...link, kind: 'technique', ref: 'T1110.004' })).toBe(true);
    expect(await store.incidents.links(id)).toEqual([link, { ...link, kind: 'technique', ref: 'T1110.004' }]);
    expect(await store.incidents.links(id + 1)).toEqual([]);
    const v = {
      incidentId: id,
      version: 1,
      source: 'generated' as const,
      body: '# Postmortem ✓\n',
      sha256: 'a'.repeat(64),
      at: at(0),
      by: 'cli:alice',
    };
    expect(await store.incidents.addPostmortemVersion(v)).toBe(true);
    expect(await store.incidents.addPostmortemVersion({ ...v, body: 'someone else' })).toBe(false);
    expect(await store.incidents.addPostmortemVersion({ ...v, version: 2, source: 'edited', body: 'edited' })).toBe(true);
    expect((await store.incidents.postmortemVersions(id)).map((x) => [x.version, x.source, x.body])).toEqual([
      [1, 'generated', '# Postmortem ✓\n'],
      [2, 'edited', 'edited'],
    ]);
    const task = { incidentId: id, id: 1, title: 't', owner: null, dueAt: null, status: 'done' as const, checklist: 'rotate-credentials' };
    const times = { createdAt: at(0), createdBy: 'x', updatedAt: at(9), doneAt: at(9) };
    await store.incidents.insertTask({ ...task, ...times });
    await store.incidents.insertTask({ ...task, ...times, id: 2, checklist: null });
    expect((await store.incidents.recoveryTasks()).filter((t) => t.incidentId === id)).toEqual([
      { incidentId: id, status: 'done', doneAt: at(9) },
    ]);
    await expect(
      store.transaction(async (tx) => {
        await tx.incidents.addLink(id, { ...link, ref: 'other' });
        await tx.incidents.addPostmortemVersion({ ...v, version: 3 });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await store.incidents.links(id)).length).toBe(2);
    expect((await store.incidents.postmortemVersions(id)).length).toBe(2);
  });
}

async function step(_name: string, fn: () => Promise<void>): Promise<void> {
  await fn();
}
