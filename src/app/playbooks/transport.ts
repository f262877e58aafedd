/**
 * How `http` and `notify` steps reach the outside: a port, so that the engine is tested against a
 * real loopback service and the demo against its own. The fetch implementation bounds the wait
 * (the step's timeout) and what it reads of the answer.
 */
import type { PreparedRequest } from '../../core/playbooks/rules.ts';
import { pinnedRequest, type Resolve } from '../net/pinned-request.ts';

export type HttpOutcome = { ok: true; status: number; body: unknown } | { ok: false; error: string };

export interface HttpTransport {
  send(req: PreparedRequest, timeoutMs: number): Promise<HttpOutcome>;
}

const MAX_BODY = 64 * 1024;

/**
 * The file's allowHosts were checked on the name; the connection resolves the name once and
 * refuses a link-local or cloud metadata address before connecting (net/pinned-request.ts), so a
 * name cannot answer one address to a check and another to the request. No redirect is followed.
 */
export function pinnedTransport(resolve?: Resolve): HttpTransport {
  return {
    async send(req, timeoutMs) {
      const res = await pinnedRequest(
        req.url,
        {
          method: req.method,
          headers: { ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          timeoutMs,
          maxBytes: MAX_BODY,
          overflow: 'truncate',
        },
        resolve,
      );
      if (!res.ok) {
        const why =
          res.reason === 'metadata'
            ? `refused, ${res.detail}: a link-local or cloud metadata address`
            : res.detail.startsWith('no answer within')
              ? `no answer within ${timeoutMs} ms (the step's timeout)`
              : res.detail;
        return { ok: false, error: `${req.method} ${req.url}: ${why}` };
      }
      let body: unknown = res.text;
      try {
        body = res.text === '' ? null : JSON.parse(res.text);
      } catch {
        // not JSON: kept as text
      }
      return { ok: true, status: res.status, body };
    },
  };
}

export const fetchTransport: HttpTransport = pinnedTransport();
