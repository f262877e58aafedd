/** What use cases need, built once at the edge (server, CLI, tests) and passed in. */
import type { Store } from '../store/store.ts';
import type { KeyRing } from './ledger/key-ring.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface AppDeps {
  store: Store;
  clock: Clock;
  keys: KeyRing;
  /** The checkpoint origin line: names this log. */
  origin: string;
}

export const iso = (clock: Clock): string => clock.now().toISOString();
