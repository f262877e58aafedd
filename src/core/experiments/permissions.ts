/** The permissions of experiments; the capability declares them (src/capabilities/experiments.ts). */
export const EXPERIMENT_PERMISSIONS = [
  'experiments:read',
  'experiments:write',
  'experiments:run',
  'experiments:privileged',
  'experiments:stop',
] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof EXPERIMENT_PERMISSIONS)[number], true> {}
}
