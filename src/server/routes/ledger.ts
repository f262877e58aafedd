import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../core/access/permissions.ts';
import { notFound } from '../../core/errors.ts';
import { Actor } from '../../core/ledger/actor.ts';
import { fromStored, entryLeafHash, type LedgerEntry, type StoredEntry } from '../../core/ledger/entry.ts';
import { makeCheckpoint, viewCheckpoint, type Publisher } from '../../app/ledger/checkpoints.ts';
import { addNote, NoteInput } from '../../app/ledger/notes.ts';
import { consistencyProof, inclusionProof } from '../../app/ledger/proofs.ts';
import { verifyStore } from '../../app/ledger/verify.ts';
import type { AppDeps } from '../../app/deps.ts';
import type { RouteRegistry } from '../route.ts';

const hex = z.string().regex(/^[0-9a-f]{64}$/);
export const EntryView = z.object({
  seq: z.number().int(),
  time: z.string(),
  actor: z
    .union([Actor, z.string().describe('an entry written before actors were structured: token:ID, cli:USER, system, …')])
    .describe('who acted: the principal, the token or session, the request id and how'),
  kind: z.string(),
  subject: z.string(),
  data: z.unknown().describe('null when redacted'),
  leafHash: hex,
  redacted: z
    .literal(true)
    .optional()
    .describe('the caller may not read this entry: actor and data are withheld; seq, time, kind, subject and leafHash still prove it'),
});
export const CheckpointView = z.object({
  size: z.number().int(),
  root: hex,
  time: z.string(),
  keyId: z.string(),
  keyName: z.string(),
  origin: z.string(),
  note: z.string().describe('the signed note, as published'),
});
export const EntriesPage = z.object({ entries: z.array(EntryView), next: z.number().int().nullable(), size: z.number().int() });
export const VerifyReport = z.object({
  ok: z.boolean(),
  size: z.number().int(),
  entriesChecked: z.number().int(),
  checkpointsChecked: z.number().int(),
  firstBad: z.object({ seq: z.number().int(), reason: z.string() }).nullable(),
  message: z.string(),
});
const seqParam = z.coerce.number().int().min(0);

export function viewEntry(e: StoredEntry | LedgerEntry) {
  const full = 'dataJson' in e ? fromStored(e) : e;
  return { ...full, leafHash: entryLeafHash(e).toString('hex') };
}

/** What a redactor looks at: an entry's kind, subject and data. */
export interface RedactableEntry {
  kind: string;
  subject: string;
  data: unknown;
}
/**
 * A capability's say over which entries an API caller may read. `forCaller` runs once per
 * request and returns a test of entries to withhold from that caller, or undefined when it may
 * read them all (so the per-entry test is cheap: a set lookup, not a query).
 */
export interface EntryRedactor {
  forCaller(principal: Principal): Promise<((e: RedactableEntry) => boolean) | undefined>;
}

const redactors = new WeakMap<FastifyInstance, EntryRedactor[]>();

/** Withhold some entries from some callers on the ledger read routes of `app`; any part may add one, before or after the ledger's. */
export function addEntryRedactor(app: FastifyInstance, redactor: EntryRedactor): void {
  const list = redactors.get(app) ?? [];
  list.push(redactor);
  redactors.set(app, list);
}

type View = ReturnType<typeof viewEntry> & { redacted?: true };

/** The entry views for this caller: those a redactor withholds keep seq, time, kind, subject and leafHash only. */
async function redactFor(app: FastifyInstance, principal: Principal): Promise<(v: View) => View> {
  const tests = (await Promise.all((redactors.get(app) ?? []).map((r) => r.forCaller(principal)))).filter((t) => t !== undefined);
  if (tests.length === 0) return (v) => v;
  return (v) =>
    tests.some((t) => t(v))
      ? { seq: v.seq, time: v.time, actor: 'redacted', kind: v.kind, subject: v.subject, data: null, leafHash: v.leafHash, redacted: true }
      : v;
}

export function ledgerRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps, publishers: readonly Publisher[]): void {
  const read = { permission: 'ledger:read' } as const;

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/entries',
    tag: 'ledger',
    summary: 'List ledger entries, a page at a time',
    auth: read,
    priority: 'low',
    query: z.strictObject({
      from: seqParam.optional().describe('asc: the lowest seq; desc: the highest (default: newest)'),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      order: z.enum(['asc', 'desc']).default('asc'),
      kind: z.string().max(200).optional(),
    }),
    response: EntriesPage,
    handler: async ({ query, principal }) => {
      const [rows, head, redact] = await Promise.all([deps.store.ledger.page(query), deps.store.ledger.head(), redactFor(app, principal)]);
      const last = rows.at(-1);
      let next: number | null = null;
      if (last && rows.length === query.limit)
        next = query.order === 'asc' ? (last.seq + 1 < head.size ? last.seq + 1 : null) : last.seq > 0 ? last.seq - 1 : null;
      return { entries: rows.map((e) => redact(viewEntry(e))), next, size: head.size };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/entries/:seq',
    tag: 'ledger',
    summary: 'One ledger entry',
    auth: read,
    params: z.strictObject({ seq: seqParam }),
    response: EntryView,
    errors: [404],
    handler: async ({ params, principal }) => {
      const [row] = await deps.store.ledger.page({ from: params.seq, limit: 1, order: 'asc' });
      if (!row || row.seq !== params.seq) throw notFound(`no ledger entry ${params.seq}`);
      return (await redactFor(app, principal))(viewEntry(row));
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/ledger/notes',
    tag: 'ledger',
    summary: 'Append a typed note to the ledger (the one way to append by hand)',
    auth: { permission: 'ledger:write' },
    body: NoteInput,
    status: 201,
    response: EntryView,
    handler: async ({ body, principal, req }) => viewEntry(await addNote(deps, principal, body, req.id)),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/checkpoint',
    tag: 'ledger',
    summary: 'The latest signed checkpoint',
    auth: read,
    response: CheckpointView,
    errors: [404],
    handler: async () => {
      const c = await deps.store.ledger.latestCheckpoint();
      if (!c) throw notFound('no checkpoint yet; POST /v1/ledger/checkpoints makes one');
      return viewCheckpoint(c);
    },
  });

  r.add(app, {
    method: 'POST',
    url: '/v1/ledger/checkpoints',
    tag: 'ledger',
    summary: 'Sign a checkpoint of the current head now and publish it (200 with the existing one when already signed)',
    auth: { permission: 'ledger:checkpoint' },
    body: z
      .strictObject({
        force: z.boolean().default(false).describe('sign anew even when the current key already signed this head'),
      })
      .optional(),
    status: 201,
    errors: [200],
    response: CheckpointView.extend({ created: z.boolean() }),
    handler: async ({ body, req, reply }) => {
      const { checkpoint, created } = await makeCheckpoint(deps, {
        force: body?.force ?? false,
        publishers,
        onPublishError: (e) => req.log.warn({ err: e }, 'checkpoint publish failed'),
      });
      // 201 for a new checkpoint; 200 when the head was already signed by the current key.
      if (!created) void reply.code(200);
      return { ...viewCheckpoint(checkpoint), created };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/keys',
    tag: 'ledger',
    summary: 'Every public key that has signed checkpoints, current and retired',
    auth: read,
    response: z.object({
      keys: z.array(
        z.object({ keyId: z.string(), name: z.string(), publicKey: z.string(), createdAt: z.string(), retiredAt: z.string().nullable() }),
      ),
    }),
    handler: async () => ({ keys: await deps.store.ledger.keys() }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/proofs/inclusion',
    tag: 'ledger',
    summary: 'Inclusion proof of entry `seq` in the tree of `size` entries (RFC 6962)',
    auth: read,
    query: z.strictObject({ seq: seqParam, size: z.coerce.number().int().min(1).optional().describe('default: the current size') }),
    response: z.object({ seq: z.number().int(), size: z.number().int(), leafHash: hex, proof: z.array(hex), root: hex }),
    errors: [400, 404],
    handler: async ({ query }) => {
      const size = query.size ?? (await deps.store.ledger.head()).size;
      const p = await inclusionProof(deps.store.ledger, query.seq, size);
      return {
        seq: p.seq,
        size: p.size,
        leafHash: p.leafHash.toString('hex'),
        proof: p.proof.map((h) => h.toString('hex')),
        root: p.root.toString('hex'),
      };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/proofs/consistency',
    tag: 'ledger',
    summary: 'Consistency proof between tree sizes `from` and `to` (RFC 6962)',
    auth: read,
    query: z.strictObject({
      from: z.coerce.number().int().min(1),
      to: z.coerce.number().int().min(1).optional().describe('default: the current size'),
    }),
    response: z.object({ from: z.number().int(), to: z.number().int(), proof: z.array(hex), root1: hex, root2: hex }),
    errors: [400, 404],
    handler: async ({ query }) => {
      const to = query.to ?? (await deps.store.ledger.head()).size;
      const p = await consistencyProof(deps.store.ledger, query.from, to);
      return {
        from: p.from,
        to: p.to,
        proof: p.proof.map((h) => h.toString('hex')),
        root1: p.root1.toString('hex'),
        root2: p.root2.toString('hex'),
      };
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/ledger/verify',
    tag: 'ledger',
    summary: 'Recompute every leaf and root and check every checkpoint signature',
    auth: read,
    priority: 'low',
    response: VerifyReport,
    handler: async () => verifyStore(deps.store),
  });
}
