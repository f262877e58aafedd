import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { experimentRunMetrics } from './experiments.ts';

describe('experiment metrics', () => {
  it('counts runs by experiment and outcome and observes time to detect, once per registry', async () => {
    const registry = new Registry();
    const m = experimentRunMetrics(registry);
    experimentRunMetrics(registry).runFinished({ experiment: 'sqli', outcome: 'prevented', ttdMs: 150 });
    m.runFinished({ experiment: 'sqli', outcome: 'missed', ttdMs: null });
    m.runFinished({ experiment: 'sqli', outcome: 'prevented', ttdMs: 2500 });
    const text = await registry.metrics();
    expect(text).toContain('bulwark_experiment_runs_total{experiment="sqli",outcome="prevented"} 2');
    expect(text).toContain('bulwark_experiment_runs_total{experiment="sqli",outcome="missed"} 1');
    expect(text).toContain('bulwark_experiment_time_to_detect_seconds_count{experiment="sqli"} 2');
    expect(text).toContain('bulwark_experiment_time_to_detect_seconds_sum{experiment="sqli"} 2.65');
    expect(text).toContain('bulwark_experiment_time_to_detect_seconds_bucket{le="0.25",experiment="sqli"} 1');
  });
});
