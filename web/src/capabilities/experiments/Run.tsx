import { useEffect, useState } from 'react';
import { ApiError } from '../../api.ts';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { isInProgress, isStoppable, loadExperiment, loadRun, RUN_REFRESH_MS, runControls, stopRun, type RunControlResult } from './data.ts';
import { formatDuration, formatMs, formatOffset, formatTime, msBetween, prettyJson } from '../../format.ts';
import { useApi, useLoad, useRefreshWhile } from '../../hooks.ts';
import { RunBadge } from './outcomes.tsx';
import { Link } from '../../router.tsx';
import type { RunSummary, TimelineEvent, TimelineKind } from '../../types.ts';

const KINDS: Readonly<Record<TimelineKind, { label: string; glyph: string }>> = {
  started: { label: 'Started', glyph: '▶' },
  gate: { label: 'Gate', glyph: '◇' },
  injection: { label: 'Injection', glyph: '✦' },
  probe: { label: 'Probe', glyph: '◎' },
  action: { label: 'Action', glyph: '●' },
  detection: { label: 'Detection', glyph: '⚑' },
  abort: { label: 'Abort', glyph: '■' },
  rollback: { label: 'Rollback', glyph: '↺' },
  finished: { label: 'Finished', glyph: '◆' },
};

/** A kind the dashboard does not know yet still shows, under its own name. */
function kindInfo(kind: string): { label: string; glyph: string } {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind as TimelineKind] : { label: kind, glyph: '•' };
}

export function Run({ id }: { id: string }) {
  const api = useApi();
  const [detail, reload] = useLoad(`run:${id}`, (signal) => loadRun(api, id, signal), { keepDataOnError: true });
  const run = detail.data?.run;
  const experimentName = run?.experiment ?? null;
  // The experiment's title, when it is still there; the run page works without it.
  const [experiment] = useLoad(`experiment:${experimentName ?? ''}`, (signal) =>
    experimentName === null ? Promise.resolve(null) : loadExperiment(api, experimentName, signal),
  );
  const [stopping, setStopping] = useState(false);
  const [stopError, setStopError] = useState<unknown>(null);

  const inProgress = run !== undefined && isInProgress(run.state);
  useRefreshWhile(inProgress, RUN_REFRESH_MS, detail, reload);

  async function stop() {
    setStopping(true);
    setStopError(null);
    try {
      await stopRun(api, id);
    } catch (err) {
      setStopError(err);
    } finally {
      setStopping(false);
      reload();
    }
  }

  // 404: no such run; 400: not even a run id (the server says what one looks like).
  const notFound =
    detail.status === 'error' &&
    !detail.data &&
    detail.error instanceof ApiError &&
    (detail.error.status === 404 || detail.error.status === 400);
  const title = experiment.data?.title || experimentName;

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link to="/experiments">Experiments</Link>
          </li>
          {experimentName ? <li>{title}</li> : null}
          <li aria-current="page">
            Run <code>{id}</code>
          </li>
        </ol>
      </nav>

      {notFound ? (
        <>
          <h1>Run not found</h1>
          <div className="card">
            <p>
              There is no run <code>{id}</code>. Check the link, or open the run from its experiment’s last runs.
            </p>
            {detail.error instanceof ApiError && detail.error.status === 400 ? <p className="muted">{detail.error.message}</p> : null}
            <p>
              <Link to="/experiments">Back to the experiments</Link>
            </p>
          </div>
        </>
      ) : (
        <>
          <div className="page-head">
            <div>
              <h1>{title ?? `Run ${id}`}</h1>
              {title ? (
                <p className="lede">
                  Run <code>{id}</code>
                  {experimentName && experimentName !== title ? (
                    <>
                      {' '}
                      of <code>{experimentName}</code>
                    </>
                  ) : null}
                  {run?.dryRun ? ' · dry run: nothing was injected' : ''}
                </p>
              ) : null}
            </div>
            {run && isStoppable(run) ? (
              <button type="button" className="button button-danger" onClick={() => void stop()} disabled={stopping} data-testid="stop-run">
                <span aria-hidden="true">■</span> {stopping ? 'Stopping…' : 'Stop this run'}
              </button>
            ) : null}
          </div>

          <ErrorBanner error={stopError} title="Could not stop the run" />
          <ErrorBanner error={detail.error} title="Could not load the run" onRetry={reload} />

          {detail.data ? (
            <>
              <RunHeader run={detail.data.run} timeline={detail.data.timeline} />
              <Card
                title="Timeline"
                actions={
                  inProgress ? (
                    <span className="muted refresh-note" data-testid="auto-refresh">
                      Refreshing every {RUN_REFRESH_MS / 1000} s until the run is done
                    </span>
                  ) : null
                }
              >
                <Timeline run={detail.data.run} events={detail.data.timeline} />
              </Card>
              <Controls controls={runControls(detail.data.journal)} />
              <Card title="Journal">
                <details className="journal">
                  <summary>Raw journal (JSON)</summary>
                  <pre data-testid="run-journal">{prettyJson(detail.data.journal)}</pre>
                </details>
              </Card>
            </>
          ) : detail.status === 'loading' ? (
            <Spinner label="Loading the run…" />
          ) : null}
        </>
      )}
    </>
  );
}

/** Ticks once a second while `active`, so "so far" durations move. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => window.clearInterval(timer);
  }, [active]);
  return now;
}

/** Time to detect: the server's measure, else the span between the injection and the detection. */
function timeToDetect(run: RunSummary, span: TtdSpan | null, events: TimelineEvent[]): number | null {
  if (run.ttdMs !== null) return run.ttdMs;
  if (!span) return null;
  return msBetween(events[span.from]?.at, events[span.to]?.at);
}

function RunHeader({ run, timeline }: { run: RunSummary; timeline: TimelineEvent[] }) {
  const running = isInProgress(run.state);
  const now = useNow(running);
  const ended = run.endedAt;
  const duration = ended ? msBetween(run.startedAt, ended) : msBetween(run.startedAt, new Date(now).toISOString());
  const ttd = timeToDetect(run, findTtdSpan(timeline, run.ttdMs), timeline);
  return (
    <section className={`run-header outcome-tint-${run.outcome ?? 'none'}`} aria-label="Run summary" data-testid="run-header">
      <p className="run-outcome">
        <RunBadge run={run} />
        {run.reason ? <span className="run-reason">{run.reason}</span> : null}
      </p>
      <dl className="facts">
        <div>
          <dt>Started</dt>
          <dd>
            <time dateTime={run.startedAt}>{formatTime(run.startedAt)}</time>
          </dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>
            {ended ? (
              <time dateTime={ended}>{formatTime(ended)}</time>
            ) : (
              <span className="muted">still {run.state === 'rolling-back' ? 'rolling back' : run.state}</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            {duration === null ? '—' : formatDuration(Math.max(0, duration))}
            {!ended && duration !== null ? <span className="muted"> so far</span> : null}
          </dd>
        </div>
        <div>
          <dt>Time to detect</dt>
          <dd data-testid="ttd" data-ms={ttd ?? ''}>
            {ttd !== null ? (
              <strong>{formatMs(ttd)}</strong>
            ) : (
              <span className="muted">{running ? 'not detected yet' : 'no detection'}</span>
            )}
          </dd>
        </div>
      </dl>
    </section>
  );
}

/** Indexes of the events that open and close the time-to-detect span. */
interface TtdSpan {
  from: number;
  to: number;
}

/** The time to detect a detection event carries in its detail, if any. */
function detailTtd(event: TimelineEvent): number | null {
  const detail = event.detail;
  if (typeof detail !== 'object' || detail === null) return null;
  const ttd = (detail as { ttdMs?: unknown }).ttdMs;
  return typeof ttd === 'number' && Number.isFinite(ttd) ? ttd : null;
}

/**
 * A detection that happened: in time (ok) or late (not ok, but with its time to detect). A
 * detection that never came is shown where its deadline fell and opens no span.
 */
function isMatch(event: TimelineEvent): boolean {
  return event.kind === 'detection' && (event.ok !== false || detailTtd(event) !== null);
}

/**
 * From the first injection to the detection that gave the time to detect: the one whose time
 * to detect (or distance from the injection) is nearest the measured value, since several
 * detections can be asked; the first match when there is no measure.
 */
function findTtdSpan(events: TimelineEvent[], ttdMs: number | null): TtdSpan | null {
  const from = events.findIndex((e) => e.kind === 'injection');
  if (from < 0) return null;
  const injectedAt = events[from]!.at;
  let to = -1;
  let best = Infinity;
  events.forEach((e, i) => {
    if (i <= from || !isMatch(e)) return;
    if (ttdMs === null) {
      if (to < 0) to = i;
      return;
    }
    const after = detailTtd(e) ?? msBetween(injectedAt, e.at);
    const distance = after === null ? Infinity : Math.abs(after - ttdMs);
    if (to < 0 || distance < best) {
      to = i;
      best = distance;
    }
  });
  return to < 0 ? null : { from, to };
}

function Timeline({ run, events }: { run: RunSummary; events: TimelineEvent[] }) {
  if (events.length === 0) {
    return <p className="muted">{isInProgress(run.state) ? 'No events yet; the run is starting.' : 'This run recorded no events.'}</p>;
  }
  const origin = run.startedAt || events[0]!.at;
  const span = findTtdSpan(events, run.ttdMs);
  const ttd = timeToDetect(run, span, events);
  return (
    <>
      <ol className="timeline" data-testid="run-timeline" aria-label="Events of the run, in order">
        {events.map((event, i) => {
          const info = kindInfo(event.kind);
          const offset = msBetween(origin, event.at);
          const inSpan = span !== null && i >= span.from && i <= span.to;
          const classes = ['tl-event', `kind-${event.kind}`];
          if (event.ok === false) classes.push('is-failed');
          if (event.ok === true) classes.push('is-ok');
          if (inSpan) classes.push('in-ttd');
          if (span?.from === i) classes.push('ttd-start');
          if (span?.to === i) classes.push('ttd-end');
          const hasDetail = event.detail !== undefined && event.detail !== null;
          return (
            <li key={`${i}:${event.at}`} className={classes.join(' ')} data-testid="timeline-event" data-kind={event.kind}>
              <time className="tl-offset" dateTime={event.at} title={formatTime(event.at)}>
                {offset === null ? '—' : formatOffset(offset)}
              </time>
              <span className="tl-marker" aria-hidden="true">
                {info.glyph}
              </span>
              <div className="tl-body">
                <p className="tl-head">
                  <span className="tl-kind">{info.label}</span>
                  <span className="tl-label">{event.label}</span>
                  {event.ok === true ? (
                    <span className="tl-state tl-state-ok">
                      <span aria-hidden="true">✓ </span>ok
                    </span>
                  ) : event.ok === false ? (
                    <span className="tl-state tl-state-failed">
                      <span aria-hidden="true">✗ </span>failed
                    </span>
                  ) : null}
                </p>
                {span?.from === i ? <p className="ttd-note">Detection clock starts</p> : null}
                {span?.to === i && ttd !== null ? (
                  <p className="ttd-label" data-testid="ttd-span">
                    <span aria-hidden="true">↧ </span>time to detect {formatMs(ttd)}
                  </p>
                ) : null}
                {hasDetail ? (
                  <details className="tl-detail">
                    <summary>Details</summary>
                    <pre>{prettyJson(event.detail)}</pre>
                  </details>
                ) : null}
              </div>
            </li>
          );
        })}
      </ol>
      {isInProgress(run.state) ? (
        <p className="muted tl-waiting" role="status">
          Waiting for the next event…
        </p>
      ) : null}
    </>
  );
}

const yesNo = (v: boolean | null) => (v === null ? '–' : v ? 'yes' : 'no');
const FINDING_TEXT: Readonly<Record<string, string>> = {
  'not-blocked': 'not blocked',
  'logged-not-alerted': 'logged but not alerted',
  'not-alerted': 'not alerted',
  'not-logged': 'not logged',
  'not-detected': 'not detected',
  'detected-late': 'detected late',
  'detected-by-another-rule': 'detected by another rule',
};

/** What each control did in the run: blocked, alerted, logged side by side, and what fell short. */
function Controls({ controls }: { controls: RunControlResult[] }) {
  if (controls.length === 0) return null;
  return (
    <Card title="Per control" testId="run-controls">
      <table>
        <thead>
          <tr>
            <th>Control</th>
            <th>Asked</th>
            <th>Blocked</th>
            <th>Alerted</th>
            <th>Logged</th>
            <th>Findings</th>
          </tr>
        </thead>
        <tbody>
          {controls.map((c) => (
            <tr key={c.control} data-testid="run-control" data-control={c.control}>
              <td>{c.control}</td>
              <td>{c.expected.join(', ')}</td>
              <td>{yesNo(c.blocked)}</td>
              <td>{c.alerted ? `yes${c.alertedTtdMs !== null ? `, after ${formatMs(c.alertedTtdMs)}` : ''}` : 'no'}</td>
              <td>{c.logged ? `yes${c.loggedTtdMs !== null ? `, after ${formatMs(c.loggedTtdMs)}` : ''}` : 'no'}</td>
              <td>
                {c.details.length === 0
                  ? 'as asked'
                  : c.details
                      .map(
                        (d) =>
                          `${FINDING_TEXT[d.finding] ?? d.finding}${d.detection ? ` (${d.detection})` : ''}${d.rules?.length ? `: ${d.rules.join(', ')}` : ''}`,
                      )
                      .join('; ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
