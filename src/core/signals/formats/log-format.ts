/**
 * What the log formats share: one line in, at most one signal out. The line parsers answer a
 * signal or a reason (log-line.ts); here a reason becomes the DomainError `invalid` every format
 * throws.
 */
import { invalid } from '../../errors.ts';
import type { LogLineContext } from '../log-line.ts';
import type { SignalResult } from '../signal.ts';
import { defineFormat, lineText, type LogArrival, type SignalFormat } from './format.ts';

/** A format whose payloads are lines of a log file, stored as `mediaType` evidence. */
export function logFormat<const Name extends string>(
  name: Name,
  mediaType: string,
  parseLine: (line: string, ctx: LogLineContext) => SignalResult,
): SignalFormat<Name, LogArrival> {
  return defineFormat({
    name,
    mediaTypes: [mediaType],
    arrival: { kind: 'log' },
    parse({ bytes }, ctx) {
      const r = parseLine(lineText(bytes), {
        receivedAt: ctx.receivedAt,
        source: ctx.source,
        ...(ctx.file !== undefined && { file: ctx.file }),
        ...(ctx.offset !== undefined && { offset: ctx.offset }),
        ...(ctx.localUtcOffsetMinutes !== undefined && { localUtcOffsetMinutes: ctx.localUtcOffsetMinutes }),
        ...(ctx.maxLineLength !== undefined && { maxLineLength: ctx.maxLineLength }),
      });
      if (!r.ok) throw invalid(r.reason, r.issues);
      return [r.signal];
    },
  });
}
