/** The permissions of SLOs; the capability declares them (src/capabilities/slos.ts). */
export const SLO_PERMISSIONS = ['slos:read', 'slos:write'] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof SLO_PERMISSIONS)[number], true> {}
}
