import type { ServerPart } from '../server-part.ts';

export const playbooksServer: ServerPart = () => {};
