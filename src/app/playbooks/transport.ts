/**
 * How `http` and `notify` steps reach the outside: a port, so that the engine is tested against a
 * real loopback service and the demo against its own. The fetch implementation bounds the wait
 * (the step's timeout) and what it reads of the answer.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { PreparedRequest } from '../../core/playbooks/rules.ts';
import { isMetadataAddress } from '../../core/playbooks/safety.ts';

export type HttpOutcome = { ok: true; status: number; body: unknown } | { ok: false; error: string };

export interface HttpTransport {
  send(req: PreparedRequest, timeoutMs: number): Promise<HttpOutcome>;
}

const MAX_BODY = 64 * 1024;

export const fetchTransport: HttpTransport = {
  async send(req, timeoutMs) {
    try {
      // The file's allowHosts were checked on the name; a name that resolves to a metadata address is refused too.
      const host = new URL(req.url).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) === 0) {
        const addrs = await lookup(host, { all: true });
        const bad = addrs.find((a) => isMetadataAddress(a.address));
        if (bad)
          return {
            ok: false,
            error: `${req.method} ${req.url}: refused, ${host} resolves to ${bad.address}, a link-local or cloud metadata address`,
          };
      }
      const res = await fetch(req.url, {
        method: req.method,
        headers: { ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      const text = (await res.text()).slice(0, MAX_BODY);
      let body: unknown = text;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      return { ok: true, status: res.status, body };
    } catch (e) {
      const err = e as Error & { cause?: Error };
      const why =
        err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (the step's timeout)` : (err.cause?.message ?? err.message);
      return { ok: false, error: `${req.method} ${req.url}: ${why}` };
    }
  },
};
