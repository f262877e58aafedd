/**
 * Run ids and lease owners. A run id is 16 characters of [a-z0-9] (82 bits), the shape
 * correlation.ts accepts. A lease owner names the process holding a run, `host:pid:nonce`, so
 * that a runner on the same host can tell a dead owner (no such pid) from a live one without
 * waiting for its lease to expire; the nonce tells two holders apart if a pid is reused. Both
 * take their randomness as a parameter (node:crypto by default), as token-format.ts does.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { hostname } from 'node:os';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `randomIndex(n)`: a uniform integer in [0, n). */
export function newRunId(randomIndex: (n: number) => number = randomInt): string {
  let id = '';
  for (let i = 0; i < 16; i++) id += ALPHABET[randomIndex(ALPHABET.length)];
  return id;
}

export function newLeaseOwner(random: (n: number) => Buffer = randomBytes): string {
  return `${hostname()}:${process.pid}:${random(4).toString('hex')}`;
}

function parseOwner(owner: string): { host: string; pid: number } | undefined {
  const m = /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  if (!m) return undefined;
  return { host: m[1]!, pid: Number(m[2]) };
}

/** Whether `owner` (a lease owner name) is a process of this host, dead or alive. */
export function ownerIsOnThisHost(owner: string): boolean {
  return parseOwner(owner)?.host === hostname();
}

/** Whether `owner` is a process of this host that no longer runs (so its runs are abandoned). */
export function ownerIsDeadHere(owner: string): boolean {
  const o = parseOwner(owner);
  if (!o || o.host !== hostname() || o.pid === process.pid) return false;
  try {
    process.kill(o.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
