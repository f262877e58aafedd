/**
 * CACAO v2 in and out: SOARCA's public example playbooks import (test/fixtures/cacao/README.md);
 * a Bulwark playbook exported and imported again has the same steps; what cannot be mapped is
 * refused naming the element; the importer never throws on any input (fuzz).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportCacao, importCacao } from './cacao.ts';
import { parsePlaybookFile } from './playbook-file.ts';
import type { Playbook } from './types.ts';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/cacao/${f}`, import.meta.url), 'utf8');
const model = (file: string): Playbook => {
  const r = parsePlaybookFile(file);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.playbook;
};
const imported = (text: string) => {
  const r = importCacao(text);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return model(r.value.file);
};

describe('CACAO import', () => {
  it("imports SOARCA's http-api and manual examples", () => {
    const http = imported(fixture('soarca-http-playbook.json'));
    expect(http.name).toBe('cacao-example-http');
    expect(http.allowHosts).toEqual(['httpbin.org']);
    expect(http.steps).toMatchObject([
      { id: 'get', kind: 'http', mode: 'manual', http: { method: 'GET', url: { source: 'https://httpbin.org/get' } } },
    ]);
    const manual = imported(fixture('soarca-manual-playbook.json'));
    expect(manual.steps).toMatchObject([
      {
        kind: 'checklist',
        items: ['prepare Falcon for hyperspeed jump'],
        instructions: 'Instruction to the operator to be executed manually',
      },
    ]);
  });

  it('refuses what it cannot map, naming the element', () => {
    const base = JSON.parse(fixture('soarca-http-playbook.json')) as { workflow: Record<string, Record<string, unknown>> };
    const action = 'action--eb9372d4-d524-49fc-bf24-be26ea084779';
    const variant = (f: (w: Record<string, Record<string, unknown>>) => void) => {
      const c = structuredClone(base);
      f(c.workflow);
      const r = importCacao(JSON.stringify(c));
      return r.ok ? [] : r.errors;
    };
    expect(variant((w) => (w[action]!.commands = [{ type: 'bash', command: 'rm -rf /' }]))).toEqual([
      `action ${action}: a bash command cannot be mapped (Bulwark has no process step yet; run it as a manual command)`,
    ]);
    expect(variant((w) => (w[action] = { type: 'while-condition', condition: 'true', on_true: 'x' }))[0]).toMatch(
      /while-condition action--eb93.* cannot be mapped: Bulwark runs only bounded loops/,
    );
    expect(variant((w) => (w[action] = { type: 'if-condition', condition: "[ipv4-addr:value = '1.2.3.4']", on_true: 'x' }))[0]).toMatch(
      /its condition .* is not an expression Bulwark can evaluate/,
    );
    expect(variant((w) => (w[action]!.on_completion = 'end--nowhere'))).toEqual([
      `${action} points to end--nowhere, which is not in the workflow`,
    ]);
    for (const name of ['constructor', 'toString', '__proto__'])
      expect(variant((w) => (w[action]!.on_completion = name))).toEqual([`${action} points to ${name}, which is not in the workflow`]);
    expect(variant((w) => (w[action]!.type = 'playbook-action'))[0]).toMatch(/playbook-action .* cannot be mapped yet/);
    expect(importCacao('{"type":"playbook","spec_version":"cacao-1.0"}')).toMatchObject({
      ok: false,
      errors: expect.arrayContaining([expect.stringMatching(/only CACAO 2.0/)]),
    });
  });
});

const BULWARK = `apiVersion: bulwark/v1
kind: Playbook
name: contain
title: Contain a host
inputs:
  host: { type: string, description: the host, default: web-1 }
  severity: { type: string }
safety: { allowHosts: [127.0.0.1] }
steps:
  - id: look
    title: Look at the host
    checklist: [Check the logs, Check the EDR]
  - id: block
    title: Block it
    http: { method: PUT, url: "http://127.0.0.1:8080/block/\${{ inputs.host }}", body: { ttl: 3600 } }
  - id: bad
    title: Is it bad
    if:
      condition: inputs.severity == 'high'
      then:
        - id: isolate
          title: Isolate it
          http: { url: "http://127.0.0.1:8080/isolate" }
      else:
        - id: note
          title: Write it down
          checklist: [Note why]
  - id: route
    title: Route by severity
    switch:
      value: inputs.severity
      cases:
        low:
          - { id: ignore, title: Ignore it, checklist: [Close] }
      default:
        - { id: escalate, title: Escalate, checklist: [Call the on-call] }
  - id: fan
    title: Tell everyone
    parallel:
      - { id: chat, http: { url: "http://127.0.0.1:8080/chat" } }
      - { id: ticket, http: { url: "http://127.0.0.1:8080/ticket" } }
`;

const shape = (pb: Playbook) =>
  pb.steps.map((s) => ({
    title: s.title,
    kind: s.kind,
    guards: s.guards.length,
    http: s.http && { method: s.http.method, url: s.http.url.source, body: s.http.body },
    items: s.items,
    condition: s.condition?.source ?? s.switch?.value.source,
    cases: s.switch?.cases,
    parallel: s.parallel?.map((b) => b.http?.url.source),
  }));

describe('CACAO export', () => {
  it('exports a playbook that imports back to the same steps', () => {
    const pb = model(BULWARK);
    const out = exportCacao(pb, '2026-01-02T03:04:05.000Z');
    if (!out.ok) throw new Error(out.errors.join('\n'));
    expect(out.value).toMatchObject({ type: 'playbook', spec_version: 'cacao-2.0', name: 'Contain a host' });
    expect(exportCacao(pb, '2026-01-02T03:04:05.000Z')).toEqual(out); // stable identifiers
    const back = imported(JSON.stringify(out.value));
    expect(shape(back)).toEqual(shape(pb));
    expect(back.inputs.host).toMatchObject({ type: 'string', default: 'web-1' });
    expect(back.allowHosts).toEqual(['127.0.0.1']);
  });

  it('refuses a step with no CACAO counterpart, naming it', () => {
    const pb = model(
      BULWARK.replace(
        '  - id: look\n    title: Look at the host\n    checklist: [Check the logs, Check the EDR]',
        '  - id: pause\n    wait: 5m',
      ),
    );
    expect(exportCacao(pb, '2026-01-02T03:04:05.000Z')).toEqual({
      ok: false,
      errors: ['step pause: a wait step has no CACAO counterpart'],
    });
  });
});

describe('the CACAO importer under fuzz', () => {
  it('never throws: it maps or names what to fix', () => {
    const vectors = [fixture('soarca-http-playbook.json'), fixture('soarca-manual-playbook.json')];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 4 }),
          fc.tuple(fc.nat(1), fc.nat(3000), fc.nat(3000), fc.string({ maxLength: 20 })).map(([v, a, b, s]) => {
            const t = vectors[v]!;
            return t.slice(0, Math.min(a, b)) + s + t.slice(Math.max(a, b));
          }),
        ),
        (text) => {
          const r = importCacao(text);
          if (r.ok) expect(parsePlaybookFile(r.value.file).ok).toBe(true);
          else expect(r.errors.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
