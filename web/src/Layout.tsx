import { useEffect, useRef } from 'react';
import { Link, useLocation } from './router.tsx';
import { findSection, matchRoute, sections } from './dashboard.ts';
import { Overview } from './pages/Overview.tsx';
import { NotBuilt } from './pages/NotBuilt.tsx';
import { NotFound } from './pages/NotFound.tsx';
import type { Session } from './types.ts';

interface LayoutProps {
  session: Session;
  onSignOut: () => void;
}

export function Layout({ session, onSignOut }: LayoutProps) {
  const { path, query } = useLocation();
  const route = matchRoute(path, query);
  // The navigation entry a page sits under (a run's page under Experiments), and whether it is that entry's own page.
  const section =
    route.kind === 'overview'
      ? findSection('/')
      : route.kind === 'page'
        ? findSection(route.page.section)
        : route.kind === 'planned'
          ? route.section
          : undefined;
  const own = route.kind !== 'page' || route.page.section === path;
  const title =
    route.kind === 'overview'
      ? 'Overview'
      : route.kind === 'page'
        ? route.page.title
        : route.kind === 'planned'
          ? route.section.label
          : 'Not found';
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

  const page =
    route.kind === 'overview' ? (
      <Overview />
    ) : route.kind === 'page' ? (
      route.page.element
    ) : route.kind === 'planned' ? (
      <NotBuilt section={route.section} />
    ) : (
      <NotFound path={path} />
    );

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
              <Link to={s.path} aria-current={s === section ? (own ? 'page' : 'location') : undefined}>
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
