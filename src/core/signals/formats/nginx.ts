/** nginx's `combined` access log. */
import { parseNginxLine } from '../nginx.ts';
import { logFormat } from './log-format.ts';

export const nginx = logFormat('nginx', 'text/plain; charset=utf-8', parseNginxLine);
