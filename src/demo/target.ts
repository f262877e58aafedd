/**
 * The demo target: a small shop on loopback, deliberately vulnerable, whose security controls can
 * be switched on and off while it runs. It exists so that a newcomer sees Bulwark's experiments
 * end `prevented`, `detected` and `missed` (and `detected-late`, with an audit delay) against
 * something safe and local, within a minute of `npm start`. Never expose it: it only listens on
 * loopback, and with a control off it really is injectable (search echoes its query unescaped),
 * IDOR-able (any account by id) and open (the admin page).
 *
 * Controls: `inputFilter` (SQL injection, XSS, path traversal, command injection → 403),
 * `loginThrottling` (`loginMaxFailures` failed logins per client within `loginWindowMs` → 429 with
 * Retry-After), `adminAuth` (/admin needs a bearer session → 401), `accountAuthz` (/account/:id
 * only for its owner), `auditLog` (blocked and suspicious requests are sent to `signalSink`,
 * `auditDelayMs` late). Change them with `controls.set()` or `PUT /__controls` with the control
 * token as a bearer.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildDemoEvent, silentLog, type DemoEventKind, type DemoLog, type DemoRule, type SignalSink } from './audit.ts';

export { httpSignalSink, DEMO_SOURCE, type DemoEvent, type SignalSink } from './audit.ts';

export interface Controls {
  inputFilter: boolean;
  loginThrottling: boolean;
  adminAuth: boolean;
  accountAuthz: boolean;
  auditLog: boolean;
  /** Delay before each audit signal is sent: above a detection deadline it makes `detected-late`. */
  auditDelayMs: number;
  loginMaxFailures: number;
  loginWindowMs: number;
}

/** The demo's mix: the SQL injection experiment is prevented, the admin one detected, the brute force missed. */
export const DEMO_CONTROLS: Readonly<Controls> = {
  inputFilter: true,
  loginThrottling: false,
  adminAuth: false,
  accountAuthz: false,
  auditLog: true,
  auditDelayMs: 0,
  loginMaxFailures: 5,
  loginWindowMs: 60_000,
};

const LIMITS: Record<'auditDelayMs' | 'loginMaxFailures' | 'loginWindowMs', [number, number]> = {
  auditDelayMs: [0, 600_000],
  loginMaxFailures: [1, 1000],
  loginWindowMs: [1000, 3_600_000],
};

/** Validate a partial update; the message says what to fix. */
export function checkControls(input: unknown): { ok: true; value: Partial<Controls> } | { ok: false; message: string } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, message: 'send a JSON object of controls' };
  for (const [key, value] of Object.entries(input)) {
    if (!Object.hasOwn(DEMO_CONTROLS, key))
      return { ok: false, message: `unknown control '${key}'; known: ${Object.keys(DEMO_CONTROLS).join(', ')}` };
    const limits = (LIMITS as Record<string, [number, number]>)[key];
    if (limits) {
      if (!Number.isInteger(value) || (value as number) < limits[0] || (value as number) > limits[1])
        return { ok: false, message: `${key} must be an integer from ${limits[0]} to ${limits[1]}` };
    } else if (typeof value !== 'boolean') return { ok: false, message: `${key} must be true or false` };
  }
  return { ok: true, value: input };
}

/** The input filter's rules: a small, readable set of the classic patterns (a WAF's core rules in miniature). */
export const FILTER_RULES: readonly { rule: DemoRule; pattern: RegExp }[] = [
  {
    rule: 'sqli',
    pattern: /'\s*(or|and)\b|\bunion\b[\s\S]*\bselect\b|;\s*(drop|delete|insert|update)\b|'\s*--|\bsleep\s*\(|\/\*[\s\S]*\*\//i,
  },
  { rule: 'xss', pattern: /<\s*\/?\s*(script|iframe|svg|img|object|embed)\b|javascript\s*:|\bon[a-z]+\s*=/i },
  { rule: 'path-traversal', pattern: /\.\.[/\\]|\/etc\/(passwd|shadow)\b/i },
  { rule: 'command-injection', pattern: /[;&|`]\s*(cat|ls|id|whoami|uname|curl|wget|nc|bash|sh|ping)\b|\$\(/i },
];

export function matchFilter(text: string): DemoRule | undefined {
  return FILTER_RULES.find((r) => r.pattern.test(text))?.rule;
}

export interface DemoTargetOptions {
  host?: '127.0.0.1' | '::1' | 'localhost';
  port?: number;
  controls?: Partial<Controls>;
  signalSink?: SignalSink;
  clock?: { now(): Date };
  log?: DemoLog;
}

export interface DemoTarget {
  url: string;
  /** Bearer for `PUT /__controls`; a secret: do not log it. */
  controlToken: string;
  controls: { get(): Controls; set(update: Partial<Controls>): Controls };
  /** Close the listener; audit signals not yet sent are dropped, those in flight are awaited. */
  stop(): Promise<void>;
}

export const DEMO_USER = { name: 'alice', password: 'wonderland', accountId: '1' } as const;

const PRODUCTS = [
  { id: '1', name: 'Teapot', price: 18, hidden: false },
  { id: '2', name: 'Tea cosy', price: 9, hidden: false },
  { id: '3', name: 'Biscuit tin', price: 12, hidden: false },
  { id: '4', name: 'Staff voucher: 100% off', price: 0, hidden: true },
];
const ACCOUNTS: Record<string, { owner: string; email: string; card: string }> = {
  '1': { owner: 'alice', email: 'alice@shop.test', card: '**** 4242' },
  '2': { owner: 'bob', email: 'bob@shop.test', card: '**** 1881' },
  '3': { owner: 'carol', email: 'carol@shop.test', card: '**** 7310' },
};
const MAX_BODY = 16 * 1024;
const MAX_TRACKED = 10_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Demo shop</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export async function startDemoTarget(opts: DemoTargetOptions = {}): Promise<DemoTarget> {
  const host = opts.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host))
    throw new Error('the demo target is deliberately vulnerable: it listens on loopback only');
  const clock = opts.clock ?? { now: () => new Date() };
  const log = opts.log ?? silentLog;
  const sink = opts.signalSink;
  const controlToken = randomBytes(24).toString('base64url');
  const initial = checkControls(opts.controls ?? {});
  if (!initial.ok) throw new Error(`controls: ${initial.message}`);
  let controls: Controls = { ...DEMO_CONTROLS, ...initial.value };
  const failures = new Map<string, number[]>(); // client → times of failed logins
  const sessions = new Map<string, string>(); // bearer → user name
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();

  const set = (update: Partial<Controls>): Controls => {
    const r = checkControls(update);
    if (!r.ok) throw new Error(r.message);
    controls = { ...controls, ...r.value };
    log.info({ controls }, 'demo shop: controls changed');
    return { ...controls };
  };

  const audit = (req: IncomingMessage, kind: DemoEventKind, rule: DemoRule, status: number) => {
    if (!controls.auditLog || !sink) return;
    const event = buildDemoEvent({
      kind,
      rule,
      status,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      client: req.socket.remoteAddress ?? 'unknown',
      headers: req.headers,
      time: clock.now(),
    });
    const deliver = () => {
      const p = Promise.resolve()
        .then(() => sink(event))
        .catch((e: unknown) => log.warn({ err: String(e), eventId: event.id }, 'demo shop: the signal sink failed; dropped'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    if (controls.auditDelayMs === 0) return deliver();
    const t = setTimeout(() => {
      timers.delete(t);
      deliver();
    }, controls.auditDelayMs);
    timers.add(t);
  };

  const sessionUser = (req: IncomingMessage): string | undefined => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return m ? sessions.get(m[1]!) : undefined;
  };

  const recentFailures = (client: string): number[] => {
    const since = clock.now().getTime() - controls.loginWindowMs;
    const list = (failures.get(client) ?? []).filter((t) => t > since);
    if (list.length > 0) failures.set(client, list);
    else failures.delete(client);
    return list;
  };

  const send = (res: ServerResponse, status: number, body: string | object, headers: Record<string, string> = {}) => {
    const json = typeof body !== 'string';
    res.writeHead(status, {
      'content-type': json ? 'application/json' : 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(json ? JSON.stringify(body) : body);
  };

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) throw new HttpError(413, `body larger than ${MAX_BODY} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  const parseFields = (req: IncomingMessage, body: string): Record<string, unknown> => {
    if (/json/i.test(req.headers['content-type'] ?? '')) {
      try {
        const v: unknown = JSON.parse(body);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        /* refused below */
      }
      throw new HttpError(400, 'send a JSON object');
    }
    return Object.fromEntries(new URLSearchParams(body));
  };

  const controlEndpoint = async (req: IncomingMessage, res: ServerResponse) => {
    const given = Buffer.from(/^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const expected = Buffer.from(controlToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return send(res, 401, { error: 'send the control token as a bearer' });
    if (req.method === 'GET') return send(res, 200, controls);
    if (req.method !== 'PUT') return send(res, 405, { error: 'GET or PUT' }, { allow: 'GET, PUT' });
    let input: unknown;
    try {
      input = JSON.parse(await readBody(req));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      return send(res, 400, { error: 'send a JSON object of controls' });
    }
    const r = checkControls(input);
    return r.ok ? send(res, 200, set(r.value)) : send(res, 400, { error: r.message });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(`http://demo.invalid${req.url ?? '/'}`);
    } catch {
      throw new HttpError(400, 'bad request target');
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const client = req.socket.remoteAddress ?? 'unknown';
    if (path === '/__controls') return controlEndpoint(req, res);
    if (path === '/healthz' && method === 'GET') return send(res, 200, { ok: true });

    const body = method === 'POST' ? await readBody(req) : '';
    if (controls.inputFilter) {
      const rule = matchFilter(decode(req.url ?? '')) ?? matchFilter(body);
      if (rule) {
        audit(req, 'blocked', rule, 403);
        return send(res, 403, page('Blocked', `<p>Request blocked by the input filter (rule ${rule}).</p>`));
      }
    }

    if (path === '/' && method === 'GET') {
      return send(
        res,
        200,
        page('Demo shop', '<form action="/products"><input name="q"><button>Search</button></form><p><a href="/admin">Admin</a></p>'),
      );
    }
    if (path === '/products' && method === 'GET') {
      const q = url.searchParams.get('q') ?? '';
      // What a naive shop would run; a tautology in q shows the hidden rows, as it would in SQL.
      const sql = `SELECT id, name, price FROM products WHERE hidden = 0 AND name LIKE '%${q}%'`;
      const tautology = /'\s*or\s+'?(\w+)'?\s*=\s*'?\1/i.test(q);
      const rows = PRODUCTS.filter((p) => tautology || (!p.hidden && p.name.toLowerCase().includes(q.toLowerCase())));
      const list = rows.map((p) => `<li><a href="/products/${p.id}">${esc(p.name)}</a> — ${p.price} €</li>`).join('');
      // Deliberately unescaped: reflected XSS when the input filter is off.
      return send(res, 200, page('Search', `<p>Results for ${q}</p><pre>${esc(sql)}</pre><ul>${list}</ul>`));
    }
    const product = /^\/products\/([^/]+)$/.exec(path);
    if (product && method === 'GET') {
      const p = PRODUCTS.find((x) => x.id === product[1] && !x.hidden);
      return p ? send(res, 200, { id: p.id, name: p.name, price: p.price }) : send(res, 404, { error: 'no such product' });
    }
    if (path === '/login' && method === 'POST') {
      if (controls.loginThrottling) {
        const recent = recentFailures(client);
        if (recent.length >= controls.loginMaxFailures) {
          const retryAfter = Math.max(1, Math.ceil((recent[0]! + controls.loginWindowMs - clock.now().getTime()) / 1000));
          audit(req, 'blocked', 'login-throttle', 429);
          return send(res, 429, { error: 'too many failed logins; try later' }, { 'retry-after': String(retryAfter) });
        }
      }
      const fields = parseFields(req, body);
      if (fields.user === DEMO_USER.name && fields.password === DEMO_USER.password) {
        failures.delete(client);
        if (sessions.size >= MAX_TRACKED) sessions.clear();
        const token = randomBytes(18).toString('base64url');
        sessions.set(token, DEMO_USER.name);
        return send(res, 200, { token, accountId: DEMO_USER.accountId });
      }
      if (failures.size >= MAX_TRACKED && !failures.has(client)) failures.clear();
      failures.set(client, [...(failures.get(client) ?? []), clock.now().getTime()].slice(-1000));
      return send(res, 401, { error: 'wrong user or password' });
    }
    if (path === '/admin' && method === 'GET') {
      const user = sessionUser(req);
      if (!user && controls.adminAuth) {
        audit(req, 'blocked', 'admin-auth', 401);
        return send(res, 401, page('Sign in', '<p>The admin page needs a session.</p>'), {
          'www-authenticate': 'Bearer realm="demo-shop"',
        });
      }
      if (!user) audit(req, 'suspicious', 'admin-auth', 200);
      return send(res, 200, page('Admin', `<p>Orders today: 42. Users: ${Object.keys(ACCOUNTS).length}.</p>`));
    }
    const account = /^\/account\/([^/]+)$/.exec(path);
    if (account && method === 'GET') {
      const a = Object.hasOwn(ACCOUNTS, account[1]!) ? ACCOUNTS[account[1]!] : undefined;
      if (!a) return send(res, 404, { error: 'no such account' });
      const user = sessionUser(req);
      if (user !== a.owner) {
        const status = controls.accountAuthz ? (user ? 403 : 401) : 200;
        audit(req, controls.accountAuthz ? 'blocked' : 'suspicious', 'account-authz', status);
        if (controls.accountAuthz) return send(res, status, { error: 'not your account' });
      }
      return send(res, 200, { id: account[1], ...a });
    }
    return send(res, 404, page('Not found', '<p>No such page.</p>'));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) log.warn({ err: String(e) }, 'demo shop: request failed');
      if (!res.headersSent) send(res, status, { error: e instanceof HttpError ? e.message : 'internal error' }, { connection: 'close' });
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host === '::1' ? '[::1]' : host}:${port}`;
  log.info({ url }, 'demo shop listening');

  return {
    url,
    controlToken,
    controls: { get: () => ({ ...controls }), set },
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, Promise.allSettled([...inFlight])]);
    },
  };
}
