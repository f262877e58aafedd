/** A clock a test sets and moves by hand (deps.clock), for time math without sleeping. */
import type { Clock } from '../../src/app/deps.ts';

export class ManualClock implements Clock {
  constructor(private ms: number = Date.parse('2026-01-02T03:04:05.000Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
