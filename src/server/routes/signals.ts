/**
 * Signals in over HTTP: Alertmanager, CloudEvents and mapped JSON webhooks, each source with its
 * own token (`signals:ingest:<source>`), and the stored signals and their evidence to read back.
 *
 * The ingest routes live in their own plugin whose content-type parsers keep the body as raw
 * bytes: the exact bytes are the evidence, CloudEvents binary mode carries any media type, and
 * the handler checks the token's source before spending anything on the body.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { boundResources, can, type Principal } from '../../core/access/permissions.ts';
import { DomainError, invalid, notFound } from '../../core/errors.ts';
import { parseJsonBounded } from '../../core/input/bounded-json.ts';
import { INPUT_LIMITS } from '../../core/input/limits.ts';
import { parseAlertmanager } from '../../core/signals/alertmanager.ts';
import { CLOUDEVENTS_SOURCE, STRUCTURED_MEDIA_TYPE, parseCloudEvent } from '../../core/signals/cloudevents.ts';
import { SEVERITIES } from '../../core/signals/severity.ts';
import { decodeUtf8, parseTimestamp, safeJsonParse, type Signal } from '../../core/signals/signal.ts';
import { mapWebhook, type WebhookMapping } from '../../core/signals/webhook-mapping.ts';
import { iso, type AppDeps } from '../../app/deps.ts';
import { evidenceOf, type IngestResult, type SignalIngest } from '../../app/signals/ingest.ts';
import type { EvidenceRecord, SignalCursor, SignalRecord } from '../../store/store.ts';
import type { RouteRegistry } from '../route.ts';

export interface SignalRouteOptions {
  ingest: SignalIngest;
  /** Declared in config under signals.webhooks, by source name. */
  webhooks: Readonly<Record<string, WebhookMapping>>;
}

const SOURCE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const sourceName = z.string().regex(SOURCE, 'a source is 1–63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit');
const signalId = z.string().regex(/^sig_[0-9a-f]{32}$/, 'a signal id is sig_ and 32 hex digits');

const Accepted = z.object({
  accepted: z.number().int().describe('signals written now'),
  duplicates: z.number().int().describe('signals already stored (resends): acknowledged, nothing written'),
  ids: z.array(z.string()).describe("every signal's id, in payload order"),
});

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
  scope.addContentTypeParser(['application/json', STRUCTURED_MEDIA_TYPE], { parseAs: 'buffer' }, keepRaw);
  // CloudEvents binary mode: the body is the event's data, in whatever media type it has.
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, keepRaw);
  const arrivals = new WeakMap<FastifyRequest, string>();
  scope.addHook('onRequest', async (req) => {
    arrivals.set(req, iso(deps.clock));
  });
  const receivedAt = (req: FastifyRequest): string => arrivals.get(req) ?? iso(deps.clock);

  const auth = { permission: 'signals:ingest' } as const;
  const submit = async (principal: Principal, signals: Signal[], raw: EvidenceRecord): Promise<z.output<typeof Accepted>> => {
    const res: IngestResult = await opts.ingest.ingest({
      actor: `token:${principal.tokenId}`,
      items: signals.map((signal) => ({ signal, raw })),
    });
    return { accepted: res.accepted, duplicates: res.duplicates, ids: res.ids };
  };

  r.add(scope, {
    method: 'POST',
    url: '/v1/signals/alertmanager',
    tag: 'signals',
    summary: "Alertmanager's webhook (payload version 4): one signal per alert; resends are acknowledged as duplicates",
    rawBody: ['application/json'],
    auth,
    priority: 'critical',
    query: z.strictObject({ source: sourceName.default('alertmanager').describe('the source name, bound to the token') }),
    status: 202,
    response: Accepted,
    errors: [404, 413, 415, 503],
    handler: async ({ query, principal, req, reply }) => {
      requireSource(principal, query.source);
      if (!isJsonRequest(req)) return unsupportedMediaType(reply, 'send the Alertmanager payload as application/json');
      const bytes = rawBody(req);
      const parsed = parseAlertmanager(parseJson(bytes), { receivedAt: receivedAt(req), source: query.source });
      if (!parsed.ok) throw invalid(parsed.reason, parsed.issues);
      return submit(principal, parsed.signals, evidenceOf(bytes, mediaTypeOf(req, 'application/json')));
    },
  });

  r.add(scope, {
    method: 'POST',
    url: '/v1/signals/cloudevents',
    tag: 'signals',
    summary: 'One CloudEvent 1.0, structured (application/cloudevents+json) or binary mode (ce-* headers); idempotent by source + id',
    rawBody: ['application/cloudevents+json', 'application/json', '*/*'],
    auth,
    priority: 'critical',
    query: z.strictObject({ source: sourceName.default(CLOUDEVENTS_SOURCE).describe('the source name, bound to the token') }),
    status: 202,
    response: Accepted,
    errors: [413, 503],
    handler: async ({ query, principal, req }) => {
      requireSource(principal, query.source);
      const bytes = rawBody(req);
      const parsed = parseCloudEvent({ headers: req.headers, body: bytes }, { receivedAt: receivedAt(req), source: query.source });
      if (!parsed.ok) throw invalid(parsed.reason, parsed.issues);
      const structured = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === STRUCTURED_MEDIA_TYPE;
      return submit(
        principal,
        [parsed.signal],
        structured ? evidenceOf(bytes, mediaTypeOf(req, STRUCTURED_MEDIA_TYPE)) : binaryModeEvidence(req, bytes),
      );
    },
  });

  r.add(scope, {
    method: 'POST',
    url: '/v1/signals/webhook/:source',
    tag: 'signals',
    summary: 'Any JSON payload, made into a signal by the mapping declared in config under signals.webhooks.<source>',
    rawBody: ['application/json'],
    auth,
    priority: 'critical',
    params: z.strictObject({ source: sourceName }),
    status: 202,
    response: Accepted,
    errors: [404, 413, 415, 503],
    handler: async ({ params, principal, req, reply }) => {
      requireSource(principal, params.source);
      const mapping = Object.hasOwn(opts.webhooks, params.source) ? opts.webhooks[params.source] : undefined;
      if (!mapping) {
        throw notFound(
          `no webhook source "${params.source}" is declared; declare its mapping in the config file under signals.webhooks.${params.source} (see docs/signals.md) and restart`,
        );
      }
      if (!isJsonRequest(req)) return unsupportedMediaType(reply, 'send the webhook payload as application/json');
      const bytes = rawBody(req);
      const parsed = mapWebhook(parseJson(bytes), mapping, { receivedAt: receivedAt(req) });
      if (!parsed.ok) throw invalid(`payload does not fit the mapping of source "${params.source}": ${parsed.reason}`, parsed.issues);
      return submit(principal, [parsed.signal], evidenceOf(bytes, mediaTypeOf(req, 'application/json')));
    },
  });
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

function requireSource(principal: Principal, source: string): void {
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

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw invalid('the body is empty; send a JSON object');
  const text = decodeUtf8(bytes);
  if (text === undefined) throw invalid('the body is not valid UTF-8');
  // Bounded (depth, values, storable text: INPUT_LIMITS.json) like every JSON input.
  return parseJsonBounded(text, INPUT_LIMITS.json, 'the body');
}

/** JSON media types (application/json, text/json, anything +json), or none said. */
function isJsonRequest(req: FastifyRequest): boolean {
  const ct = req.headers['content-type'];
  if (ct === undefined) return true;
  const media = ct.split(';')[0]!.trim().toLowerCase();
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

function unsupportedMediaType(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(415).send({ error: 'unsupported_media_type', message });
}

const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\r\n]*"|[\w!#$&^.+-]+))*$/;

/** The request's Content-Type as the evidence's media type, when it is a well-formed one. */
function mediaTypeOf(req: FastifyRequest, fallback: string): string {
  const ct = req.headers['content-type'];
  if (ct === undefined) return fallback;
  const v = ct.trim();
  return v.length <= 200 && MEDIA_TYPE.test(v) ? v : 'application/octet-stream';
}

/**
 * In binary mode the event's attributes travel as headers, so the evidence is the message
 * itself (RFC 9112 §10.1 application/http): the request line, the `ce-*` and Content-Type
 * headers as received (never Authorization or cookies), and the body's bytes.
 */
function binaryModeEvidence(req: FastifyRequest, body: Buffer): EvidenceRecord {
  const lines = ['POST /v1/signals/cloudevents HTTP/1.1'];
  const raw = req.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name.startsWith('ce-') || name === 'content-type') lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  return evidenceOf(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]), 'application/http; msgtype=request');
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
