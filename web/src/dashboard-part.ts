import type { ReactNode } from 'react';

/** A section of the dashboard: one entry of the main navigation. */
export interface Section {
  path: string;
  label: string;
  /** One sentence on what the part does; shown while the part is not built. */
  summary: string;
  built: boolean;
}

/** What a path shows: the section it sits under in the navigation, its title and its page. */
export interface Page {
  section: string;
  title: string;
  element: ReactNode;
}

/**
 * What a capability adds to the dashboard, from `capabilities/NAME/index.tsx` (the folder name is
 * the capability's name in src/capabilities/). The dashboard finds every such module itself.
 */
export interface DashboardPart {
  /** Its place in the main navigation (smaller first); see PLANNED in dashboard.ts for the others. */
  order: number;
  sections: readonly Omit<Section, 'built'>[];
  /** The page for a path of this capability, or undefined when the path is not its own. */
  page(path: string, query: URLSearchParams): Page | undefined;
  /** Its cards on the Overview. */
  overview?: () => ReactNode;
}
