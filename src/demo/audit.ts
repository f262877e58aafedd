/**
 * The demo shop's audit log as Bulwark reads it: one CloudEvents 1.0 event (structured JSON) per
 * blocked or suspicious request, carrying the experiment run's id (the `bulwarkrun` extension)
 * when the request had a valid `X-Bulwark-Run` header. `httpSignalSink` posts an event to
 * Bulwark's `/v1/signals/cloudevents`; it never throws, because an audit log that fails must not
 * break the shop.
 */
import { randomUUID } from 'node:crypto';
import { isRunId, RUN_HEADER } from '../core/signals/correlation.ts';
import { STRUCTURED_MEDIA_TYPE } from '../core/signals/cloudevents.ts';

export const DEMO_SOURCE = 'demo-shop';

/** Why a request was reported; the event's `rule` attribute and `data.rule`. */
export type DemoRule = 'sqli' | 'xss' | 'path-traversal' | 'command-injection' | 'login-throttle' | 'admin-auth' | 'account-authz';

/** `blocked`: a control refused the request. `suspicious`: it went through, but should not have. */
export type DemoEventKind = 'blocked' | 'suspicious';

export interface DemoEvent {
  specversion: '1.0';
  id: string;
  source: typeof DEMO_SOURCE;
  type: `demo.shop.${DemoEventKind}`;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  /** Extension attributes: they become the signal's labels `rule`, `severity` and `bulwarkrun`. */
  rule: DemoRule;
  severity: 'high' | 'medium';
  bulwarkrun?: string;
  data: { rule: DemoRule; method: string; path: string; status: number; client: string };
}

export type SignalSink = (event: DemoEvent) => Promise<void>;

/** Minimal logger; a pino logger fits. */
export interface DemoLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLog: DemoLog = { info: () => {}, warn: () => {} };

export interface AuditFacts {
  kind: DemoEventKind;
  rule: DemoRule;
  method: string;
  /** The URL path without its query (the query may hold the payload; the path is enough to say where). */
  path: string;
  status: number;
  client: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  time: Date;
}

/** The run id of the request's `X-Bulwark-Run` header, when it is exactly one valid id. */
export function runIdOf(headers: AuditFacts['headers']): string | undefined {
  const raw = headers[RUN_HEADER.toLowerCase()];
  const value = Array.isArray(raw) ? (raw.length === 1 ? raw[0] : undefined) : raw;
  const id = value?.trim();
  return isRunId(id) ? id : undefined;
}

export function buildDemoEvent(f: AuditFacts): DemoEvent {
  const run = runIdOf(f.headers);
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: DEMO_SOURCE,
    type: `demo.shop.${f.kind}`,
    time: f.time.toISOString(),
    subject: f.path,
    datacontenttype: 'application/json',
    rule: f.rule,
    severity: f.kind === 'blocked' ? 'high' : 'medium',
    ...(run !== undefined ? { bulwarkrun: run } : {}),
    data: { rule: f.rule, method: f.method, path: f.path, status: f.status, client: f.client },
  };
}

/**
 * A sink that POSTs each event in structured mode with the source's token. Failures (refused,
 * timed out, a non-2xx answer) are logged without the token and the event is dropped.
 */
export function httpSignalSink(url: string, token: string, opts: { timeoutMs?: number; log?: DemoLog } = {}): SignalSink {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const log = opts.log ?? silentLog;
  return async (event) => {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': STRUCTURED_MEDIA_TYPE, authorization: `Bearer ${token}` },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (!res.ok) log.warn({ status: res.status, eventId: event.id }, 'demo shop: Bulwark refused an audit signal; dropped');
    } catch (e) {
      log.warn(
        { err: e instanceof Error ? e.message : String(e), eventId: event.id },
        'demo shop: could not send an audit signal; dropped',
      );
    }
  };
}
