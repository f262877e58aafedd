/**
 * The log tailer's entry point: one line of a known format in, one signal or a reason out.
 * Formats: ModSecurity v3's JSON audit log, nginx's `combined` access log, auditd records.
 */
import { parseAuditdLine } from './auditd.ts';
import type { LogLineContext } from './log-line.ts';
import { parseModSecurityLine } from './modsecurity.ts';
import { parseNginxLine } from './nginx.ts';
import type { SignalResult } from './signal.ts';

export { parseAuditdLine } from './auditd.ts';
export { DEFAULT_MAX_LINE_LENGTH, type LogLineContext } from './log-line.ts';
export { parseModSecurityLine } from './modsecurity.ts';
export { parseNginxLine } from './nginx.ts';

export const LOG_FORMATS = ['modsecurity', 'nginx', 'auditd'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Parse one line in the given format. */
export function parseLogLine(format: LogFormat, line: string, ctx: LogLineContext): SignalResult {
  switch (format) {
    case 'modsecurity':
      return parseModSecurityLine(line, ctx);
    case 'nginx':
      return parseNginxLine(line, ctx);
    case 'auditd':
      return parseAuditdLine(line, ctx);
  }
}
