import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from './expressions.ts';
import { parsePlaybookFile, resolveInputs, withStepMode } from './playbook-file.ts';
import { backoffMs, planRun } from './rules.ts';

const EXAMPLE = readFileSync(new URL('../../../test/fixtures/playbooks/block-ip.yaml', import.meta.url), 'utf8');

describe('playbook files', () => {
  it('reads the example: trigger, inputs, steps flattened with their guards and modes', () => {
    const r = parsePlaybookFile(EXAMPLE);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const pb = r.playbook;
    expect(pb.name).toBe('block-sqli-source');
    expect(pb.trigger.signal?.source).toBe('signal.labels.alertname == "SqlInjection"');
    expect(pb.steps.map((s) => [s.id, s.kind, s.mode])).toEqual([
      ['block', 'http', 'auto'],
      ['summary', 'set', 'auto'],
      ['check', 'if', 'auto'],
      ['verify_logs', 'checklist', 'manual'],
      ['tell', 'notify', 'manual'],
    ]);
    expect(pb.steps[3]!.guards).toEqual([{ step: 'check', branch: true }]);
    expect(pb.steps[0]!.retry).toEqual({ attempts: 3, backoffMs: 1000, maxBackoffMs: 10_000 });
    expect(pb.steps[3]!.path).toEqual(['steps', 2, 'if', 'then', 0]);
  });

  it('names the line, column and path of what to fix', () => {
    const bad = EXAMPLE.replace('method: POST', 'method: YELL');
    const r = parsePlaybookFile(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ path: 'steps.0.http.method', line: 21 });
  });

  it('refuses a misspelt variable in an expression, a step with two kinds, and an automatic checklist', () => {
    const typo = parsePlaybookFile(EXAMPLE.replace('blocked: steps.block.status == 200', 'blocked: stepz.block.status == 200'));
    expect(!typo.ok && typo.errors[0]!.message).toMatch(/Unknown variable: stepz.*the variables are/);
    expect(!typo.ok && typo.errors[0]!.path).toBe('steps.1.set.blocked');
    const two = parsePlaybookFile(EXAMPLE.replace('    timeout: 5s', '    wait: 5s'));
    expect(!two.ok && two.errors[0]!.message).toMatch(/does one thing: it has http and wait/);
    const auto = parsePlaybookFile(
      EXAMPLE.replace('          mode: manual\n          instructions', '          mode: auto\n          instructions'),
    );
    expect(!auto.ok && auto.errors[0]!.message).toMatch(/checklist is done by a person/);
    const cron = parsePlaybookFile(EXAMPLE.replace('trigger:\n', "trigger:\n  schedule: '61 * * * *'\n"));
    expect(!cron.ok && cron.errors[0]).toMatchObject({ path: 'trigger.schedule', line: 8 });
    const dup = parsePlaybookFile(EXAMPLE.replace('id: tell', 'id: block'));
    expect(!dup.ok && dup.errors[0]!.message).toMatch(/used twice/);
  });

  it('changes one step mode and keeps the rest of the file as written', () => {
    const next = withStepMode(EXAMPLE, ['steps', 3], 'auto');
    expect(next).toContain('# Block the source of a SQL injection');
    const r = parsePlaybookFile(next);
    expect(r.ok && r.playbook.steps.find((s) => s.id === 'tell')!.mode).toBe('auto');
  });

  it('checks run inputs against their declared types', () => {
    const pb = (parsePlaybookFile(EXAMPLE) as { ok: true; playbook: import('./types.ts').Playbook }).playbook;
    expect(resolveInputs(pb, { ip: '10.0.0.1' })).toEqual({ ok: true, values: { ip: '10.0.0.1' } });
    expect(resolveInputs(pb, {})).toMatchObject({ ok: false, message: expect.stringMatching(/input 'ip' is required/) });
    expect(resolveInputs(pb, { ip: 3 })).toMatchObject({ ok: false, message: "input 'ip' is a string, not a number" });
    expect(resolveInputs(pb, { ipp: 'x' })).toMatchObject({ ok: false, message: expect.stringMatching(/not declared/) });
    // Names every object has are inputs like any other: not declared, refused; declared, not taken from the prototype.
    expect(resolveInputs(pb, { constructor: 'x' })).toMatchObject({ ok: false, message: expect.stringMatching(/not declared/) });
    const withCtor = { ...pb, inputs: { ...pb.inputs, constructor: { type: 'string' as const, required: false, description: '' } } };
    expect(resolveInputs(withCtor, { ip: '10.0.0.1' })).toEqual({ ok: true, values: { ip: '10.0.0.1' } });
  });

  it('dry-runs: requests rendered from the inputs, later values marked unresolved', () => {
    const pb = (parsePlaybookFile(EXAMPLE) as { ok: true; playbook: import('./types.ts').Playbook }).playbook;
    const plan = planRun(pb, { ip: '10.9.9.9' });
    expect(plan[0]!.request).toEqual({
      method: 'POST',
      url: 'http://127.0.0.1:9/v1/blocklist',
      headers: {},
      body: { ip: '10.9.9.9', ttl: 3600 },
    });
    expect(plan[1]!.unresolved).toMatch(/steps.block.status/);
    expect(plan[4]!.request!.body).toMatchObject({ text: 'Blocked 10.9.9.9 after a SQL injection', step: 'tell' });
  });

  it('evaluates expressions to JSON values, errors as values', () => {
    const pb = (parsePlaybookFile(EXAMPLE) as { ok: true; playbook: import('./types.ts').Playbook }).playbook;
    const ctx = { inputs: { ip: 'x' }, steps: { block: { status: 200 } }, trigger: null, run: { id: 'r', playbook: 'p', version: 1 } };
    expect(evaluate(pb.steps[1]!.set!.blocked!, ctx)).toEqual({ ok: true, value: true });
    expect(evaluate(pb.steps[1]!.set!.blocked!, { ...ctx, steps: {} })).toMatchObject({ ok: false });
  });

  it('backs off exponentially, capped, with jitter in the upper half', () => {
    const p = { attempts: 5, backoffMs: 1000, maxBackoffMs: 5000 };
    expect([1, 2, 3, 4].map((a) => backoffMs(p, a, 0))).toEqual([500, 1000, 2000, 2500]);
    expect(backoffMs(p, 2, 0.999)).toBeLessThanOrEqual(2000);
  });

  it('never throws on any text, and every error names a line (fuzz)', () => {
    const lines = EXAMPLE.split('\n');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .tuple(fc.nat(lines.length - 1), fc.string({ maxLength: 40 }))
            .map(([i, s]) => lines.map((l, j) => (j === i ? s : l)).join('\n')),
          fc
            .tuple(fc.nat(EXAMPLE.length), fc.nat(EXAMPLE.length))
            .map(([a, b]) => EXAMPLE.slice(0, Math.min(a, b)) + EXAMPLE.slice(Math.max(a, b))),
        ),
        (text) => {
          const r = parsePlaybookFile(text);
          if (!r.ok) for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('never throws on any value of the step kinds that wait, branch or fan out (fuzz)', () => {
    const kinds = ['wait', 'approval', 'switch', 'forEach', 'parallel', 'playbook'] as const;
    const valid = {
      wait: { signal: 'signal.resolved', timeout: '5m' },
      approval: { rules: [{ count: 1 }] },
      switch: { value: 'inputs.x', cases: { a: [{ id: 'a1', set: { y: '1' } }] } },
      forEach: { items: '[1, 2]', do: { set: { y: 'item' } } },
      parallel: [
        { id: 'p1', set: { y: '1' } },
        { id: 'p2', set: { y: '2' } },
      ],
      playbook: { name: 'other' },
    };
    const fileOf = (kind: string, value: unknown) =>
      JSON.stringify({ apiVersion: 'bulwark/v1', kind: 'Playbook', name: 'fz', steps: [{ id: 's', mode: 'auto', [kind]: value }] });
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constant(undefined)), (kind, v) => {
        const r = parsePlaybookFile(fileOf(kind, v ?? valid[kind]));
        if (!r.ok) for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 150 },
    );
    for (const k of kinds) {
      const r = parsePlaybookFile(fileOf(k, valid[k]));
      // forEach and parallel take mode auto as given; the others are auto by nature.
      expect(r.ok, `${k}: ${JSON.stringify(r.ok ? null : r.errors)}`).toBe(true);
    }
  });
});
