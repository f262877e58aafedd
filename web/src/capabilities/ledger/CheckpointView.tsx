import { Hex } from '../../components.tsx';
import { formatCount, formatTime } from '../../format.ts';
import type { Checkpoint } from '../../types.ts';

export function CheckpointView({ checkpoint, showNote }: { checkpoint: Checkpoint | null; showNote: boolean }) {
  if (!checkpoint) {
    return <p className="muted">No checkpoint has been signed yet.</p>;
  }
  return (
    <>
      <dl className="facts">
        <div>
          <dt>Size</dt>
          <dd data-testid="checkpoint-size">{formatCount(checkpoint.size)} entries</dd>
        </div>
        <div>
          <dt>Signed</dt>
          <dd>
            <time dateTime={checkpoint.time}>{formatTime(checkpoint.time)}</time>
          </dd>
        </div>
        <div>
          <dt>Key</dt>
          <dd>
            <Hex value={checkpoint.keyId} />
            {checkpoint.keyName ? <span className="muted"> ({checkpoint.keyName})</span> : null}
          </dd>
        </div>
        <div className="facts-wide">
          <dt>Root hash</dt>
          <dd>
            <Hex value={checkpoint.root} />
          </dd>
        </div>
        {checkpoint.origin ? (
          <div className="facts-wide">
            <dt>Origin</dt>
            <dd>
              <code>{checkpoint.origin}</code>
            </dd>
          </div>
        ) : null}
      </dl>
      {showNote ? (
        <details className="note" open>
          <summary>Signed note</summary>
          <pre data-testid="checkpoint-note">{checkpoint.note}</pre>
        </details>
      ) : null}
    </>
  );
}
