/**
 * Who acted, as the ledger records it: the principal (its id and kind), the credential it acted
 * through (an API token, later a session), the request, and how (`api`, `cli`, `scheduler`,
 * `recovery`, `system`). Approvals ("never the requester"), incidents and the deploy gate read
 * it, so it is structured, not a label.
 *
 * Entries written before actors were structured hold a plain string (`token:ID`, `cli:USER`,
 * `system`, …). They are never rewritten: readers take both forms (`ActorValue`). In the leaf a
 * structured actor is its canonical JSON object, a plain one its JSON string; the database keeps
 * the canonical object text or the plain string, and no plain actor ever began with `{`.
 */
import { z } from 'zod';
import canonicalize from 'canonicalize';
import { invalid } from '../errors.ts';
import { textProblem } from '../input/text.ts';
import { quote } from './canonical.ts';

export const ACTOR_HOW = ['api', 'cli', 'scheduler', 'recovery', 'system'] as const;
export type ActorHow = (typeof ACTOR_HOW)[number];

const text = z.string().min(1).max(200);

export const Actor = z.strictObject({
  /** The principal's id; a CLI user's name; a part of Bulwark (`scheduler`, `recovery`, `tailer:SOURCE`). */
  id: text,
  kind: z.enum(['person', 'service', 'system']),
  /** The API token it acted through. */
  token: text.optional(),
  /** The dashboard session it acted through. */
  session: text.optional(),
  /** The request id (X-Request-Id) of the API call. */
  request: text.optional(),
  how: z.enum(ACTOR_HOW),
});
export type Actor = z.infer<typeof Actor>;

/** An actor as read from the ledger: structured, or the plain string of an entry written before. */
export type ActorValue = Actor | string;

/** A call to the API by a principal through a token. */
export const apiActor = (p: { id: string; kind: 'person' | 'service'; tokenId: string; sessionId?: string }, request?: string): Actor => ({
  id: p.id,
  kind: p.kind,
  token: p.tokenId,
  ...(p.sessionId !== undefined ? { session: p.sessionId } : {}),
  ...(request !== undefined ? { request } : {}),
  how: 'api',
});

/** A person at the command line, on the machine that holds the database. */
export const cliActor = (user: string): Actor => ({ id: user || 'unknown', kind: 'person', how: 'cli' });

/** A part of Bulwark acting by itself. */
export const systemActor = (id: string, how: Extract<ActorHow, 'scheduler' | 'recovery' | 'system'> = 'system'): Actor => ({
  id,
  kind: 'system',
  how,
});

/**
 * The short form used where one string names who did something (a token's `createdBy`, an
 * experiment's `appliedBy`, a journal's actor): `token:ID` for an API call, `cli:USER`, or the
 * system part's id. The same strings as plain actors had, so stored values keep their meaning.
 */
export function actorLabel(a: ActorValue): string {
  if (typeof a === 'string') return a;
  if (a.session) return `session:${a.session}`;
  if (a.token) return `token:${a.token}`;
  if (a.how === 'cli') return `cli:${a.id}`;
  return a.id;
}

/** The stored text of an actor read back: canonical JSON of a structured one, a plain one as it is. */
export function storedActor(a: ActorValue): string {
  return typeof a === 'string' ? a : encodeActor(a);
}

/**
 * The stored text of a new entry's actor, its canonical JSON. Every new entry's actor is
 * structured: a plain string is refused, whatever the caller's types said.
 */
export function encodeActor(a: Actor): string {
  return fastActor(a) ?? slowEncodeActor(a);
}

const KINDS: ReadonlySet<unknown> = new Set(['person', 'service', 'system']);
const HOWS: ReadonlySet<unknown> = new Set(ACTOR_HOW);
const OPTIONAL = ['request', 'session', 'token'] as const;
/** Printable ASCII without quote or backslash: stored and quoted as it is. */
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,200}$/;

/**
 * The canonical JSON of a well-formed actor of plain text, written directly (keys in JCS order:
 * how, id, kind, request, session, token); undefined on any doubt, for the checks that name what
 * is wrong. Every append encodes one, so this is on the ledger's hot path.
 */
function fastActor(a: unknown): string | undefined {
  if (typeof a !== 'object' || a === null || Object.getPrototypeOf(a) !== Object.prototype) return undefined;
  const r = a as Record<string, unknown>;
  let keys = 0;
  for (const k in r) {
    if (k !== 'id' && k !== 'kind' && k !== 'how' && k !== 'token' && k !== 'session' && k !== 'request') return undefined;
    keys++;
  }
  const { id, kind, how } = r;
  if (typeof id !== 'string' || !PLAIN.test(id) || !KINDS.has(kind) || !HOWS.has(how)) return undefined;
  let out = `{"how":"${how as string}","id":"${id}","kind":"${kind as string}"`;
  let present = 3;
  for (const k of OPTIONAL) {
    const v = r[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !PLAIN.test(v)) return undefined;
    out += `,"${k}":"${v}"`;
    present++;
  }
  return present === keys ? `${out}}` : undefined;
}

function slowEncodeActor(a: Actor): string {
  const parsed = Actor.safeParse(a);
  if (!parsed.success)
    throw invalid(
      `the ledger entry's actor is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'actor'}: ${i.message}`).join('; ')}`,
    );
  for (const [field, value] of Object.entries(parsed.data)) {
    const problem = textProblem(value);
    if (problem) throw invalid(`the ledger entry's actor.${field} ${problem}; the ledger keeps only text that reads back unchanged`);
  }
  return canonicalize(parsed.data)!;
}

/** The actor of stored text (see encodeActor). */
export function decodeActor(stored: string): ActorValue {
  return stored.startsWith('{') ? (JSON.parse(stored) as Actor) : stored;
}

/** The actor's JSON in the leaf: the canonical object text as stored, or a plain actor quoted. */
export function actorLeafJson(stored: string): string {
  return stored.startsWith('{') ? stored : quote(stored);
}
