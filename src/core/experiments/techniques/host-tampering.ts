/**
 * Techniques that change files on a host, through the file provider, each undone by its rollback:
 * flipping a configuration key (the WAF switched to detection only, TLS verification off),
 * planting a canary credential where an attacker looks, and tampering with a log file a detector
 * watches. The file provider keeps a backup before it changes anything; rollbacks restore it.
 */
import { z } from 'zod';
import { invalid } from '../../errors.ts';
import { canary, defineTechnique, fileActivity, filePath, maybeEmptyText, processActivity, text } from './technique.ts';

const backupOf = (path: string, backup: string | undefined) => backup ?? `${path}.bulwark-backup`;

const reloadParam = z
  .array(text(1024))
  .min(1)
  .max(32)
  .optional()
  .describe(
    'a command (argv, no shell) that makes the service re-read the file, e.g. ["nginx","-s","reload"]; run after the change and after the restore',
  );

export const configFlip = defineTechnique({
  id: 'config.flip-key',
  name: 'Misconfiguration: flip a configuration key',
  attack: ['T1562.001'],
  description:
    'Rewrites one setting of a configuration file (key, separator, from → to, e.g. "SecRuleEngine On" → "SecRuleEngine Off"), keeping a backup first, and optionally reloads the service; the rollback restores the backup and reloads again.',
  kind: 'file',
  params: z.strictObject({
    path: filePath().describe('the configuration file'),
    key: text(256).describe('the setting, e.g. SecRuleEngine'),
    from: maybeEmptyText(1024).describe('its current value, e.g. On'),
    to: maybeEmptyText(1024).describe('the value injected, e.g. Off'),
    separator: maybeEmptyText(8).default(' ').describe('what stands between key and value in the file: " ", "=", ": "'),
    backup: filePath().optional().describe('where the original is kept (default: path + .bulwark-backup)'),
    reload: reloadParam,
  }),
  inject(params) {
    if (params.from === params.to) throw invalid('from and to are the same; nothing would change');
    const backup = backupOf(params.path, params.backup);
    if (backup === params.path) throw invalid('backup must differ from path');
    const change = fileActivity(`config.flip-key ${params.key}: ${params.from} → ${params.to}`, {
      operation: 'modify',
      path: params.path,
      find: `${params.key}${params.separator}${params.from}`,
      replace: `${params.key}${params.separator}${params.to}`,
      backup,
    });
    const restore = fileActivity(`config.flip-key restore ${params.path}`, { operation: 'restore', path: params.path, backup });
    const reload = (when: string) =>
      params.reload ? [processActivity(`config.flip-key reload ${when}`, params.reload[0]!, params.reload.slice(1), 30_000)] : [];
    return { method: [change, ...reload('after the change')], rollbacks: [restore, ...reload('after the restore')] };
  },
});

const CANARY_KINDS = ['aws', 'env', 'netrc', 'text'] as const;

/** The planted file's content, with the canary as the secret an attacker would try to use. */
export function canaryContent(kind: (typeof CANARY_KINDS)[number], secret: string, template?: string): string {
  switch (kind) {
    case 'aws':
      // The access key id has the shape of a real one (AKIA + 16 upper-case characters).
      return `[default]\naws_access_key_id = AKIABULWARKCANARY000\naws_secret_access_key = ${secret}\nregion = us-east-1\n`;
    case 'env':
      return `DATABASE_URL=postgres://admin:${secret}@db.internal:5432/app\nAPI_KEY=${secret}\n`;
    case 'netrc':
      return `machine backup.internal\n  login admin\n  password ${secret}\n`;
    case 'text':
      return (template ?? '{canary}\n').replaceAll('{canary}', secret);
  }
}

export const canaryCredential = defineTechnique({
  id: 'deception.canary-credential',
  name: 'Plant a canary credential',
  attack: ['T1552.001'],
  description:
    'Writes a file of fake credentials whose secret is a canary value naming the run (an AWS credentials file, a .env, a .netrc or your own template) where an attacker would look; any use of it is a detection. The rollback restores what was there before, which for a new file means removing it.',
  kind: 'file',
  params: z.strictObject({
    path: filePath().describe('where to plant it, e.g. /srv/app/.aws/credentials'),
    kind: z.enum(CANARY_KINDS).default('aws').describe('the file format'),
    template: text(8192, true)
      .refine((s) => s.includes('{canary}'), { message: 'must contain {canary}' })
      .optional()
      .describe('for kind text: the content, with {canary} where the secret goes'),
    backup: filePath().optional().describe('where the original is kept (default: path + .bulwark-backup)'),
  }),
  inject(params) {
    if (params.template !== undefined && params.kind !== 'text') throw invalid('template applies to kind text only');
    const backup = backupOf(params.path, params.backup);
    if (backup === params.path) throw invalid('backup must differ from path');
    const plant = fileActivity(`deception.canary-credential plant ${params.path}`, {
      operation: 'write',
      path: params.path,
      content: canaryContent(params.kind, canary('cred'), params.template),
      backup,
    });
    const remove = fileActivity(`deception.canary-credential remove ${params.path}`, { operation: 'restore', path: params.path, backup });
    return {
      method: [plant],
      rollbacks: [remove],
      notes: [
        'the rollback is a restore from the backup the write kept: when the file did not exist before, the file provider must record that and restore means delete',
      ],
    };
  },
});

// Logs are changed in place, by a shell: the file provider writes a new file and renames it over
// the old one (right for configuration, atomic), but a service keeps writing to the log it holds
// open, so a replaced log would lose every line logged after the change until the service
// reopens it — a side effect no rollback undoes. Paths and lines are positional arguments,
// never spliced into the script text.

/** `$1` the line, `$2` the log: append one line. */
export const APPEND_SCRIPT = 'printf "%s\\n" "$1" >> "$2"';
/** `$1` the line, `$2` the log: remove exactly that line, keeping the file (its inode) and every other line. */
export const UNAPPEND_SCRIPT =
  'grep -qxF -e "$1" -- "$2" || exit 0; t=$(mktemp) || exit 1; grep -vxF -e "$1" -- "$2" > "$t"; [ $? -le 1 ] && cat -- "$t" > "$2"; rc=$?; rm -f -- "$t"; exit $rc';
/**
 * `$1` the log, `$2` the backup: keep a copy, then empty the log in place. A backup already there
 * holds the original from a run whose rollback never ran (as with the file provider, the first
 * backup is the original): nothing more is done, and the rollback puts it back.
 */
export const TRUNCATE_SCRIPT =
  'if [ -e "$2" ]; then echo "backup $2 is there already: an earlier run was not rolled back; the rollback of this run restores it"; exit 1; fi; cp -p -- "$1" "$2" && : > "$1"';
/** `$1` the log, `$2` the backup: put the original back in front of what was logged since, in place; then drop the backup. */
export const RESTORE_SCRIPT =
  '[ -f "$2" ] || exit 0; t=$(mktemp) || exit 1; { cat -- "$2" && { [ ! -f "$1" ] || cat -- "$1"; }; } > "$t" && cat -- "$t" > "$1" && rm -f -- "$t" "$2"';

export const logTamper = defineTechnique({
  id: 'logs.tamper',
  name: 'Tamper with a watched log file',
  attack: ['T1070.002', 'T1565.001'],
  description:
    'Appends a forged line (carrying a canary) to a log a detector watches, or empties it, in place. Append is undone by removing exactly the forged line; truncate by putting the backup taken first back in front of whatever was logged since.',
  kind: 'file',
  params: z.strictObject({
    path: filePath().describe('the log file, e.g. /var/log/nginx/access.log'),
    mode: z.enum(['append', 'truncate']).default('append').describe('append a forged line, or empty the file'),
    line: text(4096)
      .default('127.0.0.1 - - "GET /admin HTTP/1.1" 200 0 "-" "{canary}"')
      .describe('append: the forged line; {canary} becomes a canary value naming the run'),
    backup: filePath().optional().describe('truncate: where the original is kept (default: path + .bulwark-backup)'),
  }),
  inject(params) {
    const note =
      'the log is changed in place by /bin/sh (process provider), because the file provider replaces files and a service keeps writing to the log it holds open; file provider operations that append and truncate in place would make these plain file operations';
    if (params.mode === 'append') {
      const line = params.line.replaceAll('{canary}', canary('log'));
      const sh = (name: string, script: string) =>
        processActivity(name, '/bin/sh', ['-c', script, 'bulwark-log', line, params.path], 30_000);
      return {
        method: [sh(`logs.tamper append to ${params.path}`, APPEND_SCRIPT)],
        rollbacks: [sh(`logs.tamper remove the forged line from ${params.path}`, UNAPPEND_SCRIPT)],
        touches: [params.path],
        notes: [note],
      };
    }
    const backup = backupOf(params.path, params.backup);
    if (backup === params.path) throw invalid('backup must differ from path');
    const sh = (name: string, script: string) =>
      processActivity(name, '/bin/sh', ['-c', script, 'bulwark-log', params.path, backup], 30_000);
    return {
      method: [sh(`logs.tamper truncate ${params.path}`, TRUNCATE_SCRIPT)],
      rollbacks: [sh(`logs.tamper restore ${params.path}`, RESTORE_SCRIPT)],
      touches: [params.path, backup],
      notes: [note],
    };
  },
});
