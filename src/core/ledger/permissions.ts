/** The permissions of ledger; the capability declares them (src/capabilities/ledger.ts). */
export const LEDGER_PERMISSIONS = ['ledger:read', 'ledger:write', 'ledger:checkpoint'] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof LEDGER_PERMISSIONS)[number], true> {}
}
