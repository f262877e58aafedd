import { useEffect, useRef } from 'react';
import { Link, useLocation } from './router.tsx';
import { findSection, sections } from './routes.ts';
import { Overview } from './pages/Overview.tsx';
import { Ledger } from './pages/Ledger.tsx';
import { NotBuilt } from './pages/NotBuilt.tsx';
import { NotFound } from './pages/NotFound.tsx';
import type { Session } from './types.ts';

interface LayoutProps {
  session: Session;
  onSignOut: () => void;
}

export function Layout({ session, onSignOut }: LayoutProps) {
  const { path, query } = useLocation();
  const section = findSection(path);
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => {
    document.title = section ? `${section.label} · Bulwark` : 'Not found · Bulwark';
  }, [section]);

  // After in-app navigation, move focus to the new page so screen readers announce it;
  // on first render focus stays where the browser put it.
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) mainRef.current?.focus({ preventScroll: true });
    firstPath.current = '';
  }, [path]);

  let page;
  if (!section) page = <NotFound path={path} />;
  else if (section.path === '/') page = <Overview />;
  else if (section.path === '/ledger') page = <Ledger query={query} />;
  else page = <NotBuilt section={section} />;

  const { principal } = session;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{' '}
          Bulwark
        </Link>
        <div className="topbar-user">
          <span className="principal" data-testid="principal" title={`${principal.kind} ${principal.id}`}>
            <span className="principal-kind">{principal.kind}</span> {principal.name}
          </span>
          <button type="button" className="button button-ghost" onClick={onSignOut} data-testid="signout">
            Sign out
          </button>
        </div>
      </header>
      <nav className="nav" aria-label="Main">
        <ul>
          {sections.map((s) => (
            <li key={s.path}>
              <Link to={s.path} aria-current={s === section ? 'page' : undefined}>
                {s.label}
                {s.built ? null : <span className="visually-hidden"> (not built yet)</span>}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={mainRef} tabIndex={-1} className="content">
        {page}
      </main>
    </div>
  );
}
