import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate, type ExprContext } from './expressions.ts';
import { parsePlaybookFile } from './playbook-file.ts';
import { planRun, prepareRequest } from './rules.ts';
import { isMetadataAddress, LOOPBACK_HOSTS, urlRefusal } from './safety.ts';
import type { Step } from './types.ts';

const file = (url: string, safety = '') => `apiVersion: bulwark/v1
kind: Playbook
name: calls
inputs:
  id: { type: string, default: "1" }
${safety}steps:
  - id: call
    mode: auto
    http: { method: GET, url: "${url}" }
`;
const parsed = (f: string) => {
  const r = parsePlaybookFile(f);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.playbook;
};
const ctx = (inputs: Record<string, unknown>): ExprContext => ({
  inputs,
  steps: {},
  trigger: null,
  run: { id: 'r', playbook: 'calls', version: 1 },
});

describe('where playbook steps may send requests', () => {
  it('allows loopback only when the file declares no safety.allowHosts', () => {
    const pb = parsed(file('http://127.0.0.1:8080/x'));
    expect(pb.allowHosts).toEqual(LOOPBACK_HOSTS);
    expect(prepareRequest(pb.steps[0]!, ctx({}), pb.allowHosts).ok).toBe(true);
    const out = parsed(file('https://hooks.example.com/x'));
    const r = prepareRequest(out.steps[0]!, ctx({}), out.allowHosts);
    expect(r).toMatchObject({
      ok: false,
      message: expect.stringMatching(/hooks\.example\.com is not in the playbook's safety\.allowHosts/),
    });
    expect(planRun(out, {})[0]!.unresolved).toMatch(/refused before sending/);
  });

  it('allows the declared hosts, and never a metadata address whatever the file says', () => {
    const pb = parsed(file('https://hooks.example.com/x', 'safety: { allowHosts: ["*.example.com", "169.254.0.0/16", "10.0.0.0/8"] }\n'));
    expect(prepareRequest(pb.steps[0]!, ctx({}), pb.allowHosts).ok).toBe(true);
    for (const u of [
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://metadata.google.internal/',
      'http://100.100.100.200/',
    ])
      expect(urlRefusal(u, [...pb.allowHosts, '*']), u).toMatch(/metadata/);
    expect(urlRefusal('http://user:pw@127.0.0.1/', LOOPBACK_HOSTS)).toMatch(/credentials/);
    expect(urlRefusal('http://10.1.2.3/', pb.allowHosts)).toBeUndefined();
    expect(isMetadataAddress('127.0.0.1')).toBe(false);
  });

  it('refuses a malformed allowHosts entry naming the line', () => {
    const r = parsePlaybookFile(file('http://127.0.0.1/', 'safety: { allowHosts: ["http://x.example.com/"] }\n'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.path).toBe('safety.allowHosts.0');
  });

  it('percent-encodes values put into a URL: they never change its host, path or query', () => {
    const pb = parsed(file('http://127.0.0.1:8080/items/${{ inputs.id }}?q=1'));
    const r = prepareRequest(pb.steps[0]!, ctx({ id: 'x/../admin?all=1#' }), pb.allowHosts);
    expect(r.ok && r.request.url).toBe('http://127.0.0.1:8080/items/x%2F..%2Fadmin%3Fall%3D1%23?q=1');
    // A whole-URL expression is encoded too: a value never supplies the host.
    const t = compileTemplate('${{ inputs.id }}');
    const step = { ...pb.steps[0]!, http: { ...pb.steps[0]!.http!, url: (t as { ok: true; template: never }).template } } as Step;
    expect(prepareRequest(step, ctx({ id: 'http://169.254.169.254/' }), ['*']).ok).toBe(false);
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (id) => {
        const got = prepareRequest(pb.steps[0]!, ctx({ id }), pb.allowHosts);
        if (!got.ok) return false;
        const u = new URL(got.request.url);
        return u.host === '127.0.0.1:8080' && u.search === '?q=1' && u.pathname.startsWith('/items/') && u.pathname.split('/').length === 3;
      }),
      { numRuns: 150 },
    );
  });
  it('never throws on any URL or host, and refuses every metadata form (fuzz)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.webUrl()), (u) => {
        const r = urlRefusal(u, LOOPBACK_HOSTS);
        isMetadataAddress(u);
        return r === undefined || typeof r === 'string';
      }),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b) =>
        /metadata/.test(urlRefusal(`http://169.254.${a}.${b}/`, ['169.254.0.0/16']) ?? ''),
      ),
      { numRuns: 100 },
    );
  });
});
