/**
 * Bulwark's file provider: write, modify or restore a file on the host Bulwark runs on. The
 * runner backs up every file the method changes and restores it after the run.
 */
import { z } from 'zod';
import { report, strict, text } from '../schema-kit.ts';
import type { ProviderType } from './provider-type.ts';

export interface FileProvider {
  type: 'file';
  /** write: replace the content; modify: replace `find` by `replace`; restore: copy `backup` back. */
  operation: 'write' | 'modify' | 'restore';
  path: string;
  content?: string;
  find?: string;
  replace?: string;
  /** Where the original is kept so that a rollback can restore it. */
  backup?: string;
}

export interface FileResult {
  operation: FileProvider['operation'];
  path: string;
  /** Whether the file was changed (a restore without a backup changes nothing). */
  changed: boolean;
  backup?: string;
  note?: string;
}

/** A file provider with only the fields it has: what parsing gives and what a file holds. */
function fileProvider(p: Omit<FileProvider, 'type'>): FileProvider {
  return {
    type: 'file',
    operation: p.operation,
    path: p.path,
    ...(p.content !== undefined ? { content: p.content } : {}),
    ...(p.find !== undefined ? { find: p.find } : {}),
    ...(p.replace !== undefined ? { replace: p.replace } : {}),
    ...(p.backup !== undefined ? { backup: p.backup } : {}),
  };
}

const schema = strict({
  type: z.literal('file'),
  operation: z.enum(['write', 'modify', 'restore']),
  path: text,
  content: z.string().optional(),
  find: z.string().min(1).optional(),
  replace: z.string().optional(),
  backup: text.optional(),
}).transform((p, ctx): FileProvider => {
  const need = (key: 'content' | 'find' | 'replace' | 'backup', why: string) => {
    if (p[key] === undefined) report(ctx, p, `a ${p.operation} needs ${key}: ${why}`, []);
  };
  const forbid = (key: 'content' | 'find' | 'replace') => {
    if (p[key] !== undefined) report(ctx, p, `${key} does not apply to ${p.operation}; remove it`, [key]);
  };
  if (p.operation === 'write') {
    need('content', 'the new content of the file');
    forbid('find');
    forbid('replace');
  } else if (p.operation === 'modify') {
    need('find', 'the text to change');
    need('replace', 'what to put instead');
    forbid('content');
  } else {
    need('backup', 'the copy to restore from');
    forbid('content');
    forbid('find');
    forbid('replace');
  }
  return fileProvider(p);
});

/** The file and its backup. */
const files = (p: FileProvider): string[] => [p.path, ...(p.backup !== undefined ? [p.backup] : [])];

function describe(p: FileProvider): string {
  const backup = p.backup !== undefined ? ` (backup ${p.backup})` : '';
  if (p.operation === 'write') return `write ${p.path}${backup}`;
  if (p.operation === 'modify') return `modify ${p.path}: replace ${JSON.stringify(p.find)} by ${JSON.stringify(p.replace)}${backup}`;
  return `restore ${p.path} from ${p.backup}`;
}

export const fileType: ProviderType<FileProvider, FileResult> = {
  type: 'file',
  schema,
  secretScopes: () => [],
  rewriteStrings(p, rw) {
    const out = { ...p, path: rw.str(p.path, ['path']) };
    for (const k of ['content', 'find', 'replace', 'backup'] as const) {
      const v = p[k];
      if (v !== undefined) out[k] = rw.str(v, [k]);
    }
    return out;
  },
  toFile: (p) => ({ ...fileProvider(p) }),
  describe,
  blastRadius: (p, radius) => files(p).flatMap((f) => radius.path(f, `file ${f}`) ?? []),
  limitTargets: (p) => ({ hosts: [], files: [p.path] }),
  injectionTier: 2,
  hostBound: true,
  files,
  backups: {
    change: (p) =>
      p.operation === 'write' || p.operation === 'modify'
        ? { path: p.path, ...(p.backup !== undefined ? { backup: p.backup } : {}) }
        : undefined,
    withBackup: (p, backup) => ({ ...p, backup }),
    restores: (p) => (p.operation === 'restore' && p.backup !== undefined ? { path: p.path, backup: p.backup } : undefined),
    restore: (path, backup) => ({ type: 'file', operation: 'restore', path, backup }),
  },
};
