import { useEffect, useMemo, useState } from 'react';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { formatMs, formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { Link } from '../../router.tsx';
import {
  controlsOf,
  loadCoverage,
  matrixColumns,
  STATUS_INFO,
  STATUS_ORDER,
  techniqueHref,
  type CoverageCell,
  type CoverageView,
} from './data.ts';

/** The ATT&CK page: the matrix, tactics as columns in matrix order, each cell coloured by its evidence. */
/** The page's own timing (User Timing): from opening the page to the matrix drawn, read by bench/ and by the browser's tools. */
export const RENDER_START_MARK = 'bulwark:coverage:start';
export const RENDER_MEASURE = 'bulwark:coverage:render';

export function Attack() {
  const api = useApi();
  useState(() => performance.mark(RENDER_START_MARK));
  const [control, setControl] = useState('');
  const [coverage, reload] = useLoad(`coverage-${control}`, (signal) => loadCoverage(api, signal, control), { keepDataOnError: true });
  // The controls to filter by come from the map of all controls, kept while one is selected.
  const [controls, setControls] = useState<string[]>([]);
  useEffect(() => {
    if (control === '' && coverage.data) setControls(controlsOf(coverage.data));
  }, [control, coverage.data]);
  return (
    <>
      <ErrorBanner error={coverage.error} title="Could not load the coverage" onRetry={reload} />
      {coverage.data ? (
        <Matrix view={coverage.data} control={control} controls={controls} onControl={setControl} />
      ) : coverage.status === 'loading' ? (
        <Spinner label="Loading the coverage…" />
      ) : null}
    </>
  );
}

function Matrix({
  view,
  control,
  controls,
  onControl,
}: {
  view: CoverageView;
  control: string;
  controls: string[];
  onControl: (c: string) => void;
}) {
  const [tactic, setTactic] = useState('');
  const [platform, setPlatform] = useState('');
  const platforms = useMemo(() => [...new Set(view.techniques.flatMap((c) => c.platforms))].sort(), [view]);
  const columns = useMemo(() => matrixColumns(view, { tactic, platform }), [view, tactic, platform]);
  const k = view.kris;
  // After the matrix of this view is committed: the time from opening the page (its fetch included).
  useEffect(() => {
    if (performance.getEntriesByName(RENDER_START_MARK, 'mark').length > 0) performance.measure(RENDER_MEASURE, RENDER_START_MARK);
  }, [view]);
  return (
    <>
      <Card title="Coverage" testId="coverage-kris">
        <p>
          <strong>{k.inScope}</strong> techniques in scope: <strong data-testid="kri-blocked">{k.blocked}</strong> blocked,{' '}
          <strong data-testid="kri-alerted">{k.alerted}</strong> alerted, <strong data-testid="kri-logged">{k.logged}</strong> logged only,{' '}
          <strong data-testid="kri-none">{k.none}</strong> none, <strong data-testid="kri-stale">{k.stale}</strong> stale,{' '}
          <strong data-testid="kri-never">{k.neverExercised}</strong> never exercised.
        </p>
        <p className="muted">
          Evidence from the experiment runs at {formatTime(view.at)}; a covered technique turns stale when not verified within its age (30
          days unless the settings say otherwise). Exports: <code>bulwark coverage export --format navigator|json|vectr-csv|dettect</code>.
        </p>
        <ul style={{ display: 'flex', flexWrap: 'wrap', gap: '0.75rem', listStyle: 'none', padding: 0 }} data-testid="coverage-legend">
          {STATUS_ORDER.map((s) => (
            <li key={s} style={{ display: 'flex', alignItems: 'center', gap: '0.3rem' }}>
              <span
                aria-hidden="true"
                style={{
                  width: '1rem',
                  height: '1rem',
                  border: '1px solid #9e9e9e',
                  background: STATUS_INFO[s].color,
                  display: 'inline-block',
                }}
              />
              {STATUS_INFO[s].label}
            </li>
          ))}
        </ul>
        <p style={{ display: 'flex', gap: '1rem', flexWrap: 'wrap' }}>
          <label>
            Control{' '}
            <select value={control} onChange={(e) => onControl(e.target.value)} data-testid="filter-control">
              <option value="">all, combined</option>
              {controls.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label>
            Tactic{' '}
            <select value={tactic} onChange={(e) => setTactic(e.target.value)} data-testid="filter-tactic">
              <option value="">all</option>
              {view.tactics.map((t) => (
                <option key={t.shortname} value={t.shortname}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Platform{' '}
            <select value={platform} onChange={(e) => setPlatform(e.target.value)} data-testid="filter-platform">
              <option value="">all</option>
              {platforms.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
        </p>
      </Card>
      <div style={{ overflowX: 'auto' }}>
        <table data-testid="attack-matrix" style={{ borderCollapse: 'collapse', fontSize: '0.75rem' }}>
          <thead>
            <tr>
              {columns.map(({ tactic: t, rows }) => (
                <th key={t.shortname} data-tactic={t.shortname} style={{ minWidth: '9rem', verticalAlign: 'bottom', padding: '0.25rem' }}>
                  {t.name}
                  <div className="muted">{rows.length} techniques</div>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              {columns.map(({ tactic: t, rows }) => (
                <td key={t.shortname} style={{ verticalAlign: 'top', padding: '0.25rem' }}>
                  {rows.map(({ cell, subs }) => (
                    <div key={cell.technique}>
                      <Cell cell={cell} tactic={t.shortname} />
                      {subs.map((s) => (
                        <div key={s.technique} style={{ marginLeft: '0.75rem' }}>
                          <Cell cell={s} tactic={t.shortname} />
                        </div>
                      ))}
                    </div>
                  ))}
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      </div>
      <p className="muted">
        {view.attribution} ATT&amp;CK v{view.attackVersion}.
      </p>
    </>
  );
}

function Cell({ cell, tactic }: { cell: CoverageCell; tactic: string }) {
  // A technique with sub-techniques is coloured by its roll-up: the weakest of it and them (docs/coverage.md).
  const status = cell.rollup?.status ?? cell.status;
  const info = STATUS_INFO[status];
  const r = cell.rollup;
  const rollup = r
    ? `; roll-up of ${r.exercised} of ${r.subtechniques} sub-techniques exercised${r.weakest ? `, weakest ${r.weakest}` : ''}`
    : '';
  const title = `${cell.technique} ${cell.name}: ${info.label}${rollup}${cell.lastRun ? `; last run ${cell.lastRun.outcome} at ${cell.lastRun.at}` : ''}`;
  return (
    <Link
      to={techniqueHref(cell.technique)}
      data-testid={`cell-${cell.technique}`}
      data-status={status}
      data-own-status={cell.status}
      data-tactic={tactic}
      title={title}
      style={{
        display: 'block',
        background: info.color,
        color: info.text,
        border: '1px solid #bdbdbd',
        margin: '1px 0',
        padding: '0.15rem 0.3rem',
        textDecoration: 'none',
      }}
    >
      <span style={{ fontFamily: 'monospace' }}>{cell.technique}</span> {cell.name}
      {cell.ttd.lastMs !== null ? <span> · {formatMs(cell.ttd.lastMs)}</span> : null}
      {r && r.exercised > 0 ? (
        <span data-testid={`rollup-${cell.technique}`}>
          {' '}
          · {r.exercised}/{r.subtechniques}
        </span>
      ) : null}
    </Link>
  );
}
