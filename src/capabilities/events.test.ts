import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LEDGER_EVENTS } from './index.ts';

describe('the ledger event catalogue', () => {
  it('lists every kind the product writes, each documented in docs/ledger.md', () => {
    const doc = readFileSync(new URL('../../docs/ledger.md', import.meta.url), 'utf8');
    expect(LEDGER_EVENTS.kinds.length).toBeGreaterThan(15);
    for (const kind of LEDGER_EVENTS.kinds) expect(doc, kind).toContain(`\`${kind}\``);
  });

  it('refuses an uncatalogued kind and malformed data, naming what to fix', () => {
    expect(() => LEDGER_EVENTS.check('run.exploded', {})).toThrow(/not in the event catalogue/);
    expect(() => LEDGER_EVENTS.check('token.revoked', { id: 'x' })).toThrow(/token.revoked' has data its schema refuses: name/);
    expect(() => LEDGER_EVENTS.check('token.revoked', { id: 'x', name: 'n' })).not.toThrow();
  });

  it('accepts both shapes of run.finished: a decided run and a recovered one', () => {
    const base = { run: 'r', experiment: 'e', outcome: 'aborted', reason: 'x', expectationsMet: false, ttdMs: null };
    expect(() => LEDGER_EVENTS.check('run.finished', { ...base, injections: 0, detections: 0 })).not.toThrow();
    expect(() => LEDGER_EVENTS.check('run.finished', { ...base, recovered: true })).not.toThrow();
    expect(() => LEDGER_EVENTS.check('run.finished', { ...base, outcome: 'fine', recovered: true })).toThrow();
  });
});
