import { describe, expect, it } from 'vitest';
import { RUNNABLE_PROVIDER_TYPES } from '../../core/experiments/providers/index.ts';
import { NODE_PROVIDERS, nodeProviders } from './index.ts';

describe('the node provider adapters', () => {
  it('has one adapter for every provider type that runs, and none for another', () => {
    expect(Object.keys(NODE_PROVIDERS).sort()).toEqual([...RUNNABLE_PROVIDER_TYPES].sort());
    const providers = nodeProviders();
    for (const type of RUNNABLE_PROVIDER_TYPES) expect(typeof providers[type], type).toBe('function');
    expect(Object.keys(providers).sort()).toEqual([...RUNNABLE_PROVIDER_TYPES].sort());
  });

  it('hands each adapter its own options', () => {
    const providers = nodeProviders({ http: { maxBodyBytes: 10 }, tcp: {} });
    expect(typeof providers.http).toBe('function');
  });
});
