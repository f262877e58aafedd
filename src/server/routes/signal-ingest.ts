/**
 * The one pipeline of every HTTP ingest route, built from a signal format (core/signals/formats):
 * the route is declared from the format's arrival, and every request goes
 * requireSource → the format's source check → media type → raw body → parse → submit.
 * What a route answers is the same for every format: 202 and what was written, or one error.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { boundResources, can, type Principal } from '../../core/access/permissions.ts';
import { DomainError } from '../../core/errors.ts';
import { evidenceOfPayload, type HttpArrival, type SignalFormat } from '../../core/signals/formats/format.ts';
import type { WebhookMapping } from '../../core/signals/webhook-mapping.ts';
import { evidenceOf, type SignalIngest } from '../../app/signals/ingest.ts';
import type { RouteRegistry } from '../route.ts';
import { apiActor } from '../../core/ledger/actor.ts';

export const SOURCE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const sourceName = z.string().regex(SOURCE, 'a source is 1–63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit');

export const Accepted = z.object({
  accepted: z.number().int().describe('signals written now'),
  duplicates: z.number().int().describe('signals already stored (resends): acknowledged, nothing written'),
  ids: z.array(z.string()).describe("every signal's id, in payload order"),
});

export interface IngestRouteEnv {
  ingest: Pick<SignalIngest, 'ingest'>;
  webhooks: Readonly<Record<string, WebhookMapping>>;
  /** Bulwark's receipt time of the request (taken when it arrived). */
  receivedAt(req: FastifyRequest): string;
}

/** Declare the ingest route of one HTTP format in `scope`, whose content-type parsers keep raw bytes. */
export function ingestRoute(
  scope: FastifyInstance,
  r: RouteRegistry,
  format: SignalFormat<string, HttpArrival>,
  env: IngestRouteEnv,
): void {
  const { arrival } = format;
  const common = {
    method: 'POST',
    url: arrival.url,
    tag: 'signals',
    summary: arrival.summary,
    rawBody: format.mediaTypes,
    auth: { permission: 'signals:ingest' },
    priority: 'critical',
    status: 202,
    response: Accepted,
    errors: arrival.errors,
  } as const;

  const run = async (source: string, principal: Principal, req: FastifyRequest, reply: FastifyReply) => {
    requireSource(principal, source);
    format.checkSource?.(source, { webhooks: env.webhooks });
    if (arrival.accepts && !arrival.accepts.test(req.headers['content-type'])) {
      return reply.code(415).send({ error: 'unsupported_media_type', message: arrival.accepts.otherwise });
    }
    const input = { bytes: rawBody(req), headers: req.headers, rawHeaders: req.raw.rawHeaders };
    const signals = format.parse(input, { receivedAt: env.receivedAt(req), source, webhooks: env.webhooks });
    const evidence = evidenceOfPayload(format, input);
    const raw = evidenceOf(asBuffer(evidence.bytes), evidence.mediaType);
    const res = await env.ingest.ingest({ actor: apiActor(principal, req.id), items: signals.map((signal) => ({ signal, raw })) });
    return { accepted: res.accepted, duplicates: res.duplicates, ids: res.ids };
  };

  if (arrival.url.includes(':source')) {
    r.add(scope, {
      ...common,
      params: z.strictObject({ source: sourceName }),
      handler: async ({ params, principal, req, reply }) => run(params.source, principal, req, reply),
    });
  } else {
    r.add(scope, {
      ...common,
      query: z.strictObject({
        source: sourceName.default(arrival.defaultSource ?? format.name).describe('the source name, bound to the token'),
      }),
      handler: async ({ query, principal, req, reply }) => run(query.source, principal, req, reply),
    });
  }
}

/** The token may post for this source, or a 403 naming the scope it would need. */
export function requireSource(principal: Principal, source: string): void {
  if (can(principal, 'signals:ingest', source)) return;
  const mine = boundResources(principal, 'signals:ingest');
  throw new DomainError(
    'forbidden',
    `token "${principal.tokenName}" may post signals for ${mine.map((m) => `"${m}"`).join(', ')} only, not for source "${source}"; ` +
      `give this sender its own token: bulwark tokens create --name ${source} --scope signals:ingest:${source}`,
    { permission: `signals:ingest:${source}` },
  );
}

function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
