/**
 * A request to a host a file names (a Prometheus SLI, a playbook's http step, an incident
 * webhook), where the address checked is the address connected to: the
 * name is resolved once, by the connection's own lookup, which refuses a link-local or cloud
 * metadata address before any connection is made. A separate lookup before fetch() would check
 * one answer and connect to another (DNS rebinding: a name that answers a harmless address, then
 * 169.254.169.254). No redirect is followed; the wait (lookup included) and the answer's size
 * are bounded.
 */
import dns, { type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isMetadataAddress } from '../../core/playbooks/safety.ts';

/** The resolver the connection uses: dns.lookup, or a test's. */
export type Resolve = (host: string, cb: (err: Error | null, addresses: LookupAddress[]) => void) => void;

const systemResolve: Resolve = (host, cb) => dns.lookup(host, { all: true }, cb);

export type PinnedAnswer =
  | { ok: true; status: number; text: string }
  /** metadata: the name resolved to such an address (nothing was sent); failed: no answer (detail is for logs, not users). */
  | { ok: false; reason: 'metadata' | 'failed'; detail: string };

class MetadataRefusal extends Error {}

/** A connection lookup that refuses metadata addresses and answers with the addresses it checked. */
export function guardedLookup(resolve: Resolve = systemResolve) {
  return (
    host: string,
    options: LookupOneOptions | LookupAllOptions,
    cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(host, (err, addresses) => {
      if (err) return cb(err, '');
      if (addresses.length === 0) return cb(Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' }), '');
      const bad = addresses.find((a) => isMetadataAddress(a.address));
      if (bad) return cb(new MetadataRefusal(`${host} resolves to ${bad.address}`), '');
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      if (wanted.length === 0)
        return cb(Object.assign(new Error(`${host} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '');
      if (options.all) cb(null, wanted);
      else cb(null, wanted[0]!.address, wanted[0]!.family);
    });
  };
}

/** What to send; `body` is sent as is (the caller sets its content type). */
export interface PinnedRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  /** An answer longer than maxBytes: a failure (the default), or its first maxBytes. */
  overflow?: 'fail' | 'truncate';
}

/** GET `url` with the guarded lookup: at most `maxBytes` of the answer, everything within `timeoutMs`. */
export function pinnedGet(
  url: string,
  opts: { timeoutMs: number; maxBytes: number; headers?: Record<string, string> },
  resolve: Resolve = systemResolve,
): Promise<PinnedAnswer> {
  return pinnedRequest(url, opts, resolve);
}

/** Send a request with the guarded lookup: at most `maxBytes` of the answer, everything within `timeoutMs`. */
export function pinnedRequest(url: string, opts: PinnedRequest, resolve: Resolve = systemResolve): Promise<PinnedAnswer> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, reason: 'failed', detail: 'not a URL' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return Promise.resolve({ ok: false, reason: 'failed', detail: 'not an http(s) URL' });
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && isMetadataAddress(host)) return Promise.resolve({ ok: false, reason: 'metadata', detail: host });
  return new Promise((done) => {
    let settled = false;
    const finish = (a: PinnedAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(a);
    };
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, reason: 'failed', detail: `no answer within ${opts.timeoutMs} ms` });
    }, opts.timeoutMs);
    const send = u.protocol === 'https:' ? https.request : http.request;
    const req = send(
      u,
      { method: opts.method ?? 'GET', headers: opts.headers ?? {}, lookup: guardedLookup(resolve), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.byteLength;
          if (size > opts.maxBytes) {
            req.destroy();
            if (opts.overflow === 'truncate') {
              chunks.push(c.subarray(0, c.byteLength - (size - opts.maxBytes)));
              finish({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
            } else finish({ ok: false, reason: 'failed', detail: `the answer is larger than ${opts.maxBytes} bytes` });
          } else chunks.push(c);
        });
        res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => finish({ ok: false, reason: 'failed', detail: e.message }));
      },
    );
    req.on('error', (e) =>
      finish(
        e instanceof MetadataRefusal
          ? { ok: false, reason: 'metadata', detail: e.message }
          : { ok: false, reason: 'failed', detail: e.message },
      ),
    );
    req.end(opts.body);
  });
}
