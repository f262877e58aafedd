import { useState } from 'react';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatMs, formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import { loadTechnique, runNow, STATUS_INFO, techniqueHref, type CoverageCell, type TechniqueView } from './data.ts';

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
      {t.data ? <Detail view={t.data} onReload={reload} /> : t.status === 'loading' ? <Spinner label="Loading…" /> : null}
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

function Detail({ view, onReload }: { view: TechniqueView; onReload: () => void }) {
  const c = view.technique;
  return (
    <>
      <Applied view={view} onReload={onReload} />
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
            last {ms(c.ttd.lastMs)} · p50 {ms(c.ttd.p50Ms)} · p90 {ms(c.ttd.p90Ms)} (n = {c.ttd.samples} runs with a detection)
          </dd>
          {c.rollup ? (
            <>
              <dt>With its sub-techniques</dt>
              <dd data-testid="technique-rollup" data-status={c.rollup.status}>
                {STATUS_INFO[c.rollup.status].label}
                {c.rollup.weakest ? ` (weakest: ${c.rollup.weakest})` : ''} · {c.rollup.exercised} of {c.rollup.subtechniques}{' '}
                sub-techniques exercised ({c.rollup.inScope} in scope) · oldest verified{' '}
                {c.rollup.verifiedAt ? formatTime(c.rollup.verifiedAt) : 'never'}
              </dd>
            </>
          ) : null}
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
      <Controls cell={c} />
      <TtdChart runs={view.runs} />
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
                <th>Per control</th>
                <th>Time to detect</th>
                <th>Ended</th>
              </tr>
            </thead>
            <tbody>
              {view.runs.map((r) => (
                <tr key={r.id} data-testid="technique-run">
                  <td>
                    {r.external ? (
                      <span title={`imported from an ATTiRe log of ${r.external.source}`}>{r.id}</span>
                    ) : (
                      <Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.id}</Link>
                    )}
                  </td>
                  <td data-testid={r.external ? 'technique-run-external' : undefined}>
                    {r.experiment}
                    {r.external ? ` · ${r.external.procedure} on ${r.external.target}` : ''}
                  </td>
                  <td>{r.outcome}</td>
                  <td>{r.evidence}</td>
                  <td data-testid="technique-run-controls">
                    {r.controls?.map((x) => `${x.control}: ${x.results.join(', ')}`).join('; ') ?? '–'}
                  </td>
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

/** The controls tested against the technique: each one's last result (blocked, alerted, logged or none, not collapsed) and when verified. */
function Controls({ cell }: { cell: CoverageCell }) {
  if (cell.controls.length === 0) return null;
  return (
    <Card title="Controls tested" testId="technique-controls">
      <table>
        <thead>
          <tr>
            <th>Control</th>
            <th>Status</th>
            <th>Last result</th>
            <th>Alerted after</th>
            <th>Logged after</th>
            <th>Time to detect (last · p50 · p90, n)</th>
            <th>Last run</th>
            <th>Verified</th>
            <th>Runs</th>
          </tr>
        </thead>
        <tbody>
          {cell.controls.map((x) => {
            const info = STATUS_INFO[x.status];
            return (
              <tr key={x.control} data-testid="technique-control" data-control={x.control} data-status={x.status}>
                <td>{x.control}</td>
                <td>
                  <span
                    className="badge"
                    style={{ background: info.color, color: info.text, border: '1px solid #bdbdbd', padding: '0.1rem 0.4rem' }}
                  >
                    {info.label}
                  </span>
                </td>
                <td>{x.results.join(', ')}</td>
                <td>{ms(x.alertedTtdMs)}</td>
                <td>{ms(x.loggedTtdMs)}</td>
                <td data-testid="technique-control-ttd">
                  {ms(x.ttd.lastMs)} · {ms(x.ttd.p50Ms)} · {ms(x.ttd.p90Ms)}, n = {x.ttd.samples}
                </td>
                <td>
                  <Link to={`/runs/${encodeURIComponent(x.lastRun)}`}>{x.lastRun}</Link> ({x.experiment})
                </td>
                <td>{formatTime(x.verifiedAt)}</td>
                <td>{x.runs}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Card>
  );
}

/** The applied experiments that name the technique, each with "Run now". */
function Applied({ view, onReload }: { view: TechniqueView; onReload: () => void }) {
  const api = useApi();
  const [started, setStarted] = useState<{ name: string; id: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  async function start(name: string) {
    setBusy(name);
    setError(null);
    try {
      setStarted({ name, id: (await runNow(api, name)).id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }
  return (
    <Card
      title="Experiments that test it"
      testId="technique-applied"
      actions={
        started ? (
          <button type="button" onClick={onReload} data-testid="technique-refresh">
            Refresh
          </button>
        ) : undefined
      }
    >
      <ErrorBanner error={error} title="Could not start the run" />
      {started ? (
        <p data-testid="technique-started">
          Started run <Link to={`/runs/${encodeURIComponent(started.id)}`}>{started.id}</Link> of {started.name}; refresh when it is done.
        </p>
      ) : null}
      {view.applied.length === 0 ? (
        <p className="muted">
          No applied experiment names this technique. Render one from the attack library (<code>bulwark techniques list</code>) and apply
          it.
        </p>
      ) : (
        <ul>
          {view.applied.map((e) => (
            <li key={e.name}>
              {e.title} (<code>{e.name}</code>, {e.techniques.join(', ')}){' '}
              <button type="button" disabled={busy !== null} onClick={() => void start(e.name)} data-testid={`run-now-${e.name}`}>
                {busy === e.name ? 'Starting…' : 'Run now'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/** Time to detect over time: one dot per counted run with a time to detect, oldest on the left. */
function TtdChart({ runs }: { runs: TechniqueView['runs'] }) {
  const points = runs
    .filter((r) => r.ttdMs !== null && r.endedAt !== null)
    .map((r) => ({ id: r.id, at: Date.parse(r.endedAt!), ms: r.ttdMs! }))
    .sort((a, b) => a.at - b.at);
  if (points.length === 0) return null;
  const W = 480;
  const H = 120;
  const pad = 24;
  const t0 = points[0]!.at;
  const span = Math.max(1, points[points.length - 1]!.at - t0);
  const max = Math.max(...points.map((p) => p.ms), 1);
  const x = (at: number) => pad + ((at - t0) / span) * (W - 2 * pad);
  const y = (ms: number) => H - pad - (ms / max) * (H - 2 * pad);
  return (
    <Card title="Time to detect over time" testId="technique-ttd-chart">
      <svg width={W} height={H} role="img" aria-label={`time to detect of ${points.length} runs, at most ${formatMs(max)}`}>
        <line x1={pad} y1={H - pad} x2={W - pad} y2={H - pad} stroke="#9e9e9e" />
        <text x={2} y={pad - 8} fontSize="10">
          {formatMs(max)}
        </text>
        <polyline fill="none" stroke="#1565c0" points={points.map((p) => `${x(p.at)},${y(p.ms)}`).join(' ')} />
        {points.map((p) => (
          <circle key={p.id} cx={x(p.at)} cy={y(p.ms)} r={3} fill="#1565c0" data-testid="ttd-point">
            <title>{`${p.id}: ${formatMs(p.ms)} at ${new Date(p.at).toISOString()}`}</title>
          </circle>
        ))}
      </svg>
    </Card>
  );
}
