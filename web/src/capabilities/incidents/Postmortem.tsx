import { useEffect, useState } from 'react';
import { errorMessage } from '../../api.ts';
import { Card, ErrorBanner, Hex } from '../../components.tsx';
import { formatTime } from '../../format.ts';
import { useApi, useLoad } from '../../hooks.ts';
import { loadPostmortem, type PostmortemDocument } from './data.ts';

/**
 * The postmortem as a document: generated from the record, then edited; every version kept. An
 * edit saves on top of the version it started from; if someone saved meanwhile the server
 * answers 409 and the page says so (nothing is overwritten).
 */
export function Postmortem({ id, onChange }: { id: number; onChange: () => void }) {
  const api = useApi();
  const [doc, reload] = useLoad(`incident-${id}-postmortem`, (signal) => loadPostmortem(api, id, signal), { keepDataOnError: true });
  const [text, setText] = useState('');
  const [base, setBase] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const current = doc.data?.current;
  useEffect(() => {
    setText(current?.markdown ?? '');
    setBase(current?.version ?? 0);
  }, [current?.version, current?.markdown]);
  const save = async (markdown?: string) => {
    setBusy(true);
    setError(null);
    try {
      await api.post<PostmortemDocument>(`/v1/incidents/${id}/postmortem/versions`, {
        baseVersion: base,
        ...(markdown !== undefined ? { markdown } : {}),
      });
      reload();
      onChange();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const versions = doc.data?.versions ?? [];
  return (
    <Card
      title={`Postmortem${current ? ` (version ${current.version})` : ''}`}
      testId="incident-postmortem"
      actions={
        <button type="button" disabled={busy} onClick={() => void save()} data-testid="postmortem-generate">
          {current ? 'Regenerate from the record' : 'Generate from the record'}
        </button>
      }
    >
      <ErrorBanner error={doc.error} title="Could not load the postmortem" onRetry={reload} />
      {current ? (
        <>
          <textarea
            aria-label="Postmortem (Markdown)"
            rows={16}
            className="postmortem-editor"
            value={text}
            onChange={(e) => setText(e.target.value)}
            data-testid="postmortem-text"
          />
          <p>
            <button type="button" disabled={busy || text === current.markdown || !text.trim()} onClick={() => void save(text)}>
              Save as version {current.version + 1}
            </button>
          </p>
          <ul className="muted" data-testid="postmortem-versions">
            {versions.map((v) => (
              <li key={v.version}>
                v{v.version} {v.source} by {v.by} at {formatTime(v.at)} <Hex value={v.sha256} />
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="muted">No postmortem yet: generate one from the record, then edit it.</p>
      )}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </Card>
  );
}
