/**
 * Follows log files and feeds each new line to the signal ingest. The file's format, one of the
 * registry's log formats (core/signals/formats/registry.ts: ModSecurity's JSON audit log, nginx's
 * access log, auditd), parses each line and names the media type its evidence is kept as. Polls
 * every `pollMs` with plain reads: fs.watch misses events on network and overlay filesystems and
 * after rotation, a 200 ms poll does not.
 *
 * Where it stopped in each file (byte offset of the end of the last line acknowledged, and the
 * file's identity: device and inode) is kept in the store, so a restart continues there; lines
 * read again after a crash between the commit and the save dedup, since a line's dedup key is
 * its path, offset and content. A file whose identity changed (rotated by rename) is read to its
 * end through the handle still open before the new one is read from its start; a file that
 * shrank (copytruncate) is read again from its start. A line without its newline yet waits for
 * it; a line longer than maxLineBytes is skipped and reported.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Clock } from '../app/deps.ts';
import { evidenceOf, type IngestItem, type SignalIngest } from '../app/signals/ingest.ts';
import { DomainError } from '../core/errors.ts';
import { evidenceOfPayload } from '../core/signals/formats/format.ts';
import { signalFormat, type LogFormat } from '../core/signals/formats/registry.ts';
import type { SignalRepo } from '../store/signals/port.ts';
import { systemActor } from '../core/ledger/actor.ts';

export interface TailedFile {
  path: string;
  format: LogFormat;
  /** The signals' source; the format's name by default. */
  source?: string;
  /** Where to begin in a file never read before: its end (default, like tail -f) or its start. */
  startAt?: 'end' | 'beginning';
  /** UTC offset, in minutes, of the writer's clock where it writes zone-less times (ModSecurity); 0 by default. */
  utcOffsetMinutes?: number;
}

export interface LogTailerOptions {
  files: readonly TailedFile[];
  ingest: Pick<SignalIngest, 'ingest'>;
  offsets: Pick<SignalRepo, 'fileOffset' | 'saveFileOffset'>;
  clock: Clock;
  pollMs?: number;
  maxLineBytes?: number;
  /** Lines per ingest submission. */
  batchLines?: number;
  /** Lines that could not be read or parsed, and I/O failures; the tailer carries on. */
  onError?: (err: Error, file: string) => void;
}

export interface LogTailer {
  /** Read every file once now (what the timer does every pollMs). */
  poll(): Promise<void>;
  /** Stop polling, wait for a read in progress, close the files. */
  stop(): Promise<void>;
}

const NEWLINE = 0x0a;
/** Bytes read per file per poll at most: one busy file cannot starve the others. */
const MAX_READ = 4 << 20;

interface FileState {
  spec: TailedFile;
  source: string;
  handle?: FileHandle;
  /** `dev:ino` of the open file. */
  id?: string;
  /** End of the last line acknowledged: the next read starts here. */
  committed: number;
  /** Inside a line longer than maxLineBytes, whose end has not been seen yet. */
  skipping: boolean;
  /** The path was missing once: a file that appears later is read from its start. */
  sawMissing: boolean;
}

export function startLogTailer(opts: LogTailerOptions): LogTailer {
  const pollMs = opts.pollMs ?? 200;
  const maxLine = Math.min(opts.maxLineBytes ?? 1 << 20, MAX_READ - 1);
  const batchLines = opts.batchLines ?? 256;
  const report = (err: Error, file: string) => opts.onError?.(err, file);
  const files: FileState[] = opts.files.map((spec) => ({
    spec,
    source: spec.source ?? spec.format,
    committed: 0,
    skipping: false,
    sawMissing: false,
  }));
  let stopped = false;
  // Polls run one after another, whether the timer or a caller asked.
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const runPoll = (): Promise<void> => (chain = chain.then(pollAll));

  async function pollAll(): Promise<void> {
    for (const f of files) {
      if (stopped) return;
      try {
        await pollFile(f);
      } catch (e) {
        try {
          report(e instanceof Error ? e : new Error(String(e)), f.spec.path);
        } catch {
          // A failing reporter must not stop the tailer.
        }
      }
    }
  }

  async function pollFile(f: FileState): Promise<void> {
    if (!f.handle && !(await openFile(f))) return;
    await readAvailable(f);
    // Rotated by rename or removed: the old handle is read to its end above; then switch.
    const now = await identityOf(f.spec.path);
    if (now !== f.id) {
      await readAvailable(f, true);
      await closeFile(f);
      f.sawMissing = true;
      if (now !== undefined && (await openFile(f))) await readAvailable(f);
    }
  }

  async function openFile(f: FileState): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(f.spec.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        f.sawMissing = true;
        return false;
      }
      throw e;
    }
    const st = await handle.stat();
    const id = `${st.dev}:${st.ino}`;
    const saved = await opts.offsets.fileOffset(f.spec.path);
    if (saved) f.committed = saved.inode === id && saved.offset <= st.size ? saved.offset : 0;
    else f.committed = f.sawMissing || f.spec.startAt === 'beginning' ? 0 : st.size;
    f.handle = handle;
    f.id = id;
    f.skipping = false;
    return true;
  }

  async function closeFile(f: FileState): Promise<void> {
    const h = f.handle;
    f.handle = undefined;
    f.id = undefined;
    await h?.close();
  }

  /** Read from the committed offset to the end; `final`: the file is done, a last line without newline counts. */
  async function readAvailable(f: FileState, final = false): Promise<void> {
    const handle = f.handle!;
    for (;;) {
      const { size } = await handle.stat();
      if (size < f.committed) {
        // Truncated in place (copytruncate): what is there now is new.
        f.committed = 0;
        f.skipping = false;
      }
      if (size === f.committed) return;
      const want = Math.min(size - f.committed, MAX_READ);
      const buf = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buf, 0, want, f.committed);
      if (bytesRead === 0) return;
      const consumed = await consume(f, buf.subarray(0, bytesRead), final && f.committed + bytesRead >= size);
      if (consumed === 0 || bytesRead < want || f.committed >= size) return;
    }
  }

  /** Ingest the complete lines of `chunk` (read at f.committed); answers the bytes consumed. */
  async function consume(f: FileState, chunk: Buffer, atEnd: boolean): Promise<number> {
    const lines: { bytes: Buffer; offset: number }[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      if (f.skipping) f.skipping = false;
      else if (nl - start > maxLine)
        report(new Error(`line at byte ${f.committed + start} is longer than ${maxLine} bytes; skipped`), f.spec.path);
      else lines.push({ bytes: chunk.subarray(start, nl), offset: f.committed + start });
      start = nl + 1;
    }
    const rest = chunk.length - start;
    if (rest > 0 && (atEnd || rest > maxLine)) {
      if (rest > maxLine || f.skipping) {
        if (!f.skipping) report(new Error(`line at byte ${f.committed + start} is longer than ${maxLine} bytes; skipped`), f.spec.path);
        f.skipping = !atEnd;
      } else lines.push({ bytes: chunk.subarray(start), offset: f.committed + start });
      start = chunk.length;
    }
    if (start === 0) return 0;
    await ingestLines(f, lines);
    f.committed += start;
    await opts.offsets.saveFileOffset(f.spec.path, { inode: f.id!, offset: f.committed }, opts.clock.now().toISOString());
    return start;
  }

  async function ingestLines(f: FileState, lines: { bytes: Buffer; offset: number }[]): Promise<void> {
    const failures: string[] = [];
    const items: IngestItem[] = [];
    const receivedAt = opts.clock.now().toISOString();
    const format = signalFormat(f.spec.format);
    for (const { bytes, offset } of lines) {
      const raw = bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes;
      if (raw.length === 0) continue;
      const input = { bytes: raw };
      try {
        const signals = format.parse(input, {
          receivedAt,
          source: f.source,
          file: f.spec.path,
          offset,
          maxLineLength: maxLine,
          ...(f.spec.utcOffsetMinutes !== undefined && { localUtcOffsetMinutes: f.spec.utcOffsetMinutes }),
        });
        const e = evidenceOfPayload(format, input);
        for (const signal of signals) items.push({ signal, raw: evidenceOf(Buffer.from(e.bytes), e.mediaType) });
      } catch (err) {
        if (!(err instanceof DomainError) || err.code !== 'invalid') throw err;
        if (err.message !== 'empty line') failures.push(`byte ${offset}: ${err.message}`);
      }
    }
    if (failures.length > 0) {
      report(new Error(`${failures.length} line(s) are not ${f.spec.format} lines and were skipped; first at ${failures[0]}`), f.spec.path);
    }
    // Acknowledged before the offset moves: a failure here (overload) rereads the lines next poll.
    for (let i = 0; i < items.length; i += batchLines) {
      await opts.ingest.ingest({ actor: systemActor(`tailer:${f.source}`), items: items.slice(i, i + batchLines) });
    }
  }

  const loop = () => {
    if (stopped) return;
    void runPoll().then(() => {
      if (!stopped) timer = setTimeout(loop, pollMs);
    });
  };
  loop();

  return {
    poll: runPoll,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await chain;
      for (const f of files) await closeFile(f);
    },
  };
}

async function identityOf(file: string): Promise<string | undefined> {
  try {
    const st = await stat(file);
    return `${st.dev}:${st.ino}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
