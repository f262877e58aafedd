/** ModSecurity v3's JSON audit log (SecAuditLogFormat JSON), one entry per line. */
import { parseModSecurityLine } from '../modsecurity.ts';
import { logFormat } from './log-format.ts';

export const modsecurity = logFormat('modsecurity', 'application/json', parseModSecurityLine);
