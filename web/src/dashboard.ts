/// <reference types="vite/client" />
/**
 * The dashboard's registry: every capability's part (capabilities/NAME/index.tsx), found by the
 * bundler at build time, so that a new capability's pages need no line here. Sections of
 * capabilities not built yet are listed as PLANNED and show what they will do.
 */
import type { DashboardPart, Page, Section } from './dashboard-part.ts';

const modules = import.meta.glob<DashboardPart>('./capabilities/*/index.tsx', { eager: true, import: 'dashboard' });

/** [name, part], in navigation order. */
export const parts: readonly (readonly [string, DashboardPart])[] = Object.entries(modules)
  .map(([file, part]) => [/\/capabilities\/([^/]+)\//.exec(file)![1]!, part] as const)
  .sort((a, b) => a[1].order - b[1].order);

/** Capabilities not built yet, at their place in the navigation. */
const PLANNED: readonly (Omit<Section, 'built'> & { order: number })[] = [
  {
    order: 60,
    path: '/operations',
    label: 'Operations',
    summary:
      'The single audited path to production: parameterised operations, each with a policy, multi-party approval, breakglass and rate limits.',
  },
  {
    order: 70,
    path: '/deploys',
    label: 'Deploys',
    summary:
      'A deploy gate that admits only builds with signed provenance, protects against rollback and freezes deploys when the error budget is spent.',
  },
];

const OVERVIEW = { order: 0, path: '/', label: 'Overview', summary: 'The state of every part at a glance.' };

/** The main navigation: the overview, every built section, and the planned ones, in order. */
export const sections: readonly Section[] = (() => {
  const built = parts.flatMap(([, p]) => p.sections.map((s) => ({ ...s, order: p.order, built: true })));
  const taken = new Set(built.map((s) => s.path));
  return [{ ...OVERVIEW, built: true }, ...built, ...PLANNED.filter((s) => !taken.has(s.path)).map((s) => ({ ...s, built: false }))]
    .sort((a, b) => a.order - b.order)
    .map(({ order: _order, ...s }) => s);
})();

export function findSection(path: string): Section | undefined {
  return sections.find((s) => s.path === path);
}

/** What a path shows: the overview, a capability's page, a planned section, or nothing. */
export type Route = { kind: 'overview' } | { kind: 'page'; page: Page } | { kind: 'planned'; section: Section } | { kind: 'not-found' };

export function matchRoute(path: string, query: URLSearchParams = new URLSearchParams()): Route {
  if (path === '/') return { kind: 'overview' };
  for (const [, part] of parts) {
    const page = part.page(path, query);
    if (page) return { kind: 'page', page };
  }
  const section = findSection(path);
  if (section && !section.built) return { kind: 'planned', section };
  return { kind: 'not-found' };
}
