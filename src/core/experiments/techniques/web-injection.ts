/**
 * Web injection payload sets: SQL injection, XSS, path traversal, command injection, SSRF-style
 * URLs, XXE and header injection. Each is a short list of well-known payloads, chosen to trip a
 * WAF or an input filter and to be harmless even against a vulnerable target: they read
 * (tautologies, `UNION SELECT NULL`, `id`, `/etc/passwd`), they never write or delete, and
 * nothing reaches an external host (SSRF and XXE point at loopback, link-local metadata addresses
 * and `.invalid` names, which never resolve — RFC 6761). So nothing needs undoing: the rollbacks
 * are empty.
 *
 * Each set has a baseline — payloads that ModSecurity with the OWASP Core Rule Set 3.3 blocks
 * (403) at paranoia level 1, checked against a real instance, so `expect.blocked: 403` holds for
 * a WAF at its defaults — and extended variants (evasions, rarer schemes) that get past it and
 * show what a higher paranoia level or the application itself must catch. CRS tags its rules
 * `attack-sqli`, `attack-xss`, `attack-lfi`, `attack-rce`, `attack-rfi`, `attack-protocol`.
 * XXE is the exception: CRS at paranoia 1 blocks none of it; the control is the XML parser.
 */
import { z } from 'zod';
import {
  canary,
  defineTechnique,
  fieldsRequest,
  httpActivity,
  parseTarget,
  placement,
  text,
  timeoutSeconds,
  urlPath,
  urlUnder,
  type ExpectHints,
  type Technique,
} from './technique.ts';
import type { Activity } from '../types.ts';

export interface Payload {
  /** A short label for the activity name. */
  label: string;
  value: string;
  /** Not in the baseline: CRS 3.3 at paranoia level 1 lets it through. */
  extended?: boolean;
}

const p = (label: string, value: string): Payload => ({ label, value });
const x = (label: string, value: string): Payload => ({ label, value, extended: true });

export const SQLI_PAYLOADS: readonly Payload[] = [
  p('tautology', "1' OR '1'='1"),
  p('tautology-comment', "1' OR 1=1-- -"),
  p('union-null', '1 UNION SELECT NULL,NULL-- -'),
  p('numeric-tautology', '1 OR 1=1'),
  p('stacked-select', "1'; SELECT version()-- -"),
  p('time-based', "1' AND SLEEP(1)-- -"),
  p('error-based', "1' AND extractvalue(1,concat(0x7e,version()))-- -"),
  x('login-bypass', "admin'-- -"),
];

export const XSS_PAYLOADS: readonly Payload[] = [
  p('script-tag', '<script>alert(1)</script>'),
  p('img-onerror', '"><img src=x onerror=alert(1)>'),
  p('svg-onload', '<svg/onload=alert(1)>'),
  p('javascript-uri', 'javascript:alert(1)'),
  p('iframe', '\'"><iframe src=javascript:alert(1)>'),
  p('body-onload', '<body onload=alert(1)>'),
  p('event-attribute', '" autofocus onfocus=alert(1) x="'),
];

export const TRAVERSAL_PAYLOADS: readonly Payload[] = [
  p('dot-dot-slash', '../../../../etc/passwd'),
  p('absolute', '/etc/passwd'),
  p('encoded', '..%2f..%2f..%2f..%2fetc%2fpasswd'),
  p('double-dot-filter-bypass', '....//....//....//etc/passwd'),
  p('windows', '..\\..\\..\\..\\windows\\win.ini'),
  p('null-byte-suffix', '../../../../etc/passwd%00.png'),
];

export const COMMAND_INJECTION_PAYLOADS: readonly Payload[] = [
  p('and', '127.0.0.1 && whoami'),
  p('subshell', '$(id)'),
  p('ifs-evasion', ';cat${IFS}/etc/passwd'),
  p('or-uname', '|| uname -a'),
  x('semicolon', '127.0.0.1; id'),
  x('pipe', '127.0.0.1 | id'),
  x('backticks', '`id`'),
];

const ssrfPayloads = (): Payload[] => [
  p('aws-metadata', 'http://169.254.169.254/latest/meta-data/'),
  p('loopback', 'http://127.0.0.1:22/'),
  p('file-scheme', 'file:///etc/passwd'),
  x('gcp-metadata', 'http://metadata.google.internal/computeMetadata/v1/'),
  x('localhost-admin', 'http://localhost/admin'),
  x('ipv6-loopback', 'http://[::1]/'),
  x('hex-ip', 'http://0x7f000001/'),
  x('gopher', 'gopher://127.0.0.1:6379/_PING'),
  // A canary host name: a DNS or egress log that sees it names the run.
  x('canary-host', `http://${canary('ssrf')}.invalid/`),
];

const xxePayloads = (): Payload[] => [
  p('file-entity', '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'),
  p('loopback-entity', '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1/">]><r>&x;</r>'),
  p('parameter-entity', `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % d SYSTEM "http://${canary('xxe')}.invalid/x.dtd"> %d;]><r/>`),
  p('xinclude', '<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include parse="text" href="file:///etc/passwd"/></r>'),
];

const headerInjectionPayloads = (): Payload[] => [
  p('crlf-set-cookie', `en\r\nSet-Cookie: bwk=${canary('crlf')}`),
  p('lf-only', `en\nLocation: http://${canary('crlf')}.invalid/`),
  p('crlf-response-split', 'en\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK'),
  x('crlf-encoded', `en%0d%0aX-Injected:%20${canary('crlf')}`),
];

/** Header-borne injections (extended set) that need no payload parameter; a Host-style override names a canary host. */
const injectedHeaders = (): { label: string; headers: Record<string, string> }[] => [
  { label: 'x-forwarded-host', headers: { 'X-Forwarded-Host': `${canary('host')}.invalid` } },
  { label: 'x-original-url', headers: { 'X-Original-URL': '/admin' } },
];

/** The baseline payloads, or all of them. */
const pick = (payloads: readonly Payload[], set: 'baseline' | 'extended') => payloads.filter((x) => set === 'extended' || !x.extended);

const crsTag = (tag: string, name: string) => ({
  name,
  when: `"tags" in signal.labels && signal.labels.tags.contains("${tag}")`,
  within: '2m',
});

const injectionParams = (parameter: string) =>
  z.strictObject({
    path: urlPath().default('/').describe('the path the payloads are sent to, below the target'),
    parameter: text(128).default(parameter).describe('the query or body parameter that carries each payload'),
    in: placement(),
    set: z
      .enum(['baseline', 'extended'])
      .default('baseline')
      .describe('baseline: payloads a WAF at its defaults blocks (CRS paranoia 1); extended: also evasions that get past it'),
    limit: z.number().int().min(1).max(50).optional().describe('send only the first N payloads'),
    extraPayloads: z.array(text(2048, true)).max(20).default([]).describe('more payloads of your own, sent after the built-in ones'),
    canaryParameter: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9_.-]*$/, 'must be a parameter name of letters, digits, _ . - (or empty to send none)')
      .default('bwk')
      .describe('a benign extra parameter carrying a canary value that names the run; empty to send none'),
    timeoutSeconds: timeoutSeconds(),
  });

type InjectionParams = z.output<ReturnType<typeof injectionParams>>;

interface InjectionSpec {
  id: string;
  name: string;
  attack: string[];
  description: string;
  parameter: string;
  payloads: () => readonly Payload[];
  hints: ExpectHints;
}

function injectionTechnique(spec: InjectionSpec): Technique<InjectionParams> {
  return defineTechnique({
    id: spec.id,
    name: spec.name,
    attack: spec.attack,
    description: spec.description,
    kind: 'http',
    params: injectionParams(spec.parameter),
    inject(params, ctx) {
      const url = urlUnder(parseTarget(ctx.target), params.path);
      const all = [...pick(spec.payloads(), params.set), ...params.extraPayloads.map((value, i) => p(`custom-${i + 1}`, value))];
      const chosen = params.limit !== undefined ? all.slice(0, params.limit) : all;
      const method: Activity[] = chosen.map((payload, i) => {
        const fields: Record<string, string> = { [params.parameter]: payload.value };
        if (params.canaryParameter !== '' && params.canaryParameter !== params.parameter) fields[params.canaryParameter] = canary('web');
        return httpActivity(`${spec.id} #${i + 1} ${payload.label}`, fieldsRequest(url, params.in, fields, params.timeoutSeconds * 1000));
      });
      return { method, rollbacks: [], expectHints: spec.hints };
    },
  });
}

export const sqlInjection = injectionTechnique({
  id: 'web.sqli',
  name: 'SQL injection payloads',
  attack: ['T1190'],
  description:
    'Sends well-known SQL injection payloads (tautologies, UNION SELECT NULL, a one-second SLEEP) in one parameter. Read-only even against a vulnerable target; nothing to revert.',
  parameter: 'id',
  payloads: () => SQLI_PAYLOADS,
  hints: { blocked: 403, detected: [crsTag('attack-sqli', 'waf-flags-sqli')] },
});

export const crossSiteScripting = injectionTechnique({
  id: 'web.xss',
  name: 'Cross-site scripting payloads',
  attack: ['T1190', 'T1059.007'],
  description:
    'Sends reflected-XSS payloads (script tags, event handlers, javascript: URIs) in one parameter. Nothing is stored; nothing to revert.',
  parameter: 'q',
  payloads: () => XSS_PAYLOADS,
  hints: { blocked: 403, detected: [crsTag('attack-xss', 'waf-flags-xss')] },
});

export const pathTraversal = injectionTechnique({
  id: 'web.path-traversal',
  name: 'Path traversal payloads',
  attack: ['T1190', 'T1083'],
  description:
    'Asks for /etc/passwd and win.ini through ../ sequences, encodings and filter bypasses in one parameter. Read-only; nothing to revert.',
  parameter: 'file',
  payloads: () => TRAVERSAL_PAYLOADS,
  hints: { blocked: 403, detected: [crsTag('attack-lfi', 'waf-flags-traversal')] },
});

export const commandInjection = injectionTechnique({
  id: 'web.command-injection',
  name: 'OS command injection payloads',
  attack: ['T1190', 'T1059.004'],
  description:
    'Appends shell commands (; id, | id, $(id), backticks, ${IFS} evasion) to a parameter. The commands only read (id, whoami, uname, /etc/passwd); nothing to revert.',
  parameter: 'host',
  payloads: () => COMMAND_INJECTION_PAYLOADS,
  hints: { blocked: 403, detected: [crsTag('attack-rce', 'waf-flags-rce')] },
});

export const serverSideRequestForgery = injectionTechnique({
  id: 'web.ssrf',
  name: 'SSRF-style URLs',
  attack: ['T1190', 'T1552.005'],
  description:
    'Offers internal URLs (cloud metadata, loopback, file:, gopher:, a canary .invalid host) as a URL parameter. A vulnerable target only reads; nothing to revert.',
  parameter: 'url',
  payloads: ssrfPayloads,
  hints: { blocked: 403, detected: [crsTag('attack-rfi', 'waf-flags-ssrf')] },
});

export const headerInjection = defineTechnique({
  id: 'web.header-injection',
  name: 'Header injection (CRLF) payloads',
  attack: ['T1190'],
  description:
    'Sends CR/LF sequences in a parameter that is often echoed into a response header (response splitting), plus X-Forwarded-Host and X-Original-URL overrides. Nothing to revert.',
  kind: 'http',
  params: injectionParams('lang'),
  inject(params, ctx) {
    const url = urlUnder(parseTarget(ctx.target), params.path);
    const timeoutMs = params.timeoutSeconds * 1000;
    const all = [...pick(headerInjectionPayloads(), params.set), ...params.extraPayloads.map((value, i) => p(`custom-${i + 1}`, value))];
    const chosen = params.limit !== undefined ? all.slice(0, params.limit) : all;
    const method: Activity[] = chosen.map((payload, i) => {
      const fields: Record<string, string> = { [params.parameter]: payload.value };
      if (params.canaryParameter !== '' && params.canaryParameter !== params.parameter) fields[params.canaryParameter] = canary('web');
      return httpActivity(`web.header-injection #${i + 1} ${payload.label}`, fieldsRequest(url, params.in, fields, timeoutMs));
    });
    // A header value cannot carry CR or LF (Node refuses to send it), so header overrides stay one line.
    for (const h of params.set === 'extended' ? injectedHeaders() : []) {
      method.push(httpActivity(`web.header-injection #${method.length + 1} ${h.label}`, { url, headers: h.headers, timeoutMs }));
    }
    return { method, rollbacks: [], expectHints: { blocked: [400, 403], detected: [crsTag('attack-protocol', 'waf-flags-protocol')] } };
  },
});

export const xmlExternalEntity = defineTechnique({
  id: 'web.xxe',
  name: 'XML external entity (XXE) payloads',
  attack: ['T1190'],
  description:
    'POSTs XML documents that declare external entities (file:///etc/passwd, loopback, a canary .invalid DTD) and an XInclude. No entity expansion bombs: a vulnerable parser only reads. Nothing to revert.',
  kind: 'http',
  params: z.strictObject({
    path: urlPath().default('/').describe('the path that accepts XML'),
    contentType: z
      .enum(['application/xml', 'text/xml', 'application/soap+xml'])
      .default('application/xml')
      .describe('the Content-Type sent'),
    limit: z.number().int().min(1).max(50).optional().describe('send only the first N payloads'),
    timeoutSeconds: timeoutSeconds(),
  }),
  inject(params, ctx) {
    const url = urlUnder(parseTarget(ctx.target), params.path);
    const all = xxePayloads();
    const chosen = params.limit !== undefined ? all.slice(0, params.limit) : all;
    const method = chosen.map((payload, i) =>
      httpActivity(`web.xxe #${i + 1} ${payload.label}`, {
        url,
        method: 'POST',
        headers: { 'Content-Type': params.contentType },
        body: payload.value,
        timeoutMs: params.timeoutSeconds * 1000,
      }),
    );
    return { method, rollbacks: [], expectHints: { blocked: [400, 403, 415] } };
  },
});
