/**
 * The client the CLI's server commands share (`bulwark experiments apply`, `bulwark slo status`,
 * `bulwark coverage show`, …): the server is `--url` (env BULWARK_URL, default
 * http://127.0.0.1:7600), the token `--token` (env BULWARK_TOKEN; prefer the environment, a flag
 * is visible to other users of the machine). Exit codes: 1 when the server failed or could not be
 * reached, 2 for bad input (what the server refused, with the lines and columns it names).
 */
import type { Command } from 'commander';
import { CliExit, malformed } from './exit.ts';

export const DEFAULT_URL = 'http://127.0.0.1:7600';

export interface RemoteFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

/** The server flags on a command, and `--json` unless it prints something else. */
export function remote(cmd: Command, opts: { json?: boolean } = {}): Command {
  const c = cmd
    .option('--url <url>', `the Bulwark server (env BULWARK_URL; default ${DEFAULT_URL})`)
    .option('--token <token>', 'an API token (env BULWARK_TOKEN, preferred: a flag shows in the process list)');
  return opts.json === false ? c : c.option('--json', 'print the API answer as JSON');
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Client {
  /** A JSON request; its JSON answer. */
  <T>(method: Method, path: string, body?: unknown): Promise<T>;
  /** The answer as text (exports that are CSV or YAML). */
  text(method: Method, path: string, body?: unknown): Promise<string>;
}

/** The client for one command: base URL and token from flags, then the environment. */
export function client(flags: RemoteFlags, opts: { timeoutMs?: number } = {}): Client {
  const raw = flags.url ?? process.env.BULWARK_URL ?? DEFAULT_URL;
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw malformed(`--url ${raw}: not a URL; write e.g. ${DEFAULT_URL}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw malformed(`--url ${raw}: use an http:// or https:// URL`);
  const token = flags.token ?? process.env.BULWARK_TOKEN;
  if (!token) throw malformed('a token is needed: set BULWARK_TOKEN (or pass --token); mint one with "bulwark tokens create"');
  const root = base.href.replace(/\/+$/, '');

  async function send(method: Method, path: string, body: unknown): Promise<{ res: Response; text: string }> {
    let res: Response;
    try {
      res = await fetch(`${root}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
      throw new CliExit(1, `error: cannot reach Bulwark at ${root}: ${cause}; is "bulwark serve" running there? (--url or BULWARK_URL)`);
    }
    const text = await res.text();
    if (!res.ok) throw refusal(res, text);
    return { res, text };
  }

  const call = async <T>(method: Method, path: string, body?: unknown): Promise<T> => {
    const { res, text } = await send(method, path, body);
    try {
      return (text === '' ? {} : JSON.parse(text)) as T;
    } catch {
      throw new CliExit(1, `error: ${root}${path} answered ${res.status} with something that is not JSON; is this a Bulwark server?`);
    }
  };
  return Object.assign(call, { text: async (method: Method, path: string, body?: unknown) => (await send(method, path, body)).text });
}

/** What the server refused, as the CLI says it: its message, and each line and column it names. */
function refusal(res: Response, text: string): CliExit {
  let err: { message?: string; details?: unknown } = {};
  try {
    err = JSON.parse(text) as typeof err;
  } catch {
    // Not JSON: the status says it.
  }
  const lines = [`error: ${err.message ?? `${res.status} ${res.statusText}`}`];
  for (const d of Array.isArray(err.details) ? (err.details as Record<string, unknown>[]) : []) {
    if (typeof d?.line === 'number')
      lines.push(
        `  ${String(d.line)}:${String(d.column)}  ${String(d.message)}${typeof d.path === 'string' && d.path ? `  (${d.path})` : ''}`,
      );
  }
  return new CliExit(res.status >= 500 || res.status === 429 ? 1 : 2, lines.join('\n'));
}
