/** The permissions of playbooks; the capability declares them (src/capabilities/playbooks.ts). */
export const PLAYBOOK_PERMISSIONS = ['playbooks:read', 'playbooks:write', 'playbooks:run', 'playbooks:approve'] as const;

declare module '../access/permissions.ts' {
  interface PermissionCatalogue extends Record<(typeof PLAYBOOK_PERMISSIONS)[number], true> {}
}
