/** What use cases need, built once at the edge (server, CLI, tests) and passed in. */
import type { Store } from '../store/store.ts';
import type { KeyRing } from './ledger/key-ring.ts';

/**
 * Where core and app read the time: every time stamped on a row, an entry or a journal, and
 * every deadline computed from one. Tests pass a clock of their own; lint (eslint.config.mjs)
 * refuses Date.now(), new Date() and performance.now() anywhere else in src/core and src/app.
 */
export interface Clock {
  now(): Date;
}

/** A source of randomness, values in [0, 1) like Math.random: the scheduler's jitter. */
export type Random = () => number;

/**
 * A monotonic reading in ms (not a time of day), for waits measured against real timers that
 * nothing stamps: the group commit's lazy items.
 */
export type Monotonic = () => number;

// The real sources, and the only place in core and app that reads them.
/* eslint-disable no-restricted-syntax, no-restricted-properties */
export const systemClock: Clock = { now: () => new Date() };
export const systemRandom: Random = () => Math.random();
export const systemMonotonic: Monotonic = () => performance.now();
/* eslint-enable no-restricted-syntax, no-restricted-properties */

export interface AppDeps {
  store: Store;
  clock: Clock;
  keys: KeyRing;
  /** The checkpoint origin line: names this log. */
  origin: string;
}

export const iso = (clock: Clock): string => clock.now().toISOString();
