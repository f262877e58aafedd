/**
 * Logs: JSON lines, or short readable lines on a terminal. Secrets never reach either: known
 * secret-bearing fields are redacted by path, and every string in a log record is scrubbed of
 * anything shaped like a Bulwark token, before the record is written as JSON. The readable
 * format is made from that JSON line, so it shows only what the JSON would.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { build as prettyStream, type MessageFormatFunc } from 'pino-pretty';
import { scrubTokens } from '../core/access/token-format.ts';

/** How log records are written: `json`, one object per line; `pretty`, one short line each. */
export type LogFormat = 'json' | 'pretty';
/** The setting (`logFormat`): a format, or `auto` (pretty on a terminal, JSON otherwise). */
export type LogFormatSetting = 'auto' | LogFormat;

/**
 * The format to write in. `auto` is pretty only when the log goes to a terminal: a pipe, a file
 * or a supervisor that collects the output gets JSON, one object per line.
 */
export function resolveLogFormat(setting: LogFormatSetting, toTerminal: boolean): LogFormat {
  if (setting !== 'auto') return setting;
  return toTerminal ? 'pretty' : 'json';
}

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'totpSeed',
  '*.totpSeed',
];

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubTokens(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  // Only plain records are copied; requests, errors and the like go to their serializers.
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT, censor: '[REDACTED]' },
    formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
        method: req.method,
        url: scrubTokens(req.url ?? ''),
        remoteAddress: req.ip ?? req.socket?.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: (err: Error) => {
        const e = pino.stdSerializers.err(err);
        return { ...e, message: scrubTokens(e.message ?? ''), stack: e.stack ? scrubTokens(e.stack) : undefined };
      },
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubTokens(a) : a)) as Parameters<typeof method>);
      },
    },
  };
}

/**
 * Fastify's per-request log lines: one line per answered request, at `debug` (method, URL
 * scrubbed, remote address, status and time in ms, under the request's `reqId`), instead of two
 * at `info`, so that a server's log at the default level holds events, not traffic. A request
 * that errors while its answer is sent is still logged at `error`; a 5xx answer logs `request
 * failed` at `error` (http-errors.ts).
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.debug(line, 'request completed');
  }
}

/**
 * The message of a pretty line. A request line is `METHOD URL STATUS TIME` (after its message
 * unless that is `request completed`); other lines about a request end with its id.
 */
const prettyMessage: MessageFormatFunc = (log, messageKey) => {
  const value = log[messageKey];
  const msg = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  const req = log.req as { method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  if (req && res && typeof log.responseTime === 'number') {
    const line = `${req.method ?? '?'} ${req.url ?? '?'} ${res.statusCode ?? '?'} ${log.responseTime.toFixed(1)} ms`;
    return msg === 'request completed' ? line : `${msg}: ${line}`;
  }
  return typeof log.reqId === 'string' ? `${msg} (request ${log.reqId})` : msg;
};

/**
 * A stream that turns the logger's JSON lines into short readable ones, written synchronously so
 * that they keep their order with what else goes to the terminal. Colours only on a terminal.
 */
function prettyDestination(destination?: DestinationStream): DestinationStream {
  return prettyStream({
    destination: destination ?? 1,
    sync: true,
    ...(destination ? { colorize: false } : {}),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,reqId,req,res,responseTime',
    singleLine: true,
    messageFormat: prettyMessage,
  });
}

/**
 * The logger, writing to `stream` (default stdout) in `format` (default JSON). Redaction and
 * token scrubbing are the same in both formats.
 */
export function createLogger(level: string, stream?: DestinationStream, format: LogFormat = 'json'): Logger {
  if (format === 'pretty') return pino(loggerOptions(level), prettyDestination(stream));
  return stream ? pino(loggerOptions(level), stream) : pino(loggerOptions(level));
}
