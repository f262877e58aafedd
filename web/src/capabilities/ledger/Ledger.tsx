import { useEffect, useRef, useState } from 'react';
import { isAbort } from '../../api.ts';
import { Card, ErrorBanner, Spinner } from '../../components.tsx';
import { compactJson, formatCount, formatTime, plural, prettyJson, truncate, actorText } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { loadCheckpoint, loadEntries, PAGE_SIZE, runVerify } from './data.ts';
import { Link, navigate } from '../../router.tsx';
import type { LedgerEntry, VerifyReport } from '../../types.ts';
import { CheckpointView } from './CheckpointView.tsx';

const DATA_PREVIEW = 72;

type VerifyState =
  { status: 'idle' } | { status: 'running' } | { status: 'done'; report: VerifyReport; at: Date } | { status: 'error'; error: unknown };

function parseFrom(query: URLSearchParams): number | null {
  const raw = query.get('from');
  if (raw === null || !/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

function pageHref(from: number | null): string {
  return from === null ? '/ledger' : `/ledger?from=${from}`;
}

export function Ledger({ query }: { query: URLSearchParams }) {
  const api = useApi();
  const from = parseFrom(query);
  const [page, reloadPage] = useLoad(`entries:${from ?? 'newest'}`, (signal) => loadEntries(api, from, signal));
  const [checkpoint, reloadCheckpoint] = useLoad('checkpoint', (signal) => loadCheckpoint(api, signal));
  const [verify, setVerify] = useState<VerifyState>({ status: 'idle' });
  const verifyAbort = useRef<AbortController | null>(null);

  useEffect(() => () => verifyAbort.current?.abort(), []);

  async function startVerify() {
    verifyAbort.current?.abort();
    const controller = new AbortController();
    verifyAbort.current = controller;
    setVerify({ status: 'running' });
    try {
      const report = await runVerify(api, controller.signal);
      if (!controller.signal.aborted) setVerify({ status: 'done', report, at: new Date() });
    } catch (err) {
      if (!isAbort(err) && !controller.signal.aborted) setVerify({ status: 'error', error: err });
    }
  }

  function refresh() {
    reloadPage();
    reloadCheckpoint();
  }

  const data = page.data;
  const entries = data?.entries ?? [];
  const first = entries[0];
  const last = entries[entries.length - 1];
  const newestSeq = data ? data.size - 1 : -1;
  const canNewer = from !== null && (first === undefined || first.seq < newestSeq);
  const canOlder = data?.next !== null && data?.next !== undefined;
  const badSeq = verify.status === 'done' && !verify.report.ok ? verify.report.firstBad?.seq : undefined;

  function goNewer() {
    if (!data) return;
    const target = first === undefined ? null : first.seq + PAGE_SIZE;
    navigate(pageHref(target === null || target >= newestSeq ? null : target));
  }

  function goOlder() {
    if (data && data.next !== null) navigate(pageHref(data.next));
  }

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Ledger</h1>
          <p className="lede">
            Every action Bulwark takes or observes, in an append-only Merkle tree. Verification recomputes every leaf hash and checks every
            signed checkpoint against it.
          </p>
        </div>
        <button
          type="button"
          className="button button-primary"
          onClick={() => void startVerify()}
          disabled={verify.status === 'running'}
          data-testid="verify-button"
        >
          {verify.status === 'running' ? 'Verifying…' : 'Verify ledger'}
        </button>
      </div>

      <div aria-live="polite" className="verify-slot">
        {verify.status === 'running' ? <Spinner label="Verifying the whole ledger…" /> : null}
        {verify.status === 'done' ? <VerifyResult report={verify.report} at={verify.at} /> : null}
      </div>
      {verify.status === 'error' ? (
        <ErrorBanner error={verify.error} title="Verification could not run" onRetry={() => void startVerify()} />
      ) : null}

      <Card title="Latest checkpoint" testId="checkpoint">
        <ErrorBanner error={checkpoint.error} title="Could not load the checkpoint" onRetry={reloadCheckpoint} />
        {checkpoint.status === 'ready' ? (
          <CheckpointView checkpoint={checkpoint.data} showNote />
        ) : checkpoint.status === 'loading' ? (
          <Spinner label="Loading the checkpoint…" />
        ) : null}
      </Card>

      <Card
        title="Entries"
        actions={
          <button type="button" className="button button-small" onClick={refresh}>
            Refresh
          </button>
        }
      >
        <ErrorBanner error={page.error} title="Could not load entries" onRetry={reloadPage} />
        {data ? (
          <>
            <p className="muted" data-testid="entries-summary">
              {entries.length > 0 && first && last
                ? `Entries ${formatCount(last.seq)}–${formatCount(first.seq)} of ${plural(data.size, 'entry', 'entries')}, newest first.`
                : data.size === 0
                  ? 'The ledger is empty.'
                  : `No entries here; the ledger has ${plural(data.size, 'entry', 'entries')}.`}
            </p>
            <div className={`table-wrap${page.status === 'loading' ? ' is-loading' : ''}`}>
              <table className="entries" data-testid="ledger-entries" aria-busy={page.status === 'loading'}>
                <caption className="visually-hidden">Ledger entries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col" className="num">
                      Seq
                    </th>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Data</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((entry) => (
                    <EntryRow key={entry.seq} entry={entry} bad={entry.seq === badSeq} />
                  ))}
                </tbody>
              </table>
            </div>
            <nav className="pager" aria-label="Ledger pages">
              <button type="button" className="button" onClick={goNewer} disabled={!canNewer} data-testid="page-newer">
                ← Newer
              </button>
              {from !== null ? (
                <Link to="/ledger" className="pager-latest">
                  Latest
                </Link>
              ) : null}
              <button type="button" className="button" onClick={goOlder} disabled={!canOlder} data-testid="page-older">
                Older →
              </button>
            </nav>
          </>
        ) : page.status === 'loading' ? (
          <Spinner label="Loading entries…" />
        ) : null}
      </Card>
    </>
  );
}

function EntryRow({ entry, bad }: { entry: LedgerEntry; bad: boolean }) {
  // An entry of a restricted incident the viewer is not part of: its leaf hash, kind and time only.
  const json = entry.redacted ? 'not shown: a restricted incident' : compactJson(entry.data);
  const long = json.length > DATA_PREVIEW;
  return (
    <tr data-testid="entry-row" data-seq={entry.seq} className={bad ? 'row-bad' : undefined}>
      <td className="num" title={`Leaf hash ${entry.leafHash}`}>
        {entry.seq}
      </td>
      <td className="nowrap">
        <time dateTime={entry.time}>{formatTime(entry.time)}</time>
      </td>
      <td>{actorText(entry.actor)}</td>
      <td>
        <code className="kind">{entry.kind}</code>
      </td>
      <td className="subject">{entry.subject}</td>
      <td className="data">
        {long ? (
          <details>
            <summary title={json}>
              <code>{truncate(json, DATA_PREVIEW)}</code>
            </summary>
            <pre>{prettyJson(entry.data)}</pre>
          </details>
        ) : (
          <code>{json}</code>
        )}
      </td>
    </tr>
  );
}

/** "entry 3 does not match…" reads as "Entry 3: does not match…" under our own "Entry 3" label. */
function withoutEntryPrefix(reason: string, seq: number): string {
  const stripped = reason.replace(new RegExp(`^entry ${seq}\\b:?\\s*`, 'i'), '');
  return stripped.length > 0 ? stripped : reason;
}

function VerifyResult({ report, at }: { report: VerifyReport; at: Date }) {
  const checked = `${plural(report.entriesChecked, 'entry', 'entries')} and ${plural(
    report.checkpointsChecked,
    'checkpoint',
    'checkpoints',
  )} checked`;
  const checkedAt = <span className="muted">Checked at {formatTime(at.toISOString())}.</span>;

  if (report.ok) {
    return (
      <div className="result result-ok" data-testid="verify-result" data-status="ok">
        <p className="result-title">
          <span aria-hidden="true">✓ </span>Intact
        </p>
        <p>
          {checked}; ledger size {formatCount(report.size)}.
        </p>
        <p>
          {report.message ? <span className="muted">{report.message.replace(/\.$/, '')}. </span> : null}
          {checkedAt}
        </p>
      </div>
    );
  }

  const bad = report.firstBad;
  // The message often repeats the reason; show it only when it adds something.
  const extra = report.message && !(bad && report.message.includes(bad.reason)) ? report.message : null;
  return (
    <div className="result result-failed" data-testid="verify-result" data-status="failed">
      <p className="result-title">
        <span aria-hidden="true">✗ </span>Tampering detected
      </p>
      {bad ? (
        <p className="result-bad">
          <Link to={pageHref(bad.seq)}>Entry {bad.seq}</Link>: {withoutEntryPrefix(bad.reason, bad.seq)}
        </p>
      ) : null}
      {extra ? <p>{extra}</p> : null}
      <p>
        {checked}. {checkedAt}
      </p>
    </div>
  );
}
