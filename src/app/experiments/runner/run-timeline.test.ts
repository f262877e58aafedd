import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../store/experiments/port.ts';
import { runTimeline } from './run-timeline.ts';

const run = (journal: RunRecord['journal'], over: Partial<RunRecord> = {}) => ({
  startedAt: '2026-04-01T12:00:00.000Z',
  endedAt: '2026-04-01T12:00:09.000Z',
  state: 'done' as const,
  outcome: 'missed',
  reason: 'not blocked; not detected: waf',
  ttdMs: null,
  dryRun: false,
  journal,
  ...over,
});

describe('run timeline', () => {
  it('orders a missed run: gate, injection with its blocked verdict, the deadline that passed, rollback, outcome', () => {
    const activity = (name: string, type = 'action') => ({ name, type, provider: { type: 'http' } });
    const events = runTimeline(
      run({
        start: '2026-04-01T12:00:00.000Z',
        end: '2026-04-01T12:00:09.000Z',
        steady_states: {
          before: {
            steady_state_met: true,
            probes: [
              {
                activity: activity('up', 'probe'),
                status: 'succeeded',
                start: '2026-04-01T12:00:00.100Z',
                end: '2026-04-01T12:00:00.200Z',
              },
            ],
          },
          after: null,
          during: [],
        },
        run: [
          {
            activity: activity('inject'),
            status: 'succeeded',
            start: '2026-04-01T12:00:00.300Z',
            end: '2026-04-01T12:00:00.400Z',
            sent_at: '2026-04-01T12:00:00.310Z',
          },
          {
            activity: activity('look', 'probe'),
            status: 'failed',
            start: '2026-04-01T12:00:00.500Z',
            end: '2026-04-01T12:00:00.600Z',
            exception: 'timed out',
          },
        ],
        rollbacks: [
          { activity: activity('undo'), status: 'succeeded', start: '2026-04-01T12:00:08.000Z', end: '2026-04-01T12:00:08.100Z' },
        ],
        bulwark: {
          actor: 'scheduler',
          techniques: ['T1190'],
          injections: [{ activity: 'inject', at: '2026-04-01T12:00:00.310Z', ok: true, status: 200 }],
          blocked: { asked: true, held: false, results: [{ activity: 'inject', ok: false, reason: 'status 200, expected 403' }] },
          detections: [{ name: 'waf', when: 'true', deadlineMs: 5000, match: null }],
        },
      }),
    );
    expect(events.map((e) => [e.kind, e.ok])).toEqual([
      ['started', undefined],
      ['probe', true],
      ['gate', true],
      ['injection', true],
      ['probe', false],
      ['detection', false],
      ['rollback', true],
      ['finished', false],
    ]);
    expect(events[3]).toMatchObject({
      at: '2026-04-01T12:00:00.310Z',
      detail: { status: 200, blocked: { ok: false, reason: 'status 200, expected 403' } },
    });
    expect(events[5]).toMatchObject({ at: '2026-04-01T12:00:05.310Z', label: "no detection 'waf' within 5000 ms" });
  });

  it('reads a recovered run: the abort, and rollbacks marked as run at recovery', () => {
    const events = runTimeline(
      run(
        {
          start: '2026-04-01T12:00:00.000Z',
          end: '2026-04-01T12:05:00.000Z',
          rollbacks: [
            {
              activity: { name: 'restore /etc/app.conf', type: 'action' },
              status: 'failed',
              start: '2026-04-01T12:05:00.000Z',
              end: '2026-04-01T12:05:00.000Z',
              ok: false,
              exception: 'EACCES',
            },
          ],
          bulwark: {
            aborted: 'the process died',
            injections: [],
            detections: [],
            recovery: { by: 'host:2:bbbb', at: '2026-04-01T12:05:00.000Z' },
          },
        },
        { outcome: 'rollback-failed', reason: 'rollback failed: restore /etc/app.conf' },
      ),
    );
    expect(events.map((e) => e.kind)).toEqual(['started', 'abort', 'rollback', 'finished']);
    expect(events[2]).toMatchObject({ ok: false, detail: { reason: 'EACCES', recovery: true } });
  });

  it('shows a running run without an end, and never throws on a journal it does not know', () => {
    expect(runTimeline(run({}, { state: 'running', outcome: null, endedAt: null })).map((e) => e.kind)).toEqual(['started']);
    expect(runTimeline(run(null)).map((e) => e.kind)).toEqual(['started', 'finished']);
    expect(runTimeline(run([1, 'x', { bulwark: 3 }] as never)).length).toBeGreaterThan(0);
  });
});
