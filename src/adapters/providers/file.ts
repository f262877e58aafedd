/**
 * The file provider: write, modify and restore, crash-safe. Before the first change of a file
 * its original is copied to the backup and made durable (fsync of the copy and of its folder),
 * so that a process killed right after the change can still be rolled back by another one. A
 * file that did not exist is remembered by a `BACKUP.absent` marker and removed on restore.
 * Every write goes to a temporary file renamed into place: a reader never sees half a file.
 *
 * A second change of the same file keeps the first backup (it holds the original). A restore
 * puts the backup back and then deletes it, so a second restore (the declared rollback after the
 * automatic one, or recovery after a crash mid-rollback) changes nothing. A restore without a
 * backup means the change never happened: it succeeds and says so.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FileProvider } from '../../core/experiments/types.ts';
import { ActivityFailed, type FileResult, type ProviderContext } from '../../app/experiments/runner/providers.ts';

export const ABSENT_SUFFIX = '.absent';

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, constants.O_RDONLY);
  try {
    await h.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is then as durable as they allow.
  } finally {
    await h.close();
  }
}

/** Write `data` to `file` atomically and durably, with `mode` when given. */
async function atomicWrite(file: string, data: Buffer | string, mode?: number): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.bulwark-${randomBytes(4).toString('hex')}`);
  const h = await open(tmp, 'w', mode ?? 0o644);
  try {
    await h.writeFile(data);
    if (mode !== undefined) await h.chmod(mode);
    await h.sync();
  } finally {
    await h.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

async function modeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/** Keep the original of `file` in `backup`, unless a backup is already there. */
async function backupOnce(file: string, backup: string): Promise<void> {
  if ((await exists(backup)) || (await exists(backup + ABSENT_SUFFIX))) return;
  await mkdir(path.dirname(backup), { recursive: true });
  if (await exists(file)) {
    const tmp = `${backup}.bulwark-${randomBytes(4).toString('hex')}`;
    await copyFile(file, tmp);
    const h = await open(tmp, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, backup);
  } else {
    await atomicWrite(backup + ABSENT_SUFFIX, '');
  }
  await syncDir(path.dirname(backup));
}

export function fileProvider(): (p: FileProvider, ctx: ProviderContext) => Promise<FileResult> {
  return async (p, ctx) => {
    if (ctx.signal.aborted) throw ctx.signal.reason as Error;
    const file = path.resolve(p.path);
    const base = { operation: p.operation, path: file, ...(p.backup !== undefined ? { backup: path.resolve(p.backup) } : {}) };
    switch (p.operation) {
      case 'write': {
        if (p.backup !== undefined) await backupOnce(file, path.resolve(p.backup));
        const mode = await modeOf(file);
        ctx.sent();
        await atomicWrite(file, p.content ?? '', mode);
        return { ...base, changed: true };
      }
      case 'modify': {
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (e) {
          throw new ActivityFailed(`cannot modify ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        const find = p.find!;
        if (!text.includes(find)) throw new ActivityFailed(`cannot modify ${file}: the text to find is not in it; nothing was changed`);
        if (p.backup !== undefined) await backupOnce(file, path.resolve(p.backup));
        ctx.sent();
        await atomicWrite(file, text.split(find).join(p.replace ?? ''), await modeOf(file));
        return { ...base, changed: true };
      }
      case 'restore': {
        const backup = path.resolve(p.backup!);
        if (await exists(backup)) {
          const mode = await modeOf(backup);
          await atomicWrite(file, await readFile(backup), mode);
          await unlink(backup);
          await syncDir(path.dirname(backup));
          return { ...base, changed: true };
        }
        if (await exists(backup + ABSENT_SUFFIX)) {
          await unlink(file).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
          await syncDir(path.dirname(file));
          await unlink(backup + ABSENT_SUFFIX);
          return { ...base, changed: true, note: 'the file did not exist before the run and was removed' };
        }
        return { ...base, changed: false, note: `no backup at ${backup}: the change was not made, or was already restored` };
      }
    }
  };
}
