/**
 * Access's contract: tokens and sessions stored by hash, revoked once; sessions touched forward
 * only, pruned when over; second factors accepting each time step once, counting refused codes per
 * person in a window; recovery codes used once;
 * approvals decided once per principal, one decider at a time, and executed once; breakglass grants
 * time-boxed, reviewed once, one at a time per principal.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ContractSuite } from '../store-part.ts';
import type { Store } from '../store.ts';

const NOW = '2026-01-02T03:04:05.000Z';

export const tokensContract: ContractSuite = (current) => {
  describe('tokens', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });

    it('stores tokens by hash and revokes them once', async () => {
      const t = {
        id: 'tok1',
        name: 'ci',
        hash: Buffer.alloc(32, 1),
        principalId: 'svc:ci',
        principalKind: 'service' as const,
        scopes: ['ledger:read'],
        createdAt: NOW,
        createdBy: 'test',
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.tokens.insert(t);
      expect(await store.tokens.get('tok1')).toEqual(t);
      expect(await store.tokens.get('nope')).toBeUndefined();
      await expect(store.tokens.insert(t)).rejects.toThrow();
      expect(await store.tokens.revoke('tok1', NOW)).toBe(true);
      expect(await store.tokens.revoke('tok1', NOW)).toBe(false);
      expect((await store.tokens.list())[0]?.revokedAt).toBe(NOW);
      // Last use: written when unset or older than the bound, so at most once a minute.
      expect(await store.tokens.touchUsed('tok1', '2026-01-02T03:05:00.000Z', '2026-01-02T03:04:00.000Z')).toBe(true);
      expect(await store.tokens.touchUsed('tok1', '2026-01-02T03:05:30.000Z', '2026-01-02T03:04:30.000Z')).toBe(false);
      expect(await store.tokens.touchUsed('tok1', '2026-01-02T03:06:10.000Z', '2026-01-02T03:05:10.000Z')).toBe(true);
      expect((await store.tokens.get('tok1'))?.lastUsedAt).toBe('2026-01-02T03:06:10.000Z');
    });
  });

  describe('sessions', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const session = (id: string, over: Partial<{ expiresAt: string; lastSeenAt: string }> = {}) => ({
      id,
      hash: Buffer.alloc(32, 2),
      tokenId: 'tok1',
      createdAt: NOW,
      lastSeenAt: over.lastSeenAt ?? NOW,
      expiresAt: over.expiresAt ?? '2026-01-02T15:04:05.000Z',
      revokedAt: null,
      secondFactorAt: null,
    });

    it('stores sessions by hash, touches them forward only, revokes them once', async () => {
      const s = session('s1');
      await store.sessions.insert(s);
      expect(await store.sessions.get('s1')).toEqual(s);
      expect(await store.sessions.get('nope')).toBeUndefined();
      await expect(store.sessions.insert(s)).rejects.toThrow();
      expect(await store.sessions.touch('s1', '2026-01-02T03:10:00.000Z')).toBe(true);
      expect(await store.sessions.touch('s1', '2026-01-02T03:05:00.000Z')).toBe(false);
      expect((await store.sessions.get('s1'))?.lastSeenAt).toBe('2026-01-02T03:10:00.000Z');
      expect(await store.sessions.revoke('s1', '2026-01-02T03:11:00.000Z')).toBe(true);
      expect(await store.sessions.revoke('s1', '2026-01-02T03:12:00.000Z')).toBe(false);
      expect(await store.sessions.touch('s1', '2026-01-02T03:20:00.000Z')).toBe(false);
      expect(await store.sessions.markSecondFactor('s1', '2026-01-02T03:21:00.000Z')).toBe(false);
    });

    it('records when a session last verified its second factor', async () => {
      await store.sessions.insert(session('s2'));
      expect(await store.sessions.markSecondFactor('s2', '2026-01-02T03:06:00.000Z')).toBe(true);
      expect((await store.sessions.get('s2'))?.secondFactorAt).toBe('2026-01-02T03:06:00.000Z');
    });

    it('prunes sessions that ended before a time, and keeps the others', async () => {
      await store.sessions.insert(session('old', { expiresAt: '2026-01-01T00:00:00.000Z' }));
      await store.sessions.insert(session('live'));
      await store.sessions.insert(session('out'));
      await store.sessions.revoke('out', '2026-01-01T12:00:00.000Z');
      expect(await store.sessions.prune('2026-01-02T00:00:00.000Z')).toBe(2);
      expect(await store.sessions.get('live')).toBeDefined();
      expect(await store.sessions.get('old')).toBeUndefined();
    });
  });

  describe('principals', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });

    it('stores principals with groups and roles, disables them once, and finds their live tokens', async () => {
      const alice = {
        id: 'person:alice',
        kind: 'person' as const,
        name: 'alice',
        groups: ['sre', 'oncall'],
        roles: ['operator'],
        createdAt: NOW,
        createdBy: 'cli:root',
        disabledAt: null,
      };
      await store.principals.insert(alice);
      await expect(store.principals.insert(alice)).rejects.toThrow();
      expect(await store.principals.get('person:alice')).toEqual(alice);
      expect(await store.principals.get('person:bob')).toBeUndefined();
      const token = (id: string) => ({
        id,
        name: 'alice',
        hash: Buffer.alloc(32, id.charCodeAt(0)),
        principalId: 'person:alice',
        principalKind: 'person' as const,
        scopes: ['*'],
        createdAt: NOW,
        createdBy: 'test',
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
      });
      await store.tokens.insert(token('a1'));
      await store.tokens.insert(token('b2'));
      await store.tokens.revoke('b2', NOW);
      expect(await store.principals.liveTokens('person:alice')).toEqual(['a1']);
      expect(await store.principals.disable('person:alice', NOW)).toBe(true);
      expect(await store.principals.disable('person:alice', NOW)).toBe(false);
      expect((await store.principals.list()).map((p) => [p.id, p.disabledAt])).toEqual([['person:alice', NOW]]);
    });
  });

  describe('second factors', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const factor = (secret: string) => ({
      principalId: 'person:alice',
      kind: 'totp' as const,
      secret,
      createdAt: NOW,
      confirmedAt: null,
      lastStep: null,
    });

    it('replaces an unconfirmed enrollment, keeps a confirmed one, and accepts each time step once', async () => {
      expect(await store.secondFactors.begin(factor('AAAA'))).toBe(true);
      expect(await store.secondFactors.begin(factor('BBBB'))).toBe(true);
      expect((await store.secondFactors.get('person:alice'))?.secret).toBe('BBBB');
      expect(await store.secondFactors.useStep('person:alice', 5)).toBe(false); // not confirmed yet
      expect(await store.secondFactors.confirm('person:alice', NOW, 58_910_768)).toBe(true);
      expect(await store.secondFactors.confirm('person:alice', NOW, 58_910_769)).toBe(false);
      expect(await store.secondFactors.begin(factor('CCCC'))).toBe(false);
      expect(await store.secondFactors.useStep('person:alice', 58_910_768)).toBe(false);
      expect(await store.secondFactors.useStep('person:alice', 58_910_770)).toBe(true);
      expect(await store.secondFactors.useStep('person:alice', 58_910_769)).toBe(false);
      expect((await store.secondFactors.get('person:alice'))?.lastStep).toBe(58_910_770);
    });

    it('counts refused codes per person in a window, also two at once', async () => {
      await store.secondFactors.begin(factor('AAAA'));
      await store.secondFactors.begin({ ...factor('BBBB'), principalId: 'person:bob' });
      const at = (min: number) => new Date(Date.parse(NOW) + min * 60_000).toISOString();
      expect(await store.secondFactors.failures('person:alice', at(-15))).toBe(0);
      expect(await store.secondFactors.recordFailure('person:alice', at(0), at(-15))).toBe(1);
      await Promise.all([1, 2, 3].map(() => store.secondFactors.recordFailure('person:alice', at(1), at(-14))));
      expect(await store.secondFactors.failures('person:alice', at(-14))).toBe(4);
      expect(await store.secondFactors.failures('person:bob', at(-14))).toBe(0);
      // The window began at minute 0: past minute 15 it is over and the next refusal starts another.
      expect(await store.secondFactors.failures('person:alice', at(1))).toBe(0);
      expect(await store.secondFactors.recordFailure('person:alice', at(16), at(1))).toBe(1);
      expect(await store.secondFactors.recordFailure('person:nobody', at(16), at(1))).toBe(0);
    });

    it('takes at most the limit of attempts in a window, also many at once, and refunds an accepted one', async () => {
      await store.secondFactors.begin(factor('AAAA'));
      const at = (min: number) => new Date(Date.parse(NOW) + min * 60_000).toISOString();
      const taken = await Promise.all(Array.from({ length: 8 }, () => store.secondFactors.takeAttempt('person:alice', at(0), at(-15), 5)));
      expect(taken.filter(Boolean)).toHaveLength(5);
      await store.secondFactors.refundAttempt('person:alice', at(-15));
      expect(await store.secondFactors.failures('person:alice', at(-15))).toBe(4);
      expect(await store.secondFactors.takeAttempt('person:alice', at(1), at(-14), 5)).toBe(true);
      expect(await store.secondFactors.takeAttempt('person:alice', at(1), at(-14), 5)).toBe(false);
      expect(await store.secondFactors.takeAttempt('person:alice', at(16), at(1), 5)).toBe(true); // a new window
      expect(await store.secondFactors.failures('person:alice', at(1))).toBe(1);
      expect(await store.secondFactors.takeAttempt('person:nobody', at(16), at(1), 5)).toBe(false);
    });

    it('uses each recovery code once and removes them with the factor', async () => {
      await store.secondFactors.begin(factor('AAAA'));
      await store.secondFactors.setRecoveryCodes('person:alice', ['h1', 'h2'], NOW);
      expect(await store.secondFactors.recoveryCodesLeft('person:alice')).toBe(2);
      expect(await store.secondFactors.useRecoveryCode('person:alice', 'h1', NOW)).toBe(true);
      expect(await store.secondFactors.useRecoveryCode('person:alice', 'h1', NOW)).toBe(false);
      expect(await store.secondFactors.useRecoveryCode('person:bob', 'h2', NOW)).toBe(false);
      expect(await store.secondFactors.recoveryCodesLeft('person:alice')).toBe(1);
      expect(await store.secondFactors.remove('person:alice')).toBe(true);
      expect(await store.secondFactors.remove('person:alice')).toBe(false);
      expect(await store.secondFactors.recoveryCodesLeft('person:alice')).toBe(0);
    });
  });

  describe('approvals', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const approval = (id: string, requestedAt = NOW) => ({
      id,
      kind: 'experiment.delete',
      resource: 'experiment:x',
      payloadDigest: 'sha256:' + 'a'.repeat(64),
      summary: 'delete x',
      policy: '{"rules":[{"count":1}]}',
      requestedBy: 'person:alice',
      reason: 'obsolete',
      requestedAt,
      expiresAt: '2026-01-03T03:04:05.000Z',
      state: 'pending' as const,
      decidedAt: null,
      executedAt: null,
    });
    const decision = (principalId: string, d: 'approve' | 'deny' = 'approve') => ({
      approvalId: 'a1',
      principalId,
      decision: d,
      reason: 'ok',
      groups: ['sre'],
      roles: ['approver'],
      decidedAt: NOW,
    });

    it('stores requests, one decision per principal, and moves state by compare and set (executes once)', async () => {
      await store.approvals.insert(approval('a1'));
      await store.approvals.insert(approval('a2', '2026-01-02T04:00:00.000Z'));
      expect(await store.approvals.get('a1')).toEqual(approval('a1'));
      expect(await store.approvals.decide(decision('person:bob'))).toBe(true);
      expect(await store.approvals.decide(decision('person:bob', 'deny'))).toBe(false);
      expect(await store.approvals.decide(decision('person:carol'))).toBe(true);
      expect((await store.approvals.decisions('a1')).map((d) => [d.principalId, d.decision, d.groups])).toEqual([
        ['person:bob', 'approve', ['sre']],
        ['person:carol', 'approve', ['sre']],
      ]);
      expect(await store.approvals.setState('a1', 'pending', 'approved', NOW)).toBe(true);
      expect(await store.approvals.setState('a1', 'pending', 'denied', NOW)).toBe(false);
      const [first, second] = await Promise.all([
        store.approvals.setState('a1', 'approved', 'executed', NOW),
        store.approvals.setState('a1', 'approved', 'executed', NOW),
      ]);
      expect([first, second].filter(Boolean)).toHaveLength(1);
      expect((await store.approvals.get('a1'))?.executedAt).toBe(NOW);
      expect((await store.approvals.list({ limit: 10 })).map((a) => a.id)).toEqual(['a2', 'a1']);
      expect((await store.approvals.list({ states: ['pending'], limit: 10 })).map((a) => a.id)).toEqual(['a2']);
    });

    it('holds a request for one decider at a time, so the second sees the first decision', async () => {
      await store.approvals.insert(approval('a1'));
      const order: string[] = [];
      // PostgreSQL: the first holds the request until the second's transaction has begun, so both
      // run at once. SQLite runs one write transaction at a time: there the second begins after.
      const overlap = store.dialect === 'postgres';
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      let begun!: () => void;
      const secondBegun = new Promise<void>((r) => (begun = r));
      const first = store.transaction(async (tx) => {
        await tx.approvals.getForUpdate('a1');
        locked();
        if (overlap) await secondBegun;
        for (let i = 0; i < 5; i++) await tx.approvals.decisions('a1'); // time for the second to ask
        await tx.approvals.decide(decision('person:bob'));
        order.push('first decided');
        return (await tx.approvals.decisions('a1')).length;
      });
      await isLocked;
      const second = store.transaction(async (tx) => {
        begun();
        expect((await tx.approvals.getForUpdate('a1'))?.id).toBe('a1');
        order.push('second holds');
        await tx.approvals.decide(decision('person:carol'));
        return (await tx.approvals.decisions('a1')).length;
      });
      expect([await first, await second]).toEqual([1, 2]);
      expect(order).toEqual(['first decided', 'second holds']);
    });
  });

  describe('breakglass', () => {
    let store: Store;
    beforeEach(() => {
      ({ store } = current());
    });
    const grant = (id: string, startedAt: string, endsAt: string) => ({
      id,
      principalId: 'person:alice',
      permission: 'experiments:write',
      reason: 'outage',
      startedAt,
      endsAt,
      reviewedBy: null,
      reviewedAt: null,
      reviewNote: null,
    });

    it('holds grants for their time only, finds the latest, and is reviewed once', async () => {
      await store.breakglass.insert(grant('b1', '2026-01-02T01:00:00.000Z', '2026-01-02T01:30:00.000Z'));
      await store.breakglass.insert(grant('b2', '2026-01-02T03:00:00.000Z', '2026-01-02T03:30:00.000Z'));
      expect(await store.breakglass.activePermissions('person:alice', NOW)).toEqual(['experiments:write']);
      expect(await store.breakglass.activePermissions('person:alice', '2026-01-02T03:30:00.000Z')).toEqual([]);
      expect(await store.breakglass.activePermissions('person:bob', NOW)).toEqual([]);
      expect((await store.breakglass.latest('person:alice'))?.id).toBe('b2');
      expect(await store.breakglass.review('b1', 'person:bob', NOW, 'fine')).toBe(true);
      expect(await store.breakglass.review('b1', 'person:carol', NOW, 'again')).toBe(false);
      expect((await store.breakglass.list({ unreviewed: true, limit: 10 })).map((b) => b.id)).toEqual(['b2']);
      expect(await store.breakglass.get('b1')).toMatchObject({ reviewedBy: 'person:bob', reviewNote: 'fine' });
    });

    it('lets one breakglass at a time per principal find the last one reviewed', async () => {
      // PostgreSQL: all three transactions begin before any takes the lock, so they truly overlap.
      // SQLite runs one write transaction at a time (no waiting there: it would never end).
      const overlap = store.dialect === 'postgres';
      let arrived = 0;
      let allIn!: () => void;
      const allBegun = new Promise<void>((r) => (allIn = r));
      const tryBreak = (id: string) =>
        store.transaction(async (tx) => {
          if (++arrived === 3) allIn();
          if (overlap) await allBegun;
          await tx.breakglass.lockPrincipal('person:alice');
          const last = await tx.breakglass.latest('person:alice');
          if (last && !last.reviewedAt) return false;
          await tx.breakglass.insert(grant(id, NOW, '2026-01-02T03:30:00.000Z'));
          return true;
        });
      const results = await Promise.all([tryBreak('b1'), tryBreak('b2'), tryBreak('b3')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.breakglass.list({ limit: 10 })).toHaveLength(1);
    });
  });
};
