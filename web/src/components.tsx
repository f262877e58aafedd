import type { ReactNode } from 'react';
import { errorMessage } from './api.ts';

export function ErrorBanner({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (error === undefined || error === null) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <div>
        {title ? <strong>{title}: </strong> : null}
        <span>{errorMessage(error)}</span>
      </div>
      {onRetry ? (
        <button type="button" className="button button-small" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <p className="muted loading" role="status">
      {label}
    </p>
  );
}

export function Card({ title, children, testId, actions }: { title: string; children: ReactNode; testId?: string; actions?: ReactNode }) {
  return (
    <section className="card" data-testid={testId} aria-label={title}>
      <header className="card-header">
        <h2>{title}</h2>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** Long hex values wrap anywhere and can be selected whole. */
export function Hex({ value }: { value: string }) {
  return <code className="hex">{value}</code>;
}
