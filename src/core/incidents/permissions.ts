/** The permissions of incidents; the capability declares them (src/capabilities/incidents.ts). */
export const INCIDENT_PERMISSIONS = ['incidents:read', 'incidents:write', 'incidents:restricted'] as const;

/** Handlers ask for it on top of the route's: it shows restricted incidents to non-participants. */
export const SEE_RESTRICTED = 'incidents:restricted' as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof INCIDENT_PERMISSIONS)[number], true> {}
}
