import { Link } from '../router.tsx';
import type { Section } from '../dashboard-part.ts';

export function NotBuilt({ section }: { section: Section }) {
  return (
    <>
      <h1>{section.label}</h1>
      <div className="card notbuilt" data-testid="not-built">
        <p className="notbuilt-title">Not built yet</p>
        <p>{section.summary}</p>
        <p className="muted">
          Meanwhile, everything Bulwark records is in the <Link to="/ledger">Ledger</Link>.
        </p>
      </div>
    </>
  );
}
