import { useEffect, useRef } from 'react';
import { Link, useLocation } from './router.tsx';
import { matchRoute, sections } from './routes.ts';
import { Overview } from './pages/Overview.tsx';
import { Experiments } from './pages/Experiments.tsx';
import { Ledger } from './pages/Ledger.tsx';
import { Run } from './pages/Run.tsx';
import { NotBuilt } from './pages/NotBuilt.tsx';
import { NotFound } from './pages/NotFound.tsx';
import type { Session } from './types.ts';

interface LayoutProps {
  session: Session;
  onSignOut: () => void;
}

export function Layout({ session, onSignOut }: LayoutProps) {
  const { path, query } = useLocation();
  const route = matchRoute(path);
  // A run's page sits under Experiments in the navigation.
  const section = route.kind === 'not-found' ? undefined : route.section;
  const title = route.kind === 'run' ? `Run ${route.runId}` : route.kind === 'section' ? route.section.label : 'Not found';
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => {
    document.title = `${title} · Bulwark`;
  }, [title]);

  // After in-app navigation, move focus to the new page so screen readers announce it;
  // on first render focus stays where the browser put it.
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) mainRef.current?.focus({ preventScroll: true });
    firstPath.current = '';
  }, [path]);

  let page;
  if (route.kind === 'not-found') page = <NotFound path={path} />;
  else if (route.kind === 'run') page = <Run key={route.runId} id={route.runId} />;
  else if (route.section.path === '/') page = <Overview />;
  else if (route.section.path === '/experiments') page = <Experiments />;
  else if (route.section.path === '/ledger') page = <Ledger query={query} />;
  else page = <NotBuilt section={route.section} />;

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
              <Link to={s.path} aria-current={s === section ? (route.kind === 'run' ? 'location' : 'page') : undefined}>
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
