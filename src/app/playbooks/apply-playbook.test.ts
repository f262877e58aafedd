/**
 * The two-person rule on apply covers every step kind whose mode is a choice (derived from the
 * kinds' mode rules), not only `http` and `notify`: a `forEach` or `parallel` made auto by a file
 * is refused, in an `if` or `switch` branch too, and a new one declared auto needs playbooks:approve.
 */
import { describe, expect, it } from 'vitest';
import { modeIsChoice } from '../../core/playbooks/playbook-file.ts';
import { STEP_KINDS } from '../../core/playbooks/types.ts';
import { autoChangesRefused, playbookOf } from './apply-playbook.ts';

const pb = (steps: string) =>
  playbookOf(`apiVersion: bulwark/v1
kind: Playbook
name: fan
steps:
${steps}`);

const forEach = (mode: string) => `  - id: each
    mode: ${mode}
    forEach: { items: "[1, 2]", do: { http: { url: "http://127.0.0.1/x" } } }
`;
const parallel = (mode: string) => `  - id: both
    mode: ${mode}
    parallel:
      - { id: a, http: { url: "http://127.0.0.1/a" } }
      - { id: b, notify: { url: "http://127.0.0.1/b", message: hi } }
`;
const inIf = (inner: string) => `  - id: check
    if:
      condition: "true"
      then:
${inner.replace(/^/gm, '    ').trimEnd()}
`;
const inSwitch = (inner: string) => `  - id: pick
    switch:
      value: "'x'"
      cases:
        x:
${inner.replace(/^/gm, '      ').trimEnd()}
`;

describe('the two-person rule on apply', () => {
  it('holds for every kind whose mode is a choice: forEach and parallel too, nested in if and switch', () => {
    expect(STEP_KINDS.filter(modeIsChoice)).toEqual([
      'http',
      'notify',
      'forEach',
      'parallel',
      'process',
      'incident',
      'case',
      'run-experiment',
    ]);
    for (const wrap of [(s: string) => s, inIf, inSwitch])
      for (const step of [forEach, parallel]) {
        const refused = autoChangesRefused(pb(wrap(step('manual'))), pb(wrap(step('auto'))), true);
        expect(refused?.code).toBe('conflict');
        expect(refused?.message).toMatch(/auto; a step becomes automatic only by promotion/);
        expect(autoChangesRefused(pb(wrap(step('manual'))), pb(wrap(step('assisted'))), false)).toBeUndefined();
      }
  });

  it('lets only an approver add a new automatic forEach or parallel, or turn a set into one', () => {
    const start = pb(`  - id: first\n    set: { x: "1" }\n`);
    for (const step of [forEach('auto'), parallel('auto'), inIf(parallel('auto'))]) {
      const next = pb(`  - id: first\n    set: { x: "1" }\n${step}`);
      expect(autoChangesRefused(start, next, false)?.code).toBe('forbidden');
      expect(autoChangesRefused(start, next, true)).toBeUndefined();
    }
    const renamed = pb(`  - id: first\n    mode: auto\n    http: { url: "http://127.0.0.1/x" }\n`);
    expect(autoChangesRefused(start, renamed, false)?.message).toMatch(/step first is new as a step whose mode is a choice/);
  });
});
