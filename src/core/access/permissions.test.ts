import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACCESS_PERMISSIONS, boundResources, can, isValidScope as isValidScopeIn, type Permission } from './permissions.ts';
import { EXPERIMENT_PERMISSIONS } from '../experiments/permissions.ts';
import { LEDGER_PERMISSIONS } from '../ledger/permissions.ts';
import { OPERATIONS_PERMISSIONS } from '../operations/permissions.ts';
import { SIGNAL_PERMISSIONS } from '../signals/permissions.ts';

/** Every capability's permissions, as the registry lists them (src/capabilities/index.ts: PERMISSIONS). */
const PERMISSIONS: readonly Permission[] = [
  ...OPERATIONS_PERMISSIONS,
  ...LEDGER_PERMISSIONS,
  ...ACCESS_PERMISSIONS,
  ...SIGNAL_PERMISSIONS,
  ...EXPERIMENT_PERMISSIONS,
];
const isValidScope = (scope: string) => isValidScopeIn(scope, PERMISSIONS);

const p = (...scopes: string[]) => ({ scopes });

describe('permissions', () => {
  it('grants by exact permission, area wildcard and *, and denies everything else', () => {
    expect(can(p('ledger:read'), 'ledger:read')).toBe(true);
    expect(can(p('ledger:*'), 'ledger:write')).toBe(true);
    expect(can(p('*'), 'signals:ingest', 'anything')).toBe(true);
    expect(can(p('ledger:read'), 'ledger:write')).toBe(false);
    expect(can(p(), 'session:read')).toBe(false);
  });

  it('lets a source-bound ingest token post to its own source only', () => {
    const am = p('signals:ingest:alertmanager');
    expect(can(am, 'signals:ingest', 'alertmanager')).toBe(true);
    expect(can(am, 'signals:ingest', 'cloudevents')).toBe(false);
    expect(can(am, 'signals:ingest', 'alertmanager-2')).toBe(false);
    // Without a resource: the route lets it in, the handler asks again with the source.
    expect(can(am, 'signals:ingest')).toBe(true);
    expect(can(am, 'signals:read')).toBe(false);
    expect(can(p('signals:ingest'), 'signals:ingest', 'any-source')).toBe(true);
    expect(can(p('signals:*'), 'signals:ingest', 'any-source')).toBe(true);
    expect(boundResources(p('signals:ingest:a', 'ledger:read', 'signals:ingest:b'), 'signals:ingest')).toEqual(['a', 'b']);
  });

  it('binds only permissions that take a resource', () => {
    expect(can(p('ledger:read:x'), 'ledger:read')).toBe(false);
    expect(isValidScope('ledger:read:x')).toBe(false);
    expect(isValidScope('signals:read:x')).toBe(false);
  });

  it('accepts known permissions, wildcards and well-formed bound scopes, nothing else', () => {
    for (const perm of PERMISSIONS) expect(isValidScope(perm)).toBe(true);
    for (const ok of ['*', 'signals:*', 'signals:ingest:alertmanager', 'signals:ingest:waf-1', 'signals:ingest:0_x'])
      expect(isValidScope(ok), ok).toBe(true);
    for (const bad of [
      'signals:ingest:',
      'signals:ingest:Alertmanager',
      'signals:ingest:a b',
      'signals:ingest:-x',
      'signals:ingest:a:b',
      'nope:*',
      'signals',
      '',
    ]) {
      expect(isValidScope(bad), bad).toBe(false);
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        const v = isValidScope(`signals:ingest:${s}`);
        expect(v).toBe(/^[a-z0-9][a-z0-9_-]{0,62}$/.test(s));
      }),
    );
  });
});
