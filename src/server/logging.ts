/**
 * Structured JSON logs. Secrets never reach them: known secret-bearing fields are redacted by
 * path, and every string in a log record is scrubbed of anything shaped like a Bulwark token.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { scrubTokens } from '../core/access/token-format.ts';

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

export function createLogger(level: string, stream?: DestinationStream): Logger {
  return stream ? pino(loggerOptions(level), stream) : pino(loggerOptions(level));
}
