/**
 * Authentication attacks over http: a bounded brute-force burst against one account, credential
 * stuffing from a list, and IDOR (walking object ids with one session). Every request is a
 * failed or unauthorised attempt that changes nothing on the target but its counters (login
 * throttling, lockout), which reset on their own; so the rollbacks are empty. A lockout the
 * burst triggers on a real account is the point of the test: aim it at a test account.
 */
import { z } from 'zod';
import {
  canary,
  defineTechnique,
  ref,
  fieldsRequest,
  httpActivity,
  parseTarget,
  text,
  timeoutSeconds,
  urlPath,
  urlUnder,
} from './technique.ts';
import type { Activity, SecretEntry } from '../types.ts';

/** The brute-force burst never sends more than this many attempts. */
export const MAX_BRUTE_FORCE = 100;
export const MAX_CREDENTIALS = 100;
export const MAX_IDOR_IDS = 100;

const loginFields = {
  path: urlPath().default('/login').describe('the login endpoint, below the target'),
  in: z
    .enum(['query', 'form', 'json'])
    .default('form')
    .describe('send the login in the query string (GET), a form body or a JSON body (POST)'),
  usernameField: text(128).default('username').describe('the name of the username field'),
  passwordField: text(128).default('password').describe('the name of the password field'),
  pauseMs: z.number().int().min(0).max(10_000).default(0).describe('pause after each attempt, in milliseconds'),
  timeoutSeconds: timeoutSeconds(),
};

// Every attempt must be turned away — wrong password (401), refused (403), locked (423) or
// throttled (429); any other answer may have let the attacker in. Whether throttling engaged at
// all is a detection (a failed-login alert), because \`blocked\` judges each attempt alike.
const TURNED_AWAY = [401, 403, 423, 429];

export const bruteForce = defineTechnique({
  id: 'auth.brute-force',
  name: 'Password brute-force burst',
  attack: ['T1110.001'],
  description:
    'Tries `count` wrong passwords for one account in a row. Each password is a canary value naming the run. Changes nothing but failed-login counters; nothing to revert.',
  kind: 'http',
  params: z.strictObject({
    ...loginFields,
    username: text(256).default('admin').describe('the account attacked'),
    count: z.number().int().min(1).max(MAX_BRUTE_FORCE).default(20).describe('attempts'),
  }),
  inject(params, ctx) {
    const url = urlUnder(parseTarget(ctx.target), params.path);
    const method: Activity[] = [];
    for (let i = 1; i <= params.count; i++) {
      const fields = { [params.usernameField]: params.username, [params.passwordField]: canary(`p${i}`) };
      method.push(
        httpActivity(
          `auth.brute-force #${i}`,
          fieldsRequest(url, params.in, fields, params.timeoutSeconds * 1000),
          params.pauseMs > 0 ? { pauseAfterMs: params.pauseMs } : {},
        ),
      );
    }
    return { method, rollbacks: [], expectHints: { blocked: TURNED_AWAY } };
  },
});

/** `user:password`, split at the first colon (as HTTP Basic does). */
const credential = text(512).refine((s) => /^[^:]+:/.test(s), { message: "must be 'username:password'" });

/** A few pairs from public default-credential lists; the point is the pattern of attempts, not a real leak. */
export const DEFAULT_CREDENTIALS = ['admin:admin', 'admin:password', 'root:toor', 'user:123456', 'test:test', 'guest:guest'];

export const credentialStuffing = defineTechnique({
  id: 'auth.credential-stuffing',
  name: 'Credential stuffing from a list',
  attack: ['T1110.004'],
  description:
    'Tries each username:password pair of a list once, as a stuffing bot replays leaked credentials. Changes nothing but failed-login counters; nothing to revert.',
  kind: 'http',
  params: z.strictObject({
    ...loginFields,
    credentials: z
      .array(credential)
      .min(1)
      .max(MAX_CREDENTIALS)
      .default(DEFAULT_CREDENTIALS)
      .describe("the pairs to try, each 'username:password'"),
  }),
  inject(params, ctx) {
    const url = urlUnder(parseTarget(ctx.target), params.path);
    const method = params.credentials.map((pair, i) => {
      const at = pair.indexOf(':');
      const fields = { [params.usernameField]: pair.slice(0, at), [params.passwordField]: pair.slice(at + 1) };
      return httpActivity(
        `auth.credential-stuffing #${i + 1} ${pair.slice(0, at)}`,
        fieldsRequest(url, params.in, fields, params.timeoutSeconds * 1000),
        params.pauseMs > 0 ? { pauseAfterMs: params.pauseMs } : {},
      );
    });
    return { method, rollbacks: [], expectHints: { blocked: TURNED_AWAY } };
  },
});

const envName = text(128).refine((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s), { message: 'must be an environment variable name' });

export const insecureDirectObjectReference = defineTechnique({
  id: 'auth.idor',
  name: 'IDOR: walking object ids',
  attack: ['T1190', 'T1213'],
  description:
    "Reads one object URL for each id of a list, as one user (a bearer token from the environment) or none, to check that other users' objects are refused. GET only; nothing to revert.",
  kind: 'http',
  params: z.strictObject({
    urlTemplate: urlPath()
      .refine((s) => s.includes('{id}'), { message: 'must contain {id}, e.g. /api/orders/{id}' })
      .default('/api/users/{id}')
      .describe('the object URL below the target, with {id} where the id goes'),
    ids: z
      .array(z.union([text(128), z.number().int()]))
      .min(1)
      .max(MAX_IDOR_IDS)
      .default(['1', '2', '3'])
      .describe('the ids to ask for (those of another user)'),
    tokenEnv: envName.optional().describe('environment variable holding the bearer token of the user making the requests'),
    timeoutSeconds: timeoutSeconds(),
  }),
  inject(params, ctx) {
    const target = parseTarget(ctx.target);
    const auth = params.tokenEnv !== undefined;
    // The token stays in the environment: the file names the variable, the run reads it as a secret.
    const headers: Record<string, string> = auth ? { Authorization: `Bearer ${ref('idor_token')}` } : {};
    const method = params.ids.map((raw, i) => {
      const id = String(raw);
      const url = urlUnder(target, params.urlTemplate.replaceAll('{id}', encodeURIComponent(id)));
      return httpActivity(`auth.idor #${i + 1} id ${id}`, {
        url,
        headers,
        timeoutMs: params.timeoutSeconds * 1000,
        ...(auth ? { secrets: ['target'] } : {}),
      });
    });
    const secrets: Record<string, Record<string, SecretEntry>> | undefined = auth
      ? { target: { idor_token: { kind: 'env', key: params.tokenEnv! } } }
      : undefined;
    return {
      method,
      rollbacks: [],
      expectHints: { blocked: [401, 403, 404] },
      ...(secrets ? { secrets } : {}),
    };
  },
});
