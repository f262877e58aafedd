/**
 * The blast radius: which hosts and paths an experiment may touch, checked on the resolved
 * experiment before anything is sent. A file without `safety.blastRadius` (a plain Chaos
 * Toolkit file) may touch loopback only; `--allow HOST` adds hosts. Names are compared as
 * written, never resolved (no DNS in core): list every name you mean to reach.
 */
import { formatPath } from './issues.ts';
import { providerType } from './providers/index.ts';
import type { RadiusCheck } from './providers/provider-type.ts';
import type { Activity, Experiment, Step } from './types.ts';

export interface BlastRadius {
  /** Host names, IP addresses, `*.example.com` wildcards and IPv4 CIDR blocks such as `10.0.0.0/8`. */
  hosts: string[];
  /** Allowed path prefixes (URL paths and file paths); empty means any path. */
  paths: string[];
}

/** Loopback only: what a file may touch when it declares no blast radius. */
export const LOOPBACK_BLAST_RADIUS: BlastRadius = { hosts: ['localhost', '127.0.0.0/8', '::1'], paths: [] };

/** The radius a run uses: the file's, or loopback only, plus the hosts allowed on the command line. */
export function effectiveBlastRadius(exp: Experiment, allowHosts: readonly string[] = []): BlastRadius {
  const declared = exp.safety?.blastRadius ?? LOOPBACK_BLAST_RADIUS;
  return { hosts: [...declared.hosts, ...allowHosts], paths: [...declared.paths] };
}

export interface Violation {
  path: string;
  message: string;
}

/**
 * Every target of the (resolved) experiment outside the radius, as each provider type judges
 * its own (http URLs, tcp hosts, file paths). Process providers cannot be inspected; they are
 * governed by the executable allow-list.
 */
export function blastRadiusViolations(exp: Experiment, radius: BlastRadius): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<Activity>();
  const hostOk = (h: string) => radius.hosts.some((entry) => hostMatches(entry, h));
  const pathOk = (p: string) => radius.paths.length === 0 || radius.paths.some((prefix) => pathUnder(prefix, p));
  const outsideHost = (host: string) =>
    `${host} is outside the blast radius (${radius.hosts.join(', ')}); ` +
    `add it to safety.blastRadius.hosts or pass --allow ${bare(host)}`;
  const outsidePath = (what: string) => `${what} is outside the blast radius paths (${radius.paths.join(', ')})`;
  const check: RadiusCheck = {
    host: (h) => (hostOk(h) ? undefined : outsideHost(h)),
    path: (p, what) => (pathOk(p) ? undefined : outsidePath(what)),
  };
  const visit = (a: Activity, at: (string | number)[]) => {
    if (seen.has(a)) return;
    seen.add(a);
    const where = formatPath([...at, 'provider']);
    for (const message of providerType(a.provider).blastRadius(a.provider, check)) out.push({ path: where, message });
    if (a.tolerance?.kind === 'probe') visit(a.tolerance.probe, [...at, 'tolerance']);
  };
  const steps = (list: Step[], section: string) =>
    list.forEach((s, i) => ('ref' in s ? visit(s.activity, [section, i]) : visit(s, [section, i])));
  exp.steadyStateHypothesis?.probes.forEach((a, i) => visit(a, ['steady-state-hypothesis', 'probes', i]));
  steps(exp.method, 'method');
  steps(exp.rollbacks, 'rollbacks');
  exp.safety?.abort.forEach((a, i) => visit(a.probe, ['safety', 'abort', i, 'probe']));
  return out;
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '');

/** Canonical form of a host: lower case, no trailing dot, IPv6 without brackets and compressed. */
function canonicalHost(host: string): string {
  const h = bare(host.trim().toLowerCase()).replace(/\.$/, '');
  if (h.includes(':')) {
    try {
      return bare(new URL(`http://[${h}]/`).hostname);
    } catch {
      return h;
    }
  }
  return h;
}

function ipv4(host: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** Whether `host` is allowed by one radius entry. */
export function hostMatches(entry: string, host: string): boolean {
  const h = canonicalHost(host);
  const e = entry.trim().toLowerCase();
  if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
  const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(e);
  if (cidr) {
    const base = ipv4(cidr[1]!);
    const bits = Number(cidr[2]);
    const addr = ipv4(h);
    if (base === undefined || addr === undefined || bits > 32) return false;
    const size = 2 ** (32 - bits);
    return Math.floor(addr / size) === Math.floor(base / size);
  }
  return canonicalHost(e) === h;
}

/** Whether `path` is `prefix` or below it, by whole segments (`/api` allows `/api/x`, not `/apix`). */
function pathUnder(prefix: string, path: string): boolean {
  if (prefix === '/' || prefix === path) return true;
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return path.startsWith(p);
}
