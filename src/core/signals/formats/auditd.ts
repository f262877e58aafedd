/** Linux audit records as auditd writes them (audit.log). */
import { parseAuditdLine } from '../auditd.ts';
import { logFormat } from './log-format.ts';

export const auditd = logFormat('auditd', 'text/plain; charset=utf-8', parseAuditdLine);
