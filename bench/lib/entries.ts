/**
 * Deterministic ledger entries shaped like the ones Bulwark writes (token events, notes,
 * checkpoints), 150–400 bytes of canonical JSON each, and a builder for big ledgers.
 */
import type { NewEntry } from '../../src/core/ledger/entry.ts';
import type { Store } from '../../src/store/store.ts';
import { log, now } from './common.ts';
import { systemActor } from '../../src/core/ledger/actor.ts';

/** xorshift32: fast, seedable, good enough to pick positions. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const NOTE_TYPES = ['observation', 'decision', 'action', 'evidence', 'comment'];
const WORDS = [
  'latency',
  'budget',
  'rollback',
  'canary',
  'p99',
  'shop',
  'checkout',
  'error',
  'rate',
  'burn',
  'deploy',
  'alert',
  'page',
  'runbook',
  'mitigated',
  'retry',
];

function hex(i: number, len: number): string {
  return ((i * 2654435761) >>> 0)
    .toString(16)
    .padStart(8, '0')
    .repeat(Math.ceil(len / 8))
    .slice(0, len);
}

/** The i-th benchmark entry (no `time`: the store stamps it, as the app does). */
export function makeEntry(i: number): NewEntry {
  const tokenId = hex(i % 97, 12);
  switch (i % 4) {
    case 0:
      return {
        actor: systemActor(`token:${tokenId}`),
        kind: 'token.created',
        subject: `token:${hex(i, 12)}`,
        data: {
          id: hex(i, 12),
          name: `deploy-bot-${i % 1000}`,
          principal: `svc-${i % 50}`,
          scopes: ['ledger:read', 'ledger:append', 'slo:read'],
          expiresAt: '2031-01-01T00:00:00.000Z',
        },
      };
    case 1: {
      const n = 6 + (i % 20);
      const text = Array.from({ length: n }, (_, k) => WORDS[(i + k * 7) % WORDS.length]).join(' ');
      return {
        actor: systemActor(`token:${tokenId}`),
        kind: `note.${NOTE_TYPES[i % NOTE_TYPES.length]}`,
        subject: `incident:${i % 500}`,
        data: { text, labels: { service: `svc-${i % 50}`, severity: `sev${1 + (i % 4)}` } },
      };
    }
    case 2:
      return {
        actor: systemActor('system'),
        kind: 'run.finished',
        subject: `run:${hex(i * 3, 16)}`,
        data: {
          run: hex(i * 3, 16),
          experiment: `experiment ${i % 300}`,
          outcome: i % 7 === 0 ? 'missed' : 'prevented',
          reason: i % 7 === 0 ? 'nothing blocked or detected the injection' : 'the control blocked every injection',
          expectationsMet: i % 7 !== 0,
          ttdMs: i % 7 === 0 ? null : 1000 + (i % 9000),
          injections: 1 + (i % 3),
          detections: i % 7 === 0 ? 0 : 1,
        },
      };
    default:
      return {
        actor: systemActor(`cli:user${i % 13}`),
        kind: 'token.revoked',
        subject: `token:${hex(i - 3, 12)}`,
        data: { id: hex(i - 3, 12), name: `deploy-bot-${(i - 3) % 1000}` },
      };
  }
}

export function makeBatch(start: number, count: number): NewEntry[] {
  const out: NewEntry[] = new Array(count);
  for (let k = 0; k < count; k++) out[k] = makeEntry(start + k);
  return out;
}

export interface BuildResult {
  size: number;
  ms: number;
  entriesPerSec: number;
  batch: number;
  /** Set when the build stopped early because it would have taken too long. */
  cappedFrom?: number;
}

/**
 * Append `target` entries in batches of `batch`, one transaction each. With `budgetMs`, the
 * build is measured over its first `probe` entries; if the whole would exceed the budget it
 * stops at `fallback` entries instead (the caller reports it).
 */
export async function buildLedger(
  store: Store,
  target: number,
  opts: { batch?: number; budgetMs?: number; probe?: number; fallback?: number; label?: string } = {},
): Promise<BuildResult> {
  const batch = opts.batch ?? 10_000;
  const label = opts.label ?? store.dialect;
  let goal = target;
  let cappedFrom: number | undefined;
  const head = await store.ledger.head();
  if (head.size !== 0) throw new Error(`buildLedger needs an empty ledger (this one has ${head.size} entries)`);
  const t0 = now();
  let lastLog = t0;
  let size = 0;
  while (size < goal) {
    const n = Math.min(batch, goal - size);
    await store.ledger.append(makeBatch(size, n), new Date().toISOString());
    size += n;
    const t = now();
    if (opts.budgetMs && opts.probe && opts.fallback && cappedFrom === undefined && size >= opts.probe && size < goal) {
      const projected = ((t - t0) / size) * goal;
      if (projected > opts.budgetMs && opts.fallback < goal) {
        cappedFrom = goal;
        goal = Math.max(size, opts.fallback);
        log(
          `${label}: ${size} entries took ${Math.round(t - t0)} ms; ${target} would take ~${Math.round(projected / 1000)} s, over the ${opts.budgetMs / 1000} s budget: stopping at ${goal}`,
        );
      }
    }
    if (t - lastLog > 10_000) {
      lastLog = t;
      log(`${label}: built ${size}/${goal} entries (${Math.round(size / ((t - t0) / 1000))} entries/s)`);
    }
  }
  const ms = now() - t0;
  return { size, ms, entriesPerSec: size / (ms / 1000), batch, ...(cappedFrom !== undefined ? { cappedFrom } : {}) };
}
