/**
 * Incidents, two figures:
 *
 *   (a) Signal to case: critical signals submitted at a steady 1,000 per second (open loop) for
 *       30 s (10 s with --quick) through the signal ingest (group commit, SQLite with
 *       synchronous=FULL), with triage run as `bulwark serve` runs it: a pass when the bus
 *       announces a signal, passes coalesced while one runs. Grouping is on: 50 alert names, so
 *       50 cases and every other signal grouped into one. A signal's time to case is from its
 *       submission to the end of the first triage pass that started after it was committed
 *       (that pass read it and opened or grouped its case). Reported beside it, at the same rate
 *       in the same run: the plain ingest latency (submission → acknowledged), and the ratio of
 *       the two p99s. In process, no HTTP: the HTTP path is signal-ingest.ts's.
 *       Goal: p99 under 50 ms.
 *   (b) Timeline of a 10,000-event incident: the first page (500 entries, as GET
 *       /v1/incidents/{id} gives by default) read 50 times. Goal: under 50 ms. The export of the
 *       whole incident (every entry with its leaf hash) is timed beside it.
 *
 *   tsx bench/incidents.ts [--quick]
 */
import path from 'node:path';
import { bootstrap, ensureOrigin } from '../src/app/bootstrap.ts';
import { systemClock, type AppDeps } from '../src/app/deps.ts';
import { exportIncident } from '../src/app/incidents/export.ts';
import { declareIncident, incidentDetail } from '../src/app/incidents/incidents.ts';
import { entry, record } from '../src/app/incidents/record.ts';
import { triageOnce } from '../src/app/incidents/triage.ts';
import { memoryKeyRing } from '../src/app/ledger/key-ring.ts';
import { createSignalIngest, evidenceOf } from '../src/app/signals/ingest.ts';
import { cliActor, systemActor } from '../src/core/ledger/actor.ts';
import { makeSignal } from '../src/core/signals/signal.ts';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite.ts';
import {
  fmtMs,
  fmtRatio,
  log,
  machineFacts,
  now,
  parseArgs,
  printFacts,
  printTable,
  runMain,
  summarize,
  tempDir,
  writeJson,
} from './lib/common.ts';

const args = parseArgs();
const RATE = 1_000;
const SECONDS = args.quick ? 10 : 30;
const GROUPS = 50;
const TIMELINE_EVENTS = 10_000;
const GOAL_MS = 50;

runMain(async () => {
  if (!args.noFacts) printFacts(machineFacts());
  const dir = tempDir('bulwark-bench-incidents-');
  const store = await openSqliteStore(path.join(dir, 'bulwark.db'));
  const origin = await ensureOrigin(store);
  const deps: AppDeps = { store, clock: systemClock, keys: memoryKeyRing(), origin };
  await bootstrap(deps);
  const actor = systemActor('bench');

  // (a) signal → case, with triage driven by the bus as in `bulwark serve`.
  const ingest = createSignalIngest(deps);
  const committed: { submitted: number }[] = [];
  const toCase: number[] = [];
  const acked: number[] = [];
  let opened = 0;
  let grouped = 0;
  let running: Promise<void> | undefined;
  let again = false;
  const tick = (): void => {
    if (running) {
      again = true;
      return;
    }
    const batch = committed.splice(0);
    running = triageOnce(deps)
      .then((r) => {
        opened += r.opened.length;
        grouped += r.grouped;
        const end = now();
        for (const c of batch) toCase.push(end - c.submitted);
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  };
  ingest.bus.on('signal', () => tick());
  const total = RATE * SECONDS;
  log(`signal → case: ${total} signals at ${RATE}/s for ${SECONDS} s, ${GROUPS} alert names`);
  const start = now();
  const pending: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / RATE;
    const wait = due - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = new Date().toISOString();
    const signal = makeSignal({
      source: 'alertmanager',
      time: t,
      receivedAt: t,
      severity: 'critical',
      labels: { alertname: `BenchAlert${k % GROUPS}`, instance: `host-${k}` },
      body: { k },
      dedup: { kind: 'webhook-id', id: `bench-${k}` },
    });
    const submitted = now();
    pending.push(
      ingest.ingest({ actor, items: [{ signal, raw: evidenceOf(Buffer.from(JSON.stringify({ k })), 'application/json') }] }).then(() => {
        acked.push(now() - submitted);
        committed.push({ submitted });
      }),
    );
  }
  await Promise.all(pending);
  const sendSeconds = (now() - start) / 1000;
  while (committed.length > 0 || running) {
    if (!running) tick();
    await running;
  }
  await ingest.close();
  const caseS = summarize(toCase);
  const ackS = summarize(acked);
  log(`sent in ${sendSeconds.toFixed(1)} s; cases opened ${opened}, signals grouped ${grouped}`);

  // (b) the first page of a 10,000-event incident's timeline.
  const incident = await declareIncident(deps, cliActor('bench'), { title: 'Bench incident', severity: 'SEV3', priority: 'P3' });
  const subject = `incident:${incident.id}`;
  const t0 = now();
  for (let k = 0; k < TIMELINE_EVENTS; k += 500) {
    const at = new Date().toISOString();
    await store.transaction(async (tx) => {
      await record(
        tx,
        Array.from({ length: Math.min(500, TIMELINE_EVENTS - k) }, (_, j) =>
          entry(cliActor('bench'), 'incident.note', subject, { incident: incident.id, text: `note ${k + j}`, corrects: null }),
        ),
        at,
      );
    });
  }
  log(`wrote ${TIMELINE_EVENTS} timeline entries in ${fmtMs(now() - t0)}`);
  const viewer = { id: 'bench', seesRestricted: true };
  const pages: number[] = [];
  for (let r = 0; r < 50; r++) {
    const t = now();
    const d = await incidentDetail(deps, viewer, incident.id);
    pages.push(now() - t);
    if (d.timeline.length !== 500) throw new Error(`first page has ${d.timeline.length} entries, expected 500`);
  }
  const pageS = summarize(pages);
  const exports: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = now();
    const x = await exportIncident(deps, cliActor('bench'), viewer, incident.id, 'json');
    exports.push(now() - t);
    if (x.timeline.length < TIMELINE_EVENTS) throw new Error('export lost entries');
  }
  const exportS = summarize(exports);
  await store.close();

  const ratio = caseS.p99 / ackS.p99;
  printTable(
    'Incidents',
    ['figure', 'median', 'p99', 'goal', 'verdict'],
    [
      [
        `signal → case at ${RATE}/s, ${SECONDS} s`,
        fmtMs(caseS.median),
        fmtMs(caseS.p99),
        `p99 < ${GOAL_MS} ms`,
        caseS.p99 < GOAL_MS ? 'met' : 'MISSED',
      ],
      [`plain ingest (submitted → acknowledged)`, fmtMs(ackS.median), fmtMs(ackS.p99), 'report', `ratio of p99s ${fmtRatio(ratio)}`],
      [
        `timeline first page (500 of ${TIMELINE_EVENTS})`,
        fmtMs(pageS.median),
        fmtMs(pageS.p99),
        `< ${GOAL_MS} ms`,
        pageS.median < GOAL_MS ? 'met' : 'MISSED',
      ],
      [`export of the ${TIMELINE_EVENTS}-event incident`, fmtMs(exportS.median), fmtMs(exportS.max), 'report', ''],
    ],
  );
  writeJson('incidents', {
    quick: args.quick,
    rate: RATE,
    seconds: SECONDS,
    sendSeconds,
    opened,
    grouped,
    signalToCaseMs: caseS,
    ingestAckMs: ackS,
    ratioP99: ratio,
    timelineFirstPageMs: pageS,
    exportMs: exportS,
  });
});
