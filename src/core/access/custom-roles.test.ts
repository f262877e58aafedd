/** Custom roles from YAML with CEL conditions: allowed and refused by resource labels; an expression that fails to evaluate denies; bad files refused naming what to fix. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grantedPermissions, readRoles, roleAllows, roleFrom, type ConditionInput } from './custom-roles.ts';

const KNOWN = ['experiments:read', 'experiments:run', 'experiments:write', 'session:read'];
const FILE = `
roles:
  - name: checkout-runner
    description: a team runs only experiments labelled with its own team
    grants: [experiments:read, experiments:run]
    condition: resource.labels.team in principal.groups
  - name: tier-check
    grants: [experiments:run]
    condition: resource.labels.tier == "staging"
`;

const input = (labels: Record<string, string>, permission = 'experiments:run'): ConditionInput => ({
  principal: { id: 'person:alice', kind: 'person', groups: ['checkout'], roles: ['checkout-runner'] },
  request: { method: 'POST', permission },
  resource: { kind: 'experiment', name: 'waf', labels },
});

describe('custom roles', () => {
  const read = readRoles(FILE, KNOWN);
  if (!read.ok) throw new Error(JSON.stringify(read.errors));
  const [team, tier] = read.roles as [NonNullable<(typeof read.roles)[0]>, NonNullable<(typeof read.roles)[0]>];

  it('allows by the resource labels the condition names, and refuses others', () => {
    expect(roleAllows(team, input({ team: 'checkout' }))).toMatchObject({ allowed: true });
    expect(roleAllows(team, input({ team: 'payments' }))).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('does not hold'),
    });
    expect(roleAllows(team, input({ team: 'checkout' }, 'experiments:write'))).toMatchObject({ allowed: false });
  });

  it('denies when the condition fails to evaluate (a label that is not there)', () => {
    expect(roleAllows(team, input({}))).toMatchObject({ allowed: false, reason: expect.stringContaining('failed to evaluate') });
    expect(roleAllows(tier, input({ team: 'checkout' }))).toMatchObject({ allowed: false });
    expect(roleAllows(tier, input({ tier: 'staging' }))).toMatchObject({ allowed: true });
  });

  it('reads a label named like an object key as a label, never as the object type', () => {
    expect(roleAllows(tier, input({ tier: 'staging', constructor: 'x' }))).toMatchObject({ allowed: true });
    const c = roleFrom({ name: 'c', description: '', grants: ['experiments:run'], condition: 'resource.labels.constructor == "x"' });
    expect(roleAllows(c, input({ constructor: 'x' }))).toMatchObject({ allowed: true });
    expect(roleAllows(c, input({}))).toMatchObject({ allowed: false });
  });

  it('denies on a stored condition that no longer compiles, and expands grants to permissions', () => {
    const broken = roleFrom({ name: 'b', description: '', grants: ['experiments:*'], condition: 'resource.nope == 1' });
    expect(roleAllows(broken, input({ team: 'checkout' }))).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('does not compile'),
    });
    expect(grantedPermissions(broken, KNOWN)).toEqual(['experiments:read', 'experiments:run', 'experiments:write']);
    expect(grantedPermissions({ grants: ['*'] }, KNOWN)).toEqual(KNOWN);
  });

  it('refuses bad files naming what to fix', () => {
    const bad = (text: string) => {
      const r = readRoles(text, KNOWN);
      return r.ok ? '' : r.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    };
    expect(bad('roles:\n  - name: admin\n    grants: [experiments:run]\n')).toContain('built-in role');
    expect(bad('roles:\n  - name: x\n    grants: [nukes:launch]\n')).toContain('not a permission');
    expect(bad('roles:\n  - name: x\n    grants: [experiments:run]\n    condition: resource.lables.team == "a"\n')).toContain('CEL');
    expect(bad('roles:\n  - name: x\n    grants: [experiments:run]\n    condition: resource.name\n')).toContain('not bool');
    expect(bad('roles: []\n')).toContain('no roles');
  });

  it('never throws on any text, and never allows on any labels when the condition does not hold', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        readRoles(text, KNOWN);
        readRoles(`roles:\n  - name: x\n    grants: [experiments:run]\n    condition: ${JSON.stringify(text)}\n`, KNOWN);
      }),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), (labels) => {
        expect(roleAllows(team, input(labels)).allowed).toBe(labels['team'] === 'checkout');
      }),
      { numRuns: 150 },
    );
  });
});
