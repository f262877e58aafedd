import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCESS_PERMISSIONS, can, type Permission } from './permissions.ts';
import { BUILT_IN_ROLES, effectiveScopes, roleGrants } from './roles.ts';
import { EXPERIMENT_PERMISSIONS } from '../experiments/permissions.ts';
import { LEDGER_PERMISSIONS } from '../ledger/permissions.ts';
import { OPERATIONS_PERMISSIONS } from '../operations/permissions.ts';
import { SIGNAL_PERMISSIONS } from '../signals/permissions.ts';

const ALL: readonly Permission[] = [
  ...OPERATIONS_PERMISSIONS,
  ...LEDGER_PERMISSIONS,
  ...ACCESS_PERMISSIONS,
  ...SIGNAL_PERMISSIONS,
  ...EXPERIMENT_PERMISSIONS,
];

describe('roles', () => {
  it('grant least privilege: viewers read, responders run, operators apply, only admins manage access', () => {
    const grants = (r: string) => [...roleGrants([r], ALL)].sort();
    expect(grants('viewer').every((p) => p.endsWith(':read'))).toBe(true);
    expect(grants('viewer')).toContain('ledger:read');
    expect(grants('responder')).toEqual(expect.arrayContaining(['experiments:run', 'experiments:stop', 'ledger:write']));
    expect(grants('responder')).not.toContain('experiments:write');
    expect(grants('operator')).toContain('experiments:write');
    for (const r of ['viewer', 'responder', 'operator', 'approver', 'signal-sender'])
      for (const p of ['tokens:manage', 'principals:manage', 'experiments:privileged'] as const)
        expect(grants(r), `${r} ${p}`).not.toContain(p);
    expect(grants('admin')).toEqual([...ALL].sort());
    expect(grants('signal-sender')).toEqual(['session:read', 'signals:ingest']);
    expect([...roleGrants(['no-such-role'], ALL)]).toEqual([]);
  });

  it('narrow a token to its roles, never widen it', () => {
    expect(effectiveScopes(['*'], ['viewer'], ALL).every((p) => p.endsWith(':read'))).toBe(true);
    expect(effectiveScopes(['ledger:read'], ['operator'], ALL)).toEqual(['ledger:read']);
    expect(effectiveScopes(['*'], ['admin'], ALL)).toEqual(['*']);
    expect(effectiveScopes(['signals:ingest:waf'], ['signal-sender'], ALL)).toEqual(['signals:ingest:waf']);
    expect(effectiveScopes(['signals:ingest:waf'], ['viewer'], ALL)).toEqual([]);
  });

  it('give a request only what both the token and the roles grant (property)', () => {
    const scope = fc.oneof(fc.constantFrom('*', ...ALL, 'ledger:*', 'experiments:*', 'signals:ingest:waf'));
    fc.assert(
      fc.property(fc.array(scope, { maxLength: 6 }), fc.subarray([...BUILT_IN_ROLES]), (scopes, roles) => {
        const eff = { scopes: effectiveScopes(scopes, roles, ALL) };
        const granted = roleGrants(roles, ALL);
        for (const p of ALL) {
          if (can(eff, p)) {
            expect(can({ scopes }, p)).toBe(true);
            expect(granted.has(p)).toBe(true);
          }
          if (can({ scopes }, p, 'waf') && granted.has(p)) expect(can(eff, p, 'waf')).toBe(true);
        }
      }),
    );
  });
});
