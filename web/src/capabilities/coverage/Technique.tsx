import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatMs, formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadTechnique, STATUS_INFO, techniqueHref, type CoverageCell, type TechniqueView } from './data.ts';

/** One technique: its evidence, the experiments that exercised it, their last runs and time to detect. */
export function Technique({ id }: { id: string }) {
  const api = useApi();
  const [t, reload] = useLoad(`coverage-technique-${id}`, (signal) => loadTechnique(api, id, signal));
  return (
    <>
      <p>
        <Link to="/attack">← ATT&amp;CK matrix</Link>
      </p>
      <ErrorBanner error={t.error} title={`Could not load ${id}`} onRetry={reload} />
      {t.data ? <Detail view={t.data} /> : t.status === 'loading' ? <Spinner label="Loading…" /> : null}
    </>
  );
}

const ms = (v: number | null) => (v === null ? '–' : formatMs(v));

function StatusBadge({ cell }: { cell: CoverageCell }) {
  const info = STATUS_INFO[cell.status];
  return (
    <span
      className="badge"
      data-testid="technique-status"
      data-status={cell.status}
      style={{ background: info.color, color: info.text, border: '1px solid #bdbdbd', padding: '0.1rem 0.4rem' }}
    >
      {info.label}
    </span>
  );
}

function Detail({ view }: { view: TechniqueView }) {
  const c = view.technique;
  return (
    <>
      <Card title={`${c.technique} ${c.name}`} testId="technique-card">
        <p>
          <StatusBadge cell={c} /> {c.inScope ? 'in scope' : 'not in scope'} · tactics {c.tactics.join(', ')} · platforms{' '}
          {c.platforms.join(', ')}
        </p>
        <dl className="facts">
          <dt>Last verified</dt>
          <dd data-testid="technique-verified">{c.verifiedAt ? formatTime(c.verifiedAt) : 'never'}</dd>
          <dt>Stale</dt>
          <dd>
            {c.staleAt ? `${c.status === 'stale' ? 'since' : 'at'} ${formatTime(c.staleAt)}` : '–'} (after {c.staleAfterDays} days)
          </dd>
          <dt>Time to detect</dt>
          <dd data-testid="technique-ttd">
            last {ms(c.ttd.lastMs)} · p50 {ms(c.ttd.p50Ms)} · p90 {ms(c.ttd.p90Ms)} ({c.ttd.samples} runs)
          </dd>
          <dt>Experiments</dt>
          <dd data-testid="technique-experiments">
            {c.experiments.length === 0
              ? 'none has exercised it'
              : c.experiments.map((e, i) => (
                  <span key={e}>
                    {i > 0 ? ', ' : ''}
                    <Link to="/experiments">{e}</Link>
                  </span>
                ))}
          </dd>
        </dl>
      </Card>
      <Card title="Last runs" testId="technique-runs">
        {view.runs.length === 0 ? (
          <p className="muted">No counted run (not-run, aborted, errored and rollback-failed runs are not coverage).</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Run</th>
                <th>Experiment</th>
                <th>Outcome</th>
                <th>Evidence</th>
                <th>Time to detect</th>
                <th>Ended</th>
              </tr>
            </thead>
            <tbody>
              {view.runs.map((r) => (
                <tr key={r.id} data-testid="technique-run">
                  <td>
                    <Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.id}</Link>
                  </td>
                  <td>{r.experiment}</td>
                  <td>{r.outcome}</td>
                  <td>{r.evidence}</td>
                  <td>{ms(r.ttdMs)}</td>
                  <td>{r.endedAt ? formatTime(r.endedAt) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {view.subtechniques.length > 0 ? (
        <Card title="Sub-techniques">
          <ul>
            {view.subtechniques.map((s) => (
              <li key={s.technique}>
                <Link to={techniqueHref(s.technique)}>
                  {s.technique} {s.name}
                </Link>{' '}
                <StatusBadge cell={s} />
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
    </>
  );
}
