/** The permissions of coverage; the capability declares them (src/capabilities/coverage.ts). */
export const COVERAGE_PERMISSIONS = ['coverage:read', 'coverage:write'] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof COVERAGE_PERMISSIONS)[number], true> {}
}
