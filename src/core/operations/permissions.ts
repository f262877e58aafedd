/** The permissions of operations; the capability declares them (src/capabilities/operations.ts). */
export const OPERATIONS_PERMISSIONS = ['metrics:read', 'api:read'] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof OPERATIONS_PERMISSIONS)[number], true> {}
}
