/**
 * The signal formats Bulwark reads, listed once. The HTTP ingest routes (server/routes/signals.ts)
 * and the log tailer (adapters/log-tailer.ts) are built from this list, and the configuration's
 * log `format` names come from it. Adding a format: a module beside this one (see format.ts),
 * and one line here.
 */
import { alertmanager } from './alertmanager.ts';
import { auditd } from './auditd.ts';
import { cloudevents } from './cloudevents.ts';
import type { HttpArrival, LogArrival, SignalFormat } from './format.ts';
import { modsecurity } from './modsecurity.ts';
import { nginx } from './nginx.ts';
import { webhook } from './webhook.ts';

export const SIGNAL_FORMATS = [
  // Posted over HTTP, in the order of their routes.
  alertmanager,
  cloudevents,
  webhook,
  // Lines of log files the tailer follows.
  modsecurity,
  nginx,
  auditd,
] as const;

type AnyFormat = (typeof SIGNAL_FORMATS)[number];
export type FormatName = AnyFormat['name'];
/** A format posted to an HTTP ingest route. */
export type HttpFormat = Extract<AnyFormat, { arrival: HttpArrival }>;
/** A format read from log files. */
export type LogFormat = Extract<AnyFormat, { arrival: LogArrival }>['name'];

export const FORMAT_NAMES = SIGNAL_FORMATS.map((f) => f.name) as readonly FormatName[];

export const HTTP_FORMATS: readonly SignalFormat<HttpFormat['name'], HttpArrival>[] = SIGNAL_FORMATS.filter(
  (f): f is HttpFormat => f.arrival.kind === 'http',
);

/** The names a tailed file's `format` can take. */
export const LOG_FORMATS = SIGNAL_FORMATS.filter((f) => f.arrival.kind === 'log').map((f) => f.name) as [LogFormat, ...LogFormat[]];

/** The format of this name. */
export function signalFormat<N extends FormatName>(name: N): Extract<AnyFormat, { name: N }> {
  const f = SIGNAL_FORMATS.find((x) => x.name === name);
  if (!f) throw new Error(`no signal format "${name}"`);
  return f as Extract<AnyFormat, { name: N }>;
}
