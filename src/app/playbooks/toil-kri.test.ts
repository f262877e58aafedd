/** The toil report as a KRI on the SLOs' board: steps done by hand their playbook's automateAfter times count, until promoted. */
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import { ensureOrigin } from '../bootstrap.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { evaluateKris } from '../slos/kris.ts';
import { applyPlaybook } from './apply-playbook.ts';
import { PlaybookEngine } from './engine.ts';
import { completeStep, startRun } from './runs.ts';
import { decidePromotion, requestPromotion } from './toil.ts';

let dir: TmpDir;
let store: Store;
let deps: AppDeps;
beforeEach(async () => {
  dir = await tmpDir('bulwark-pb-toil-');
  store = await openSqliteStore(path.join(dir.path, 'bulwark.db'));
  deps = { store, clock: new ManualClock(), keys: memoryKeyRing(), origin: await ensureOrigin(store) };
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const FILE = `apiVersion: bulwark/v1
kind: Playbook
name: restart-proxy
owner: team-edge
steps:
  - id: restart
    mode: manual
    http: { url: "http://127.0.0.1:9/restart" }
`;

it('counts a step done by hand automateAfter times as toil due for automation, until it is promoted', async () => {
  const alice = cliActor('alice');
  await applyPlaybook(deps, alice, FILE);
  const engine = new PlaybookEngine(deps, { transport: { send: () => Promise.reject(new Error('no http')) }, random: () => 0.5 });
  const toil = async () => (await evaluateKris(deps, [])).find((k) => k.kri === 'toil-due-for-automation')!;
  expect(await toil()).toMatchObject({ value: 0, colour: 'green' });
  for (let i = 0; i < 2; i++) {
    const r = await startRun(deps, alice, 'restart-proxy');
    if (!('run' in r)) throw new Error('dry run');
    await engine.tick();
    await completeStep(deps, alice, r.run.id, 'restart', { outcome: 'done', timeSpentMs: 5 * 60_000 });
  }
  expect(await toil()).toMatchObject({ value: 1, colour: 'amber', items: ['restart-proxy/restart: 2× by hand, 10 min, team-edge'] });
  const p = await requestPromotion(deps, alice, 'restart-proxy', 'restart');
  await decidePromotion(deps, cliActor('bob'), p.id, 'approved');
  expect(await toil()).toMatchObject({ value: 0, colour: 'green' });
});
