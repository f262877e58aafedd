/** Bulwark's tcp provider: connect to a port (and send bytes), or listen on one for a while. */
import { z } from 'zod';
import { report, seconds, strict, text } from '../schema-kit.ts';
import { toSeconds, type ProviderType } from './provider-type.ts';

export interface TcpProvider {
  type: 'tcp';
  operation: 'connect' | 'listen';
  host: string;
  port: number;
  timeoutMs?: number;
  /** Bytes (UTF-8) to send once connected. */
  send?: string;
}

export interface TcpResult {
  operation: 'connect' | 'listen';
  host: string;
  port: number;
  /** connect: whether the connection was accepted. */
  connected?: boolean;
  /** connect: why not (ECONNREFUSED, ETIMEDOUT …). */
  error?: string;
  /** connect: what the peer sent back (bounded); listen: what the clients sent (bounded). */
  received: string;
  /** listen: how many connections arrived while listening. */
  connections?: number;
  elapsedMs: number;
}

const schema = strict({
  type: z.literal('tcp'),
  operation: z.enum(['connect', 'listen']),
  host: text,
  port: z.number().int().min(0).max(65535),
  timeout: seconds.optional(),
  send: z.string().optional(),
}).transform((p, ctx): TcpProvider => {
  if (p.operation === 'connect' && p.port === 0) report(ctx, p, 'port 0 cannot be connected to; give the target port', ['port']);
  if (p.operation === 'listen' && p.send !== undefined) report(ctx, p, 'send applies to connect only', ['send']);
  return {
    type: 'tcp',
    operation: p.operation,
    host: p.host,
    port: p.port,
    ...(p.timeout !== undefined ? { timeoutMs: p.timeout } : {}),
    ...(p.send !== undefined ? { send: p.send } : {}),
  };
});

export const tcpType: ProviderType<TcpProvider, TcpResult> = {
  type: 'tcp',
  schema,
  secretScopes: () => [],
  rewriteStrings: (p, rw) => ({
    ...p,
    host: rw.str(p.host, ['host']),
    ...(p.send !== undefined ? { send: rw.str(p.send, ['send']) } : {}),
  }),
  toFile: (p) => ({
    type: 'tcp',
    operation: p.operation,
    host: p.host,
    port: p.port,
    ...(p.timeoutMs !== undefined ? { timeout: toSeconds(p.timeoutMs) } : {}),
    ...(p.send !== undefined ? { send: p.send } : {}),
  }),
  describe: (p) => `${p.operation} ${p.host}:${p.port}${p.send !== undefined ? ` and send ${JSON.stringify(p.send)}` : ''}`,
  blastRadius(p, radius) {
    const outside = radius.host(p.host);
    return outside === undefined ? [] : [outside];
  },
  limitTargets: (p) => ({ hosts: [p.host], files: [] }),
  injectionTier: 1,
  hostBound: false,
};
