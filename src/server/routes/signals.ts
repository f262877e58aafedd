/**
 * Signals in over HTTP, and the stored signals and their evidence to read back. There is one
 * ingest route per HTTP format of the registry (core/signals/formats/registry.ts: Alertmanager,
 * CloudEvents, mapped JSON webhooks), each built by the one pipeline in signal-ingest.ts; each
 * source posts with its own token (`signals:ingest:<source>`).
 *
 * The ingest routes live in their own plugin whose content-type parsers keep the body as raw
 * bytes: the exact bytes are the evidence, CloudEvents binary mode carries any media type, and
 * the pipeline checks the token's source before spending anything on the body.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { invalid, notFound } from '../../core/errors.ts';
import { HTTP_FORMATS } from '../../core/signals/formats/registry.ts';
import { SEVERITIES } from '../../core/signals/severity.ts';
import { parseTimestamp, safeJsonParse } from '../../core/signals/signal.ts';
import type { WebhookMapping } from '../../core/signals/webhook-mapping.ts';
import { iso, type AppDeps } from '../../app/deps.ts';
import type { SignalIngest } from '../../app/signals/ingest.ts';
import type { SignalCursor, SignalRecord } from '../../store/signals/port.ts';
import type { RouteRegistry } from '../route.ts';
import { ingestRoute, sourceName } from './signal-ingest.ts';

export interface SignalRouteOptions {
  ingest: SignalIngest;
  /** Declared in config under signals.webhooks, by source name. */
  webhooks: Readonly<Record<string, WebhookMapping>>;
}

const signalId = z.string().regex(/^sig_[0-9a-f]{32}$/, 'a signal id is sig_ and 32 hex digits');

const SignalView = z.object({
  id: z.string(),
  source: z.string(),
  time: z.string().describe("the source's own timestamp"),
  receivedAt: z.string().describe("Bulwark's receipt time"),
  severity: z.enum(SEVERITIES),
  labels: z.record(z.string(), z.string()),
  body: z.unknown(),
  fingerprint: z.string().describe('the dedup key'),
  runId: z.string().nullable(),
  resolved: z.boolean(),
  rawDigest: z.string().describe('SHA-256 of the raw payload; GET /v1/signals/{id}/evidence returns it'),
});

const viewSignal = (s: SignalRecord): z.output<typeof SignalView> => ({
  id: s.id,
  source: s.source,
  time: s.time,
  receivedAt: s.receivedAt,
  severity: s.severity,
  labels: s.labels,
  body: s.body ?? null,
  fingerprint: s.fingerprint,
  runId: s.runId ?? null,
  resolved: s.resolved,
  rawDigest: s.rawDigest,
});

export function signalRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps, opts: SignalRouteOptions): void {
  void app.register(async (scope) => ingestRoutes(scope, r, deps, opts));
  readRoutes(app, r, deps);
}

function ingestRoutes(scope: FastifyInstance, r: RouteRegistry, deps: AppDeps, opts: SignalRouteOptions): void {
  const keepRaw = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => done(null, body);
  scope.removeAllContentTypeParsers();
  const named = [...new Set(HTTP_FORMATS.flatMap((f) => f.mediaTypes).filter((m) => !m.includes('*')))];
  if (named.length > 0) scope.addContentTypeParser(named, { parseAs: 'buffer' }, keepRaw);
  // Any other media type reaches the route too: each format's pipeline checks what it takes
  // (CloudEvents binary mode: the body is the event's data, in whatever media type it has).
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, keepRaw);
  const arrivals = new WeakMap<FastifyRequest, string>();
  scope.addHook('onRequest', async (req) => {
    arrivals.set(req, iso(deps.clock));
  });
  const receivedAt = (req: FastifyRequest): string => arrivals.get(req) ?? iso(deps.clock);

  for (const format of HTTP_FORMATS) ingestRoute(scope, r, format, { ingest: opts.ingest, webhooks: opts.webhooks, receivedAt });
}

function readRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  const read = { permission: 'signals:read' } as const;

  r.add(app, {
    method: 'GET',
    url: '/v1/signals',
    tag: 'signals',
    summary: 'Stored signals, newest first by receipt, a page at a time',
    auth: read,
    priority: 'low',
    query: z.strictObject({
      source: sourceName.optional(),
      runId: z
        .string()
        .regex(/^[a-z0-9]{8,32}$/, 'a run id is 8–32 lower-case letters and digits')
        .optional(),
      since: z
        .string()
        .transform((s, ctx) => parseTimestamp(s) ?? (ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 timestamp' }), z.NEVER))
        .optional()
        .describe('received at or after this time'),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: z.string().max(200).optional().describe('the `next` of the previous page'),
    }),
    response: z.object({ signals: z.array(SignalView), next: z.string().nullable() }),
    handler: async ({ query }) => {
      const page = await deps.store.signals.list({
        limit: query.limit,
        ...(query.source !== undefined && { source: query.source }),
        ...(query.runId !== undefined && { runId: query.runId }),
        ...(query.since !== undefined && { since: query.since }),
        ...(query.cursor !== undefined && { cursor: decodeCursor(query.cursor) }),
      });
      return { signals: page.signals.map(viewSignal), next: page.next ? encodeCursor(page.next) : null };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/signals/:id',
    tag: 'signals',
    summary: 'One stored signal',
    auth: read,
    params: z.strictObject({ id: signalId }),
    response: SignalView,
    errors: [404],
    handler: async ({ params }) => viewSignal(await getSignal(deps, params.id)),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/signals/:id/evidence',
    tag: 'signals',
    summary: 'The raw payload the signal came in, byte for byte, with its media type',
    auth: read,
    params: z.strictObject({ id: signalId }),
    produces: 'application/octet-stream',
    errors: [404],
    handler: async ({ params, reply }) => {
      const s = await getSignal(deps, params.id);
      const e = await deps.store.signals.getEvidence(s.rawDigest);
      if (!e) throw notFound(`the evidence of signal ${s.id} (sha256 ${s.rawDigest}) is not stored`);
      // The bytes are whatever a sender posted: never let a browser render or sniff them here.
      return reply
        .header('content-type', e.mediaType)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('content-disposition', `attachment; filename="${s.id}.evidence"`)
        .header('repr-digest', `sha-256=:${Buffer.from(e.digest, 'hex').toString('base64')}:`)
        .send(e.bytes);
    },
  });
}

async function getSignal(deps: AppDeps, id: string): Promise<SignalRecord> {
  const s = await deps.store.signals.get(id);
  if (!s) throw notFound(`no signal ${id}; list them with GET /v1/signals`);
  return s;
}

function encodeCursor(c: SignalCursor): string {
  return Buffer.from(JSON.stringify([c.receivedAt, c.id]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): SignalCursor {
  const bad = () => invalid('cursor: not a cursor this server gave; pass the `next` of the previous page as it was');
  const json = safeJsonParse(Buffer.from(text, 'base64url').toString('utf8'));
  if (!json.ok || !Array.isArray(json.value) || json.value.length !== 2) throw bad();
  const [receivedAt, id] = json.value as unknown[];
  if (
    typeof receivedAt !== 'string' ||
    parseTimestamp(receivedAt) !== receivedAt ||
    typeof id !== 'string' ||
    !/^sig_[0-9a-f]{32}$/.test(id)
  )
    throw bad();
  return { receivedAt, id };
}
