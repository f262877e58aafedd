/**
 * TLS checks: legacy protocol versions must be refused, current ones accepted, and the
 * certificate must stay valid for a while yet. Neither the http provider (no protocol-version
 * option) nor the tcp provider (no TLS) can express a handshake with a chosen version, so each
 * check is a `process` action running `openssl s_client` through /bin/sh — a fixed script with
 * the host and options as positional arguments, never spliced into the script text. Every check
 * exits 0 when the control holds and 1 when it does not, so `expect.blocked: 0` judges them all.
 * Needs `/bin/sh` and `openssl` on the process allow-list. Read-only; nothing to revert.
 */
import { z } from 'zod';
import { invalid } from '../../errors.ts';
import { defineTechnique, parseTarget, processActivity } from './technique.ts';

const VERSIONS = ['ssl3', 'tls1', 'tls1_1', 'tls1_2', 'tls1_3'] as const;
type TlsVersion = (typeof VERSIONS)[number];

const LABEL: Record<TlsVersion, string> = { ssl3: 'SSL 3.0', tls1: 'TLS 1.0', tls1_1: 'TLS 1.1', tls1_2: 'TLS 1.2', tls1_3: 'TLS 1.3' };

// `$0` is the label, the rest is openssl's arguments. stdin is /dev/null so s_client ends after the handshake.
export const REFUSE_SCRIPT =
  'if openssl s_client "$@" </dev/null >/dev/null 2>&1; then echo "$0 accepted: the server still speaks it"; exit 1; fi; echo "$0 refused"; exit 0';
export const ACCEPT_SCRIPT =
  'if openssl s_client "$@" </dev/null >/dev/null 2>&1; then echo "$0 accepted"; exit 0; fi; echo "$0 refused: clients that need it cannot connect"; exit 1';
// `$1` is the number of seconds the certificate must still be valid; x509 -checkend exits 1 when it expires sooner.
export const EXPIRY_SCRIPT = 's=$1; shift; openssl s_client "$@" </dev/null 2>/dev/null | openssl x509 -noout -enddate -checkend "$s"';

const isIp = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');

export const tlsCheck = defineTechnique({
  id: 'tls.check',
  name: 'TLS protocol versions and certificate expiry',
  attack: ['T1562.010', 'T1557'],
  description:
    'Attempts handshakes with legacy versions (must fail) and current ones (must succeed) and checks the certificate is valid for minDaysValid more days, with openssl s_client. Read-only; nothing to revert.',
  kind: 'tls',
  params: z.strictObject({
    port: z.number().int().min(1).max(65535).optional().describe("the TLS port (default: the target's, 443 for https)"),
    refuse: z.array(z.enum(VERSIONS)).max(5).default(['tls1', 'tls1_1']).describe('versions the server must refuse'),
    accept: z.array(z.enum(VERSIONS)).max(5).default(['tls1_2']).describe('versions the server must accept'),
    minDaysValid: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(14)
      .describe('the certificate must stay valid this many more days (0: not expired now)'),
    checkExpiry: z.boolean().default(true).describe('check the certificate expiry'),
    timeoutSeconds: z.number().int().min(1).max(120).default(15).describe('per-check timeout in seconds'),
  }),
  inject(params, ctx) {
    const target = parseTarget(ctx.target);
    if (params.port === undefined && target.protocol !== 'https:') {
      throw invalid('tls.check needs an https target, or a port parameter naming the TLS port');
    }
    const both = params.refuse.filter((v) => params.accept.includes(v));
    if (both.length > 0) throw invalid(`version ${both.join(', ')} is both in refuse and accept; keep it in one`);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = params.port ?? Number(target.port || 443);
    const connect = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    // SNI carries a name, never an address (RFC 6066 §3).
    const sni = isIp(host) ? ['-noservername'] : ['-servername', host];
    const base = ['-connect', connect, ...sni];
    const timeoutMs = params.timeoutSeconds * 1000;
    const method = [
      ...[...new Set(params.refuse)].map((v) =>
        // OpenSSL 3 refuses TLS 1.0/1.1 on the client side at its default security level; level 0
        // makes the client willing, so a refusal is the server's.
        processActivity(
          `tls.check refuses ${LABEL[v]}`,
          '/bin/sh',
          ['-c', REFUSE_SCRIPT, LABEL[v], ...base, `-${v}`, '-cipher', 'DEFAULT:@SECLEVEL=0'],
          timeoutMs,
        ),
      ),
      ...[...new Set(params.accept)].map((v) =>
        processActivity(`tls.check accepts ${LABEL[v]}`, '/bin/sh', ['-c', ACCEPT_SCRIPT, LABEL[v], ...base, `-${v}`], timeoutMs),
      ),
      ...(params.checkExpiry
        ? [
            processActivity(
              `tls.check certificate valid ${params.minDaysValid} more days`,
              '/bin/sh',
              ['-c', EXPIRY_SCRIPT, 'bulwark-tls', String(params.minDaysValid * 86_400), ...base],
              timeoutMs,
            ),
          ]
        : []),
    ];
    if (method.length === 0) throw invalid('tls.check has nothing to check: give refuse or accept versions, or checkExpiry: true');
    return {
      method,
      rollbacks: [],
      expectHints: { blocked: 0 },
      notes: [
        'TLS handshakes with a chosen protocol version run as openssl s_client through /bin/sh (process provider): an http provider option for TLS versions, or a tcp provider with TLS, would make these checks portable',
      ],
    };
  },
});
