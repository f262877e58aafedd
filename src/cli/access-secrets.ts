/**
 * `bulwark secrets set|list|delete|rotate-key`: clients of a running server's API (--url or
 * BULWARK_URL, the token in BULWARK_TOKEN). A value is read from stdin or from a file named with
 * --file, never from a flag (flags show in the process list and shell history); one trailing
 * newline is dropped, so `printf '%s\n' … |` and a file ending in a newline both give the value.
 * Writing needs a fresh second factor for a person who has one: --code (env BULWARK_SECOND_FACTOR).
 * Exit codes: 0 done, 1 the server failed or could not be reached, 2 refused or bad input.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SECRET_NAME, SECRET_NAME_RULE } from '../core/access/sealed.ts';
import { CliExit, malformed } from './exit.ts';
import { DEFAULT_URL, client, remote, type RemoteFlags } from './remote.ts';

interface SecretView {
  name: string;
  version: number;
  keyId: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

type Flags = RemoteFlags & { code?: string };

const print = (s: string): void => void process.stdout.write(`${s}\n`);

function checkName(name: string): string {
  if (!SECRET_NAME.test(name)) throw malformed(`${name}: ${SECRET_NAME_RULE}`);
  return name;
}

/** A write: the shared client sends no second-factor header, so this one does (custom roles use it too). */
export async function write<T>(flags: Flags, method: 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const root = (flags.url ?? process.env.BULWARK_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  const token = flags.token ?? process.env.BULWARK_TOKEN;
  if (!token) throw malformed('a token is needed: set BULWARK_TOKEN (or pass --token)');
  const code = flags.code ?? process.env.BULWARK_SECOND_FACTOR;
  let res: Response;
  try {
    res = await fetch(`${root}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(code ? { 'x-bulwark-second-factor': code } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliExit(1, `error: cannot reach Bulwark at ${root}: ${(e as Error).message}; is "bulwark serve" running there?`);
  }
  const text = await res.text();
  let parsed: { message?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new CliExit(1, `error: ${root} answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) throw new CliExit(res.status >= 500 || res.status === 429 ? 1 : 2, `error: ${parsed.message ?? res.statusText}`);
  return parsed as T;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('type the value, then press Ctrl-D on a new line\n');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The value from a file or stdin, with one trailing newline dropped. */
export function valueFrom(text: string): string {
  return text.replace(/\r?\n$/, '');
}

const withCode = (c: Command) => c.option('--code <code>', 'the current code of your second factor (env BULWARK_SECOND_FACTOR)');

export function secretCommands(program: Command): void {
  const secrets = program.command('secrets').description('sealed secrets that experiments name instead of holding values');

  remote(
    withCode(
      secrets
        .command('set')
        .description('set a secret (a new version) from stdin or --file; the value is never a flag')
        .argument('<name>')
        .option('--file <path>', 'read the value from this file instead of stdin'),
    ),
  ).action(async (name: string, o: Flags & { file?: string }) => {
    checkName(name);
    let raw: string;
    try {
      raw = o.file !== undefined ? readFileSync(o.file, 'utf8') : await readStdin();
    } catch (e) {
      throw malformed(`cannot read the value${o.file !== undefined ? ` from ${o.file}` : ''}: ${(e as Error).message}`);
    }
    const value = valueFrom(raw);
    if (value === '') throw malformed('the value is empty: pipe it on stdin or name a file with --file');
    const s = await write<SecretView>(o, 'PUT', `/v1/secrets/${name}`, { value });
    print(o.json ? JSON.stringify(s) : `set ${s.name} version ${s.version} (sealed under key ${s.keyId})`);
  });

  remote(secrets.command('list').description('secret names, versions and times (never values)')).action(async (o: RemoteFlags) => {
    const r = await client(o)<{ secrets: SecretView[] }>('GET', '/v1/secrets');
    if (o.json) print(JSON.stringify(r));
    else if (r.secrets.length === 0) print('no secrets');
    else for (const s of r.secrets) print(`${s.name}  v${s.version}  updated ${s.updatedAt} by ${s.updatedBy}  key ${s.keyId}`);
  });

  remote(withCode(secrets.command('delete').description('delete a secret').argument('<name>'))).action(async (name: string, o: Flags) => {
    checkName(name);
    const r = await write<{ name: string; version: number }>(o, 'DELETE', `/v1/secrets/${name}`);
    print(o.json ? JSON.stringify(r) : `deleted ${r.name} (it was at version ${r.version})`);
  });

  remote(
    withCode(secrets.command('rotate-key').description('re-seal every secret and TOTP secret under a new key; the old key is retired')),
  ).action(async (o: Flags) => {
    const r = await write<{ from: string[]; to: string; secrets: number; secondFactors: number; runs: number }>(
      o,
      'POST',
      '/v1/secrets/rotate-key',
    );
    print(
      o.json
        ? JSON.stringify(r)
        : `new key ${r.to}; re-sealed ${r.secrets} secrets, ${r.secondFactors} TOTP secrets and the rollbacks of ${r.runs} runs; retired ${r.from.join(', ') || 'none'}`,
    );
  });
}
