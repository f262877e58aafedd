/**
 * A process step's values from expressions (a run's inputs, a signal's fields) stay data: never
 * read by a shell as code, never read by the program as an option.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePlaybookFile } from './playbook-file.ts';
import { prepareProcess } from './rules.ts';

const pb = (steps: string) => `apiVersion: bulwark/v1\nkind: Playbook\nname: k\nsteps:\n${steps}`;
const ctx = (inputs: Record<string, unknown>) => ({ inputs, steps: {}, trigger: null, run: { id: 'r1', playbook: 'k', version: 1 } });

describe('a process step', () => {
  it('refuses expressions in a command line for the shell, naming the field and the fix', () => {
    const r = parsePlaybookFile(pb(`  - id: p\n    process: { path: /bin/sh, arguments: "-c 'restart \${{ inputs.host }}'" }\n`));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n')).toMatch(/arguments.*cannot hold expressions.*argv/);
  });

  it('keeps a fixed command line for the shell, as experiments allow', () => {
    expect(parsePlaybookFile(pb(`  - id: p\n    process: { path: /bin/sh, arguments: "-c 'systemctl restart web'" }\n`)).ok).toBe(true);
  });

  it('passes any value from an expression as one argument, and refuses one that would be an option', () => {
    const r = parsePlaybookFile(pb(`  - id: p\n    process: { path: /bin/echo, arguments: ["-n", "restart", "\${{ inputs.host }}"] }\n`));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const step = r.playbook.steps[0]!;
    const ok = prepareProcess(step, ctx({ host: 'web-1; id; echo INJECTED' }));
    expect(ok.ok && ok.process.provider.arguments).toEqual({ kind: 'argv', argv: ['-n', 'restart', 'web-1; id; echo INJECTED'] });
    const option = prepareProcess(step, ctx({ host: '--output=/etc/passwd' }));
    expect(option.ok).toBe(false);
    if (!option.ok) expect(option.message).toMatch(/argument 2 .*starting with '-'.*option/);
  });

  it('never lets a value from an expression become an option, whatever it is', () => {
    const r = parsePlaybookFile(pb(`  - id: p\n    process: { path: /bin/echo, arguments: ["\${{ inputs.v }}"] }\n`));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const step = r.playbook.steps[0]!;
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (v) => {
        const p = prepareProcess(step, ctx({ v }));
        if (p.ok) {
          expect(p.process.provider.arguments).toEqual({ kind: 'argv', argv: [v] });
          expect(v.startsWith('-')).toBe(false);
        } else expect(v.startsWith('-')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
