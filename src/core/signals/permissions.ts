/** The permissions of signals; the capability declares them (src/capabilities/signals.ts). */
export const SIGNAL_PERMISSIONS = ['signals:ingest', 'signals:read'] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof SIGNAL_PERMISSIONS)[number], true> {}
}
