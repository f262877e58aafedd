import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Activity } from '../../core/experiments/types.ts';
import type { RunRecord } from '../../store/experiments/port.ts';
import { runnerFixture, type RunnerFixture } from '../../../test/support/runner.ts';
import { recoverAbandonedRuns } from './recover.ts';

let fx: RunnerFixture;
beforeEach(async () => {
  fx = await runnerFixture();
});
afterEach(async () => {
  await fx.close();
});

const restore = (file: string, backup: string): Activity => ({
  type: 'action',
  name: `restore ${file}`,
  provider: { type: 'file', operation: 'restore', path: file, backup },
  pauses: {},
  background: false,
  controls: [],
});

function row(id: string, o: Partial<RunRecord>): RunRecord {
  const now = Date.now();
  return {
    id,
    experiment: 'config flip is detected',
    state: 'running',
    outcome: null,
    reason: null,
    startedAt: new Date(now - 60_000).toISOString(),
    endedAt: null,
    leaseOwner: 'elsewhere:1:abcd',
    leaseUntil: new Date(now - 1000).toISOString(),
    rollbacks: [],
    journal: { status: 'running', rollbacks: [], bulwark: { runId: id } },
    ttdMs: null,
    dryRun: false,
    ...o,
  };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  return child.pid!;
}

describe('recoverAbandonedRuns', () => {
  it('leaves a run whose rollbacks act on another host (file, process) to that host, and takes one whose rollbacks do not', async () => {
    const file = path.join(fx.dir, 'remote.conf');
    const http: Activity = {
      type: 'action',
      name: 'reset the rate limit',
      provider: {
        type: 'http',
        url: 'http://127.0.0.1:9/reset',
        method: 'POST',
        headers: {},
        timeout: { connectMs: 500, readMs: 500 },
        verifyTls: true,
        maxRetries: 0,
        secrets: [],
      },
      pauses: {},
      background: false,
      controls: [],
    };
    await fx.store.runs.insert(
      row('remotefile000001', { leaseOwner: 'otherhost:1:abcd', rollbacks: [restore(file, `${file}.bak`)] as never }),
    );
    await fx.store.runs.insert(row('remotehttp000001', { leaseOwner: 'otherhost:1:abcd', rollbacks: [http] as never }));
    const out = await recoverAbandonedRuns(fx.deps, { owner: `${hostname()}:${process.pid}:beef` });
    expect(out.map((r) => r.runId)).toEqual(['remotehttp000001']);
    expect(await fx.store.runs.get('remotefile000001')).toMatchObject({ state: 'running', leaseOwner: 'otherhost:1:abcd' });
  });

  it('rolls back a run whose lease expired and marks it aborted, leaving live runs alone', async () => {
    const file = path.join(fx.dir, 'app.conf');
    const backup = path.join(fx.dir, 'app.conf.bak');
    writeFileSync(backup, 'auth = on\n');
    writeFileSync(file, 'auth = off\n');
    // A file rollback: only a process of the run's own host may run it.
    const before = `${hostname()}:1:abcd`;
    await fx.store.runs.insert(row('abandoned0000001', { leaseOwner: before, rollbacks: [restore(file, backup)] as never }));
    await fx.store.runs.insert(row('alive00000000001', { leaseUntil: new Date(Date.now() + 60_000).toISOString() }));
    const out = await recoverAbandonedRuns(fx.deps, { owner: `${hostname()}:${process.pid}:beef` });
    expect(out).toMatchObject([{ runId: 'abandoned0000001', outcome: 'aborted', previousOwner: before, previousState: 'running' }]);
    expect(readFileSync(file, 'utf8')).toBe('auth = on\n');
    const done = await fx.store.runs.get('abandoned0000001');
    expect(done).toMatchObject({ state: 'done', outcome: 'aborted', leaseUntil: null });
    expect(done!.reason).toMatch(/the process running it \([^)]+:1:abcd\) stopped while the run was running/);
    expect((done!.journal as any).bulwark.recovery.previousState).toBe('running');
    expect((done!.journal as any).rollbacks[0]).toMatchObject({ status: 'succeeded', ok: true });
    expect(
      (await fx.entriesOf('abandoned0000001')).map((e) => [e.kind, JSON.parse(e.dataJson).recovered ?? JSON.parse(e.dataJson).recovery]),
    ).toEqual([
      ['run.rollback', true],
      ['run.finished', true],
    ]);
    expect((await fx.store.runs.get('alive00000000001'))?.state).toBe('running');
    expect(await recoverAbandonedRuns(fx.deps)).toEqual([]);
  });

  it('takes a run from a dead process of this host at once, without waiting for its lease', async () => {
    const pid = await deadPid();
    await fx.store.runs.insert(
      row('deadpid000000001', { leaseOwner: `${hostname()}:${pid}:abcd`, leaseUntil: new Date(Date.now() + 60_000).toISOString() }),
    );
    await fx.store.runs.insert(
      row('livepid000000001', { leaseOwner: `${hostname()}:${process.pid}:ffff`, leaseUntil: new Date(Date.now() + 60_000).toISOString() }),
    );
    const out = await recoverAbandonedRuns(fx.deps);
    expect(out.map((r) => r.runId)).toEqual(['deadpid000000001']);
  });

  it('says rollback-failed when a stored rollback fails', async () => {
    const failing: Activity = {
      type: 'action',
      name: 'reopen-port',
      provider: { type: 'http', url: 'http://127.0.0.1:1/', method: 'POST', headers: {}, verifyTls: true, maxRetries: 0, secrets: [] },
      pauses: {},
      background: false,
      controls: [],
    };
    await fx.store.runs.insert(row('failing000000001', { state: 'rolling-back', rollbacks: [failing] as never }));
    const [r] = await recoverAbandonedRuns(fx.deps);
    expect(r).toMatchObject({ outcome: 'rollback-failed', previousState: 'rolling-back' });
    expect((await fx.store.runs.get('failing000000001'))?.outcome).toBe('rollback-failed');
  });
});
