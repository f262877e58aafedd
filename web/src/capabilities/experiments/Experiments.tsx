import { useState } from 'react';
import { Card, ConfirmDialog, ErrorBanner, Spinner } from '../../components.tsx';
import { deleteExperiment, EXPERIMENTS_REFRESH_MS, isInProgress, loadExperiments, runHref, startRun, stopAll } from './data.ts';
import { formatMs, formatTime, plural } from '../../format.ts';
import { useApi, useLoad, useRefreshWhile } from '../../hooks.ts';
import { HistoryStrip, OutcomeLegend, RunBadge, TechniqueList } from './outcomes.tsx';
import { Link } from '../../router.tsx';
import type { DeletedExperiment, Experiment, RunSummary, Schedule } from '../../types.ts';

type Notice =
  | { kind: 'started'; experiment: string; run: RunSummary }
  | { kind: 'stopped'; count: number }
  | { kind: 'deleted'; deleted: DeletedExperiment; lastRun: RunSummary | null }
  | { kind: 'error'; title: string; error: unknown };

function hasRunInProgress(experiment: Experiment): boolean {
  if (experiment.lastRun && isInProgress(experiment.lastRun.state)) return true;
  return experiment.history.some((run) => isInProgress(run.state));
}

export function Experiments() {
  const api = useApi();
  const [list, reload] = useLoad('experiments', (signal) => loadExperiments(api, signal), { keepDataOnError: true });
  const [starting, setStarting] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState<Notice | null>(null);
  const [confirmStop, setConfirmStop] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState<Experiment | null>(null);
  const [deleting, setDeleting] = useState(false);

  const experiments = list.data;
  const running = experiments?.filter(hasRunInProgress) ?? [];
  useRefreshWhile(running.length > 0, EXPERIMENTS_REFRESH_MS, list, reload);

  async function runNow(experiment: Experiment) {
    setStarting((prev) => new Set(prev).add(experiment.name));
    setNotice(null);
    try {
      const run = await startRun(api, experiment.name);
      setNotice({ kind: 'started', experiment: experiment.title || experiment.name, run });
    } catch (err) {
      setNotice({ kind: 'error', title: `Could not start “${experiment.title || experiment.name}”`, error: err });
    } finally {
      setStarting((prev) => {
        const next = new Set(prev);
        next.delete(experiment.name);
        return next;
      });
      reload();
    }
  }

  async function confirmStopAll() {
    setStopping(true);
    try {
      const count = await stopAll(api);
      setNotice({ kind: 'stopped', count });
    } catch (err) {
      setNotice({ kind: 'error', title: 'Could not stop the experiments', error: err });
    } finally {
      setStopping(false);
      setConfirmStop(false);
      reload();
    }
  }

  async function confirmDeletion(experiment: Experiment) {
    setDeleting(true);
    try {
      const deleted = await deleteExperiment(api, experiment.name);
      setNotice({ kind: 'deleted', deleted, lastRun: experiment.lastRun });
    } catch (err) {
      setNotice({ kind: 'error', title: `Could not delete “${experiment.title || experiment.name}”`, error: err });
    } finally {
      setDeleting(false);
      setConfirmDelete(null);
      reload();
    }
  }

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Experiments</h1>
          <p className="lede">
            Each experiment injects a fault or an attack technique against a control, then checks that the control blocked it and that
            something detected it in time. Its rollbacks always run.
          </p>
        </div>
        <button
          type="button"
          className="button button-danger"
          onClick={() => {
            setNotice(null);
            setConfirmStop(true);
          }}
          data-testid="stop-all"
        >
          <span aria-hidden="true">■</span> Stop all experiments
        </button>
      </div>

      <div aria-live="polite" className="notice-slot">
        {notice?.kind === 'started' ? (
          <p className="banner banner-info" data-testid="run-started">
            <span>
              Started run <code>{notice.run.id}</code> of {notice.experiment}
              {notice.run.dryRun ? ' (dry run)' : ''}.
            </span>
            <Link to={runHref(notice.run.id)} className="button button-small" data-testid="open-started-run">
              Open the run
            </Link>
          </p>
        ) : null}
        {notice?.kind === 'stopped' ? (
          <p className="banner banner-info" data-testid="stopped-all">
            {notice.count === 0
              ? 'No experiment was running; nothing to stop.'
              : `Stopped ${plural(notice.count, 'run', 'runs')}; their rollbacks are running.`}
          </p>
        ) : null}
        {notice?.kind === 'deleted' ? <DeletedNotice deleted={notice.deleted} lastRun={notice.lastRun} /> : null}
      </div>
      {notice?.kind === 'error' ? <ErrorBanner error={notice.error} title={notice.title} /> : null}

      <Card
        title="All experiments"
        actions={
          <>
            {running.length > 0 ? (
              <span className="muted refresh-note" data-testid="auto-refresh">
                {plural(running.length, 'experiment', 'experiments')} running · refreshing every {EXPERIMENTS_REFRESH_MS / 1000} s
              </span>
            ) : null}
            <button type="button" className="button button-small" onClick={reload}>
              Refresh
            </button>
          </>
        }
      >
        <ErrorBanner error={list.error} title="Could not load the experiments" onRetry={reload} />
        {experiments ? (
          experiments.length === 0 ? (
            <EmptyState />
          ) : (
            <>
              <div className="table-wrap">
                <table className="entries experiments" data-testid="experiments" aria-busy={list.status === 'loading'}>
                  <caption className="visually-hidden">Experiments with their last outcome and their last runs</caption>
                  <thead>
                    <tr>
                      <th scope="col">Experiment</th>
                      <th scope="col">Techniques</th>
                      <th scope="col">Schedule</th>
                      <th scope="col">Last outcome</th>
                      <th scope="col" className="num">
                        Time to detect
                      </th>
                      <th scope="col">Last runs</th>
                      <th scope="col" className="actions">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {experiments.map((experiment) => (
                      <ExperimentRow
                        key={experiment.name}
                        experiment={experiment}
                        starting={starting.has(experiment.name)}
                        onRun={() => void runNow(experiment)}
                        onDelete={() => {
                          setNotice(null);
                          setConfirmDelete(experiment);
                        }}
                      />
                    ))}
                  </tbody>
                </table>
              </div>
              <OutcomeLegend />
            </>
          )
        ) : list.status === 'loading' ? (
          <Spinner label="Loading experiments…" />
        ) : null}
      </Card>

      <ConfirmDialog
        open={confirmStop}
        title="Stop all experiments?"
        confirmLabel="Stop all"
        busyLabel="Stopping…"
        busy={stopping}
        danger
        onConfirm={() => void confirmStopAll()}
        onCancel={() => setConfirmStop(false)}
        testId="stop-all-dialog"
      >
        <p>
          Every running experiment is aborted and its rollbacks run. Those runs end as <strong>aborted</strong>.
        </p>
      </ConfirmDialog>

      <ConfirmDialog
        open={confirmDelete !== null}
        title={`Delete “${confirmDelete ? confirmDelete.title || confirmDelete.name : ''}”?`}
        confirmLabel="Delete"
        busyLabel="Deleting…"
        busy={deleting}
        danger
        onConfirm={() => {
          if (confirmDelete) void confirmDeletion(confirmDelete);
        }}
        onCancel={() => setConfirmDelete(null)}
        testId="delete-dialog"
      >
        <p>
          The experiment <code>{confirmDelete?.name}</code> is no longer listed, run or scheduled, on every server. Its runs and its ledger
          entries stay readable. A run going on is not stopped: stop it from its Run page.
        </p>
      </ConfirmDialog>
    </>
  );
}

function DeletedNotice({ deleted, lastRun }: { deleted: DeletedExperiment; lastRun: RunSummary | null }) {
  return (
    <div className="banner banner-info banner-stack" data-testid="experiment-deleted">
      <p>
        Deleted <strong>{deleted.title || deleted.name}</strong> (<code>{deleted.name}</code>, version {deleted.version}). Its runs stay
        readable.
        {lastRun ? (
          <>
            {' '}
            <Link to={runHref(lastRun.id)} data-testid="deleted-last-run">
              Open its last run
            </Link>
            .
          </>
        ) : null}
      </p>
      {deleted.unfinished.map((run) => (
        <p key={run.id}>
          Run{' '}
          <Link to={runHref(run.id)}>
            <code>{run.id}</code>
          </Link>{' '}
          is still {run.state}; deleting does not stop it.
        </p>
      ))}
    </div>
  );
}

function ScheduleText({ schedule }: { schedule: Schedule | null }) {
  if (!schedule) return <span className="schedule muted">On demand</span>;
  // A duration as the server writes it ("5s"); "0s" when there is none.
  const jitterText = schedule.jitter === '' || schedule.jitter === '0s' ? null : schedule.jitter;
  return (
    <span className="schedule">
      <code>{schedule.cron}</code>
      {jitterText ? <span className="muted"> (+ up to {jitterText})</span> : null}
    </span>
  );
}

function ExperimentRow({
  experiment,
  starting,
  onRun,
  onDelete,
}: {
  experiment: Experiment;
  starting: boolean;
  onRun: () => void;
  onDelete: () => void;
}) {
  const last = experiment.lastRun;
  const title = experiment.title || experiment.name;
  return (
    <tr data-testid="experiment-row" data-name={experiment.name}>
      <td className="experiment-cell">
        <p className="experiment-title">{title}</p>
        <p className="experiment-name">
          <code>{experiment.name}</code>
        </p>
        {experiment.description ? (
          <p className="experiment-description muted" title={experiment.description}>
            {experiment.description}
          </p>
        ) : null}
      </td>
      <td>
        <TechniqueList techniques={experiment.techniques} />
      </td>
      <td>
        <ScheduleText schedule={experiment.schedule} />
      </td>
      <td className="last-outcome">
        {last ? (
          <>
            <Link to={runHref(last.id)} className="badge-link" title={`Open run ${last.id}`} data-testid="last-run">
              <RunBadge run={last} />
              <span className="visually-hidden"> (open run {last.id})</span>
            </Link>
            <p className="muted small">
              <time dateTime={last.startedAt}>{formatTime(last.startedAt)}</time>
              {last.dryRun ? ' · dry run' : ''}
            </p>
          </>
        ) : (
          <span className="muted">Never run</span>
        )}
      </td>
      <td className="num nowrap" data-testid="last-ttd">
        {last?.ttdMs != null ? formatMs(last.ttdMs) : <span className="muted">—</span>}
      </td>
      <td>
        <HistoryStrip history={experiment.history} experiment={title} />
      </td>
      <td className="actions">
        <div className="row-actions">
          <button type="button" className="button button-small button-primary" onClick={onRun} disabled={starting} data-testid="run-now">
            {starting ? 'Starting…' : 'Run now'}
            <span className="visually-hidden">: {title}</span>
          </button>
          <button type="button" className="button button-small button-danger" onClick={onDelete} data-testid="delete-experiment">
            Delete
            <span className="visually-hidden">: {title}</span>
          </button>
        </div>
      </td>
    </tr>
  );
}

function EmptyState() {
  return (
    <div className="empty" data-testid="experiments-empty">
      <p className="empty-title">No experiments yet</p>
      <p>
        An experiment is a YAML or JSON file: a hypothesis about a control, what to inject, what must be blocked or detected and how fast,
        and the rollbacks that always run. Check a file, then apply it to this server:
      </p>
      <pre>
        <code>{'bulwark experiments validate FILE\nbulwark experiments apply FILE'}</code>
      </pre>
      <p className="muted">
        It then appears here, where you can run it now or let its schedule run it. Chaos Toolkit experiment files work as they are.
      </p>
    </div>
  );
}
