/**
 * The in-process bus on which each newly stored signal is announced, after its commit: the
 * experiment runner matches detections here instead of polling the store. Typed, and a listener
 * that throws is reported to `onListenerError` without reaching the publisher or the other
 * listeners (a signal already acknowledged must not turn into a failed request).
 */
import { EventEmitter } from 'node:events';
import type { SignalRecord } from '../../store/signals/port.ts';

export interface SignalEvents {
  /** A signal written for the first time, once its transaction has committed. */
  signal: SignalRecord;
  /** A resend that wrote nothing: which source sent it and what it was. */
  duplicate: { source: string; id: string; fingerprint: string };
}

export type SignalListener<K extends keyof SignalEvents> = (payload: SignalEvents[K]) => void;

export class SignalBus {
  private readonly ee = new EventEmitter();

  constructor(private readonly onListenerError: (err: unknown, event: keyof SignalEvents) => void = () => {}) {
    // Every waiting run may listen; there is no fixed bound to warn about.
    this.ee.setMaxListeners(0);
  }

  /** Subscribe; returns the function that unsubscribes. */
  on<K extends keyof SignalEvents>(event: K, listener: SignalListener<K>): () => void {
    this.ee.on(event, listener);
    return () => this.ee.off(event, listener);
  }

  emit<K extends keyof SignalEvents>(event: K, payload: SignalEvents[K]): void {
    for (const listener of this.ee.listeners(event) as SignalListener<K>[]) {
      try {
        listener(payload);
      } catch (e) {
        this.onListenerError(e, event);
      }
    }
  }

  listenerCount(event: keyof SignalEvents): number {
    return this.ee.listenerCount(event);
  }
}
