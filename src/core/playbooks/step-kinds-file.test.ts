/** The file format of the process, incident, case and run-experiment steps and of secrets by name: models, clear errors, fuzzed. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePlaybookFile } from './playbook-file.ts';
import { planRun } from './rules.ts';

const pb = (steps: string) => `apiVersion: bulwark/v1\nkind: Playbook\nname: k\nsteps:\n${steps}`;
const errorsOf = (steps: string) => {
  const r = parsePlaybookFile(pb(steps));
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};

describe('the new step kinds in a file', () => {
  it('read into the model, their mode a choice (manual by default)', () => {
    const r = parsePlaybookFile(
      pb(`  - id: p
    process: { path: /usr/bin/systemctl, arguments: [restart, web], env: { TOKEN: { secret: deploy-token } } }
  - id: o
    mode: auto
    incident: { open: { title: "x", severity: SEV2 } }
  - id: c
    mode: assisted
    case: { escalate: { case: 12, severity: SEV1, priority: P1 } }
  - id: v
    run-experiment: { name: waf-sqli, expect: [prevented], within: 30m }
  - id: h
    http: { url: "http://127.0.0.1/x", headers: { X-Key: { type: sealed, name: k1 } } }
`),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const [p, o, c, v, h] = r.playbook.steps;
    expect([p!.mode, o!.mode, c!.mode, v!.mode]).toEqual(['manual', 'auto', 'assisted', 'manual']);
    expect(p!.process!.env).toEqual({ TOKEN: { secret: 'deploy-token' } });
    expect(o!.incidentOp!.op).toBe('open');
    expect(c!.incidentOp!.op).toBe('escalate-case');
    expect(v!.experiment).toMatchObject({ name: 'waf-sqli', expect: ['prevented'], withinMs: 1_800_000 });
    expect(h!.http!.headers['X-Key']).toEqual({ secret: 'k1' });
    // The dry run names secrets, says what each step would do.
    const plan = planRun(r.playbook, {});
    expect(plan[0]!.action).toMatch(/start \/usr\/bin\/systemctl restart web \(sealed secrets: deploy-token\)/);
    expect(plan[2]!.action).toMatch(/escalate case 12 into an incident/);
    expect(plan[4]!.request?.secretHeaders).toEqual({ 'X-Key': 'k1' });
  });

  it('refuse what is wrong, naming the path and what to write', () => {
    expect(errorsOf(`  - id: p\n    process: { path: bin/echo }\n`).join()).toMatch(
      /steps\.0\.process\.path: path 'bin\/echo' must be absolute/,
    );
    expect(errorsOf(`  - id: o\n    incident: { open: { title: x, severity: S }, note: { incident: 1, text: y } }\n`).join()).toMatch(
      /an incident step does one of: open, note, status, task/,
    );
    expect(errorsOf(`  - id: v\n    run-experiment: { name: x, expect: [passed] }\n`).join()).toMatch(/an outcome: rollback-failed/);
    expect(errorsOf(`  - id: h\n    http: { url: "http://a/", headers: { A: { secret: "Bad Name" } } }\n`).join()).toMatch(
      /a secret name is 1–63 lowercase/,
    );
  });

  it('never crash on any value in the new sections (fuzzed)', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('process', 'incident', 'case', 'run-experiment'),
        fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 4 }),
        (kind, body) => {
          const r = parsePlaybookFile(pb(`  - id: s\n    ${kind}: ${JSON.stringify(body)}\n`));
          if (!r.ok) for (const e of r.errors) expect(e.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
